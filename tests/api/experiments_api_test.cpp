// Opik's experiment endpoints over loopback: the trials of a run read back as `type: trial`
// experiments, their evaluations as experiment items, and the Compare view of dataset items.
#include "api/experiments_api.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "api/api_fixture.hpp"

namespace optd::api {
namespace {

using ::testing::HasSubstr;

class experiments_test : public api_test {
 protected:
  // A completed seeded run; its experiments, newest first.
  std::string run_to_completion() {
    auto id = create(studio_body);
    wait_for_status(id, "completed");
    return id;
  }

  nlohmann::json find(const std::string& query) { return json_of(call("GET", "/v1/private/experiments" + query)); }

  std::vector<nlohmann::json> stream(const std::string& body) {
    auto r = call("POST", "/v1/private/experiments/items/stream", body);
    EXPECT_EQ(r.status, 200u) << r.body;
    std::vector<nlohmann::json> out;
    std::istringstream lines(r.body);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_EQ(line.back(), '\r');  // Opik's "\r\n" delimiter
      out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }
};

TEST_F(experiments_test, every_trial_is_a_trial_experiment_of_its_optimization) {
  auto id = run_to_completion();
  auto opt = json_of(call("GET", "/v1/private/optimizations/" + id));
  auto page = find("?optimization_id=" + id + "&size=100");
  ASSERT_EQ(page["total"], opt["num_trials"]);
  ASSERT_GE(page["total"].get<int>(), 2);
  auto dataset = json_of(call("POST", "/v1/private/datasets/retrieve", R"({"dataset_name":"skills"})"));

  const auto& content = page["content"];
  double best = 0;
  for (const auto& e : content) {
    EXPECT_EQ(e["type"], "trial");
    EXPECT_EQ(e["optimization_id"], id);
    EXPECT_EQ(e["dataset_name"], "skills");
    EXPECT_EQ(e["dataset_id"], dataset["id"]);
    EXPECT_EQ(e["status"], "completed");
    EXPECT_EQ(e["trace_count"], 6);
    EXPECT_TRUE(e["metadata"]["configuration"]["prompt"].is_array());
    EXPECT_EQ(e["metadata"]["optimizer"], "meta_prompt");
    ASSERT_EQ(e["feedback_scores"].size(), 1u);
    EXPECT_EQ(e["feedback_scores"][0]["name"], "levenshtein_ratio");
    best = std::max(best, e["feedback_scores"][0]["value"].get<double>());
  }
  // Newest first; the baseline (oldest) trial carries the prompt as submitted.
  const auto& baseline = content.back();
  EXPECT_EQ(baseline["metadata"]["configuration"]["prompt"][0]["content"], "You are a helpful assistant.");
  EXPECT_NEAR(baseline["feedback_scores"][0]["value"].get<double>(), opt["baseline_objective_score"].get<double>(), 1e-9);
  EXPECT_NEAR(best, opt["best_objective_score"].get<double>(), 1e-9);

  // Paging, and the filters a client uses.
  auto first = find("?optimization_id=" + id + "&page=1&size=1");
  EXPECT_EQ(first["content"].size(), 1u);
  EXPECT_EQ(first["content"][0]["id"], content[0]["id"]);
  EXPECT_EQ(find("?optimization_id=" + id + "&page=2&size=1")["content"][0]["id"], content[1]["id"]);
  EXPECT_EQ(find("?types=" + encode(R"(["trial"])") + "&optimization_id=" + id)["total"], page["total"]);
  EXPECT_EQ(find("?types=" + encode(R"(["mini-batch"])"))["total"], 0);
  EXPECT_EQ(find("?datasetId=" + dataset["id"].get<std::string>())["total"], page["total"]);
  EXPECT_EQ(find("?datasetId=0197aaaa-0000-7000-8000-000000000000")["total"], 0);
  EXPECT_EQ(find("?name=" + encode("via-api-trial-1"))["total"], 1);
  EXPECT_EQ(find("?optimization_id=0197aaaa-0000-7000-8000-000000000000")["total"], 0);
  EXPECT_EQ(call("GET", "/v1/private/experiments?types=trial").status, 400u);
  EXPECT_EQ(call("GET", "/v1/private/experiments?size=0").status, 400u);

  // Sorted as Opik's UI asks for an optimization's trials: oldest first (the baseline first).
  auto ascending = find("?optimization_id=" + id + "&size=100&sorting=" +
                        encode(R"([{"field":"created_at","direction":"ASC"}])"));
  ASSERT_EQ(ascending["content"].size(), content.size());
  for (std::size_t i = 0; i < content.size(); ++i)
    EXPECT_EQ(ascending["content"][i]["id"], content[content.size() - 1 - i]["id"]) << i;
  auto by_name = find("?optimization_id=" + id + "&size=100&sorting=" + encode(R"([{"field":"name","direction":"DESC"}])"));
  EXPECT_GE(by_name["content"][0]["name"].get<std::string>(), by_name["content"][1]["name"].get<std::string>());
  EXPECT_EQ(page["sortable_by"], nlohmann::json::parse(R"(["id","name","created_at"])"));
  // A field it cannot sort by is dropped, as Opik drops it; malformed sorting is a 400.
  auto unknown_sort = find("?optimization_id=" + id + "&size=100&sorting=" + encode(R"([{"field":"nope"}])"));
  EXPECT_EQ(unknown_sort["content"], content);
  EXPECT_EQ(call("GET", "/v1/private/experiments?sorting=" + encode(R"({"field":"id"})")).status, 400u);

  // Get by id is the same view.
  auto one = json_of(call("GET", "/v1/private/experiments/" + content[0]["id"].get<std::string>()));
  EXPECT_EQ(one, content[0]);
  auto missing = call("GET", "/v1/private/experiments/0197aaaa-0000-7000-8000-000000000000");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(json_of(missing)["code"], 404);
}

TEST_F(experiments_test, experiment_items_stream_by_name_with_traces_scores_and_paging) {
  auto id = run_to_completion();
  auto baseline = find("?optimization_id=" + id + "&size=100")["content"].back();
  auto name = baseline["name"].get<std::string>();
  auto items = stream(R"({"experiment_name":")" + name + R"("})");
  ASSERT_EQ(items.size(), 6u);
  double sum = 0, cost = 0;
  for (const auto& it : items) {
    EXPECT_EQ(it["experiment_id"], baseline["id"]);
    EXPECT_TRUE(core::is_uuid_v7(it["trace_id"].get<std::string>()));
    EXPECT_THAT(it["input"]["question"].get<std::string>(), HasSubstr("What is"));
    EXPECT_FALSE(it["output"]["llm_output"].get<std::string>().empty());
    EXPECT_GT(it["usage"]["total_tokens"].get<double>(), 0);
    ASSERT_EQ(it["feedback_scores"].size(), 1u);
    sum += it["feedback_scores"][0]["value"].get<double>();
    cost += it["total_estimated_cost"].get<double>();
  }
  // The experiment's score and cost are its items' mean and sum, as Opik computes them.
  EXPECT_NEAR(sum / 6, baseline["feedback_scores"][0]["value"].get<double>(), 1e-9);
  EXPECT_NEAR(cost, baseline["total_estimated_cost"].get<double>(), 1e-12);

  // Newest first, paged by "below the last id seen".
  auto page1 = stream(R"({"experiment_name":")" + name + R"(","limit":4})");
  ASSERT_EQ(page1.size(), 4u);
  EXPECT_GT(page1[0]["id"].get<std::string>(), page1[3]["id"].get<std::string>());
  auto page2 = stream(R"({"experiment_name":")" + name + R"(","limit":4,"last_retrieved_id":")" +
                      page1[3]["id"].get<std::string>() + R"("})");
  ASSERT_EQ(page2.size(), 2u);
  EXPECT_LT(page2[0]["id"].get<std::string>(), page1[3]["id"].get<std::string>());

  // One item by id.
  auto item = json_of(call("GET", "/v1/private/experiments/items/" + items[0]["id"].get<std::string>()));
  EXPECT_EQ(item["trace_id"], items[0]["trace_id"]);
  EXPECT_EQ(item["dataset_item_id"], items[0]["dataset_item_id"]);

  EXPECT_EQ(call("POST", "/v1/private/experiments/items/stream", R"({"experiment_name":"nope"})").status, 404u);
  EXPECT_EQ(call("POST", "/v1/private/experiments/items/stream", R"({"limit":3})").status, 422u);
  EXPECT_EQ(call("POST", "/v1/private/experiments/items/stream", "{oops").status, 400u);
  EXPECT_EQ(call("GET", "/v1/private/experiments/items/0197aaaa-0000-7000-8000-000000000000").status, 404u);
}

TEST_F(experiments_test, dataset_items_with_experiment_items_compare_trials_item_by_item) {
  auto id = run_to_completion();
  auto experiments = find("?optimization_id=" + id + "&size=100")["content"];
  auto baseline = experiments.back()["id"].get<std::string>(), newest = experiments[0]["id"].get<std::string>();
  auto dataset_id = json_of(call("POST", "/v1/private/datasets/retrieve", R"({"dataset_name":"skills"})"))["id"].get<std::string>();
  auto path = "/v1/private/datasets/" + dataset_id + "/items/experiments/items";
  auto ids = encode(R"([")" + baseline + R"(",")" + newest + R"("])");

  auto page = json_of(call("GET", path + "?experiment_ids=" + ids + "&size=100"));
  ASSERT_EQ(page["total"], 6);
  std::map<std::string, double> baseline_scores;
  for (const auto& item : page["content"]) {
    EXPECT_EQ(item["dataset_id"], dataset_id);
    ASSERT_EQ(item["experiment_items"].size(), 2u) << item.dump();
    for (const auto& ei : item["experiment_items"]) {
      EXPECT_EQ(ei["dataset_item_id"], item["id"]);
      EXPECT_EQ(ei["input"], item["data"]);
      EXPECT_GE(ei["duration"].get<double>(), 0);
      if (ei["experiment_id"] == baseline)
        baseline_scores[item["id"]] = ei["feedback_scores"][0]["value"].get<double>();
    }
  }
  EXPECT_EQ(page["columns"].size(), 2u);  // question, answer
  for (std::size_t i = 1; i < page["content"].size(); ++i)  // newest item first, as Opik's dataset_item_id DESC
    EXPECT_GT(page["content"][i - 1]["id"].get<std::string>(), page["content"][i]["id"].get<std::string>());

  // Paging, search, a score filter and sorting by a score.
  auto p2 = json_of(call("GET", path + "?experiment_ids=" + ids + "&page=2&size=4"));
  EXPECT_EQ(p2["content"].size(), 2u);
  EXPECT_EQ(p2["total"], 6);
  EXPECT_EQ(p2["content"][0]["id"], page["content"][4]["id"]);  // page 2 follows page 1
  EXPECT_EQ(p2["content"][1]["id"], page["content"][5]["id"]);
  EXPECT_EQ(json_of(call("GET", path + "?experiment_ids=" + ids + "&search=" + encode("wHaT iS 3")))["total"], 1);  // any case
  auto found = json_of(call("GET", path + "?experiment_ids=" + ids + "&search=" + encode("What is 3")));
  ASSERT_EQ(found["total"], 1);
  EXPECT_EQ(found["content"][0]["data"]["answer"], "5");
  auto only_baseline = encode(R"([")" + baseline + R"("])");
  auto perfect = json_of(call("GET", path + "?experiment_ids=" + only_baseline + "&size=100&filters=" +
                                          encode(R"([{"field":"feedback_scores","key":"levenshtein_ratio","operator":">=","value":"1"}])")));
  int expected_perfect = 0;
  for (const auto& [item, score] : baseline_scores) expected_perfect += score >= 1.0;
  EXPECT_EQ(perfect["total"], expected_perfect);
  auto sorted = json_of(call("GET", path + "?experiment_ids=" + only_baseline + "&size=100&sorting=" +
                                        encode(R"([{"field":"feedback_scores.levenshtein_ratio","direction":"DESC"}])")));
  ASSERT_EQ(sorted["content"].size(), 6u);
  for (std::size_t i = 1; i < 6; ++i)
    EXPECT_GE(baseline_scores[sorted["content"][i - 1]["id"]], baseline_scores[sorted["content"][i]["id"]]);
  // A field optd cannot sort by is dropped, as Opik's SortingFactory drops it (its UI offers many).
  auto unknown_sort = json_of(call("GET", path + "?experiment_ids=" + ids + "&size=100&sorting=" +
                                              encode(R"([{"field":"data.question","direction":"ASC"}])")));
  EXPECT_EQ(unknown_sort["content"], page["content"]);

  // Errors as Opik gives them.
  auto none = call("GET", path);
  EXPECT_EQ(none.status, 400u);
  EXPECT_EQ(json_of(none)["message"], "experiment_ids cannot be empty");
  EXPECT_EQ(json_of(call("GET", path + "?experiment_ids=" + encode("[]")))["message"], "experiment_ids cannot be empty");
  EXPECT_THAT(json_of(call("GET", path + "?experiment_ids=nope"))["message"].get<std::string>(),
              HasSubstr("Invalid query param ids"));
  EXPECT_EQ(call("GET", path + "?experiment_ids=" + ids + "&filters=" +
                           encode(R"([{"field":"nope","operator":"=","value":"1"}])")).status, 400u);
  EXPECT_EQ(call("GET", path + "?experiment_ids=" + ids + "&truncate=maybe").status, 400u);
  EXPECT_EQ(call("GET", "/v1/private/datasets/0197aaaa-0000-7000-8000-000000000000/items/experiments/items?experiment_ids=" +
                        ids).status, 404u);
}

TEST_F(experiments_test, a_weighted_objective_is_a_feedback_score_of_its_own_beside_its_metrics) {
  // Two metrics, weighted 3 and 1, into an objective named "quality": what Opik reads as the
  // objective is a trace score named "quality", and each metric keeps its own score.
  auto body = nlohmann::json::parse(studio_body);
  body["objective_name"] = "quality";
  body["studio_config"]["evaluation"]["metrics"] = nlohmann::json::parse(
      R"([{"type":"equals","weight":3,"parameters":{"reference_key":"answer"}},
          {"type":"levenshtein_ratio","weight":1,"parameters":{"reference_key":"answer"}}])");
  auto id = create(body.dump());
  wait_for_status(id, "completed");
  auto opt = json_of(call("GET", "/v1/private/optimizations/" + id));
  auto experiments = find("?optimization_id=" + id + "&size=100")["content"];
  ASSERT_GE(experiments.size(), 2u);
  double best_quality = 0;
  for (const auto& e : experiments) {
    ASSERT_EQ(e["feedback_scores"].size(), 3u) << e.dump();
    EXPECT_EQ(e["feedback_scores"][0]["name"], "equals");
    EXPECT_EQ(e["feedback_scores"][1]["name"], "levenshtein_ratio");
    EXPECT_EQ(e["feedback_scores"][2]["name"], "quality");
    best_quality = std::max(best_quality, e["feedback_scores"][2]["value"].get<double>());
    // Each item's objective is its metrics' weighted sum, the weights as given (Opik's
    // MultiMetricObjective does not normalize them).
    for (const auto& it : stream(R"({"experiment_name":")" + e["name"].get<std::string>() + R"("})")) {
      std::map<std::string, double> s;
      for (const auto& f : it["feedback_scores"]) s[f["name"]] = f["value"].get<double>();
      ASSERT_EQ(s.size(), 3u);
      EXPECT_NEAR(s["quality"], 3 * s["equals"] + s["levenshtein_ratio"], 1e-12);
    }
  }
  EXPECT_NEAR(opt["best_objective_score"].get<double>(), best_quality, 1e-12);
  bool listed = false;
  for (const auto& f : opt["feedback_scores"])
    if (f["name"] == "quality") listed = std::abs(f["value"].get<double>() - best_quality) < 1e-12;
  EXPECT_TRUE(listed) << opt["feedback_scores"].dump();

  // The Compare view filters on the objective as on any score.
  auto dataset_id = json_of(call("POST", "/v1/private/datasets/retrieve", R"({"dataset_name":"skills"})"))["id"].get<std::string>();
  auto page = json_of(call("GET", "/v1/private/datasets/" + dataset_id + "/items/experiments/items?experiment_ids=" +
                                      encode(R"([")" + experiments.back()["id"].get<std::string>() + R"("])") +
                                      "&filters=" + encode(R"([{"field":"feedback_scores","key":"quality","operator":">=","value":"0"}])")));
  EXPECT_EQ(page["total"], 6);
}

}  // namespace
}  // namespace optd::api
