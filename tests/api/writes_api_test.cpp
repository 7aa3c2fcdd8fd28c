// An optimizer that runs elsewhere (Opik's SDK, another optd) logs its optimization into optd
// through Opik's write endpoints, in the order its queues happen to flush, and reads back the
// aggregates Opik would compute: screenings count as trials but never win, experiments of one
// candidate are pooled, experiment-level scores are kept, and a late trace or score still counts.
#include "api/writes_api.hpp"

#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/api_fixture.hpp"
#include "core/iso8601.hpp"

namespace optd::api {
namespace {

struct logged_item {
  std::string dataset_item;
  double accuracy;
  int duration_ms;
  double cost;
};

class writes_test : public api_test {
 protected:
  void SetUp() override {
    api_test::SetUp();
    optimization_ = ids_.next(1'790'000'000'000);
    auto r = call("POST", "/v1/private/optimizations",
                  nlohmann::json{{"id", optimization_}, {"name", "sdk-run"}, {"dataset_name", "skills"},
                                 {"objective_name", "accuracy"}, {"status", "running"},
                                 {"metadata", {{"optimizer", "GepaOptimizer"}}}}
                      .dump());
    ASSERT_EQ(r.status, 201u) << r.body;
  }

  void post(const std::string& method, const std::string& path, const nlohmann::json& body, unsigned expect = 204) {
    auto r = call(method, path, body.dump());
    EXPECT_EQ(r.status, expect) << method << " " << path << ": " << r.body;
  }

  std::string experiment(const std::string& type, const nlohmann::json& metadata = nlohmann::json::object(),
                         const nlohmann::json& experiment_scores = nullptr) {
    auto id = ids_.next(1'790'000'000'000);
    nlohmann::json body = {{"id", id}, {"dataset_name", "skills"}, {"type", type},
                           {"optimization_id", optimization_}, {"metadata", metadata}};
    if (!experiment_scores.is_null()) body["experiment_scores"] = experiment_scores;
    post("POST", "/v1/private/experiments", body, 201);
    return id;
  }

  // The writes of one experiment's items: traces, spans, scores and items, in the order given
  // (an SDK's queues flush independently). Returns the trace ids.
  std::vector<std::string> log_items(const std::string& experiment_id, const std::vector<logged_item>& items,
                                     const std::vector<std::string>& order = {"traces", "spans", "scores", "items"}) {
    nlohmann::json traces = nlohmann::json::array(), spans = nlohmann::json::array(),
                   scores = nlohmann::json::array(), links = nlohmann::json::array();
    std::vector<std::string> trace_ids;
    for (const auto& it : items) {
      auto trace = ids_.next(1'790'000'000'000);
      trace_ids.push_back(trace);
      std::int64_t start = 1'790'000'000'000;
      traces.push_back({{"id", trace}, {"name", "evaluation_task"}, {"start_time", core::iso8601(start)},
                        {"end_time", core::iso8601(start + it.duration_ms)}, {"input", {{"q", it.dataset_item}}},
                        {"output", {{"llm_output", "out-" + it.dataset_item}}}, {"tags", {optimization_, "Evaluation"}}});
      spans.push_back({{"id", ids_.next(1'790'000'000'000)}, {"trace_id", trace}, {"name", "llm"}, {"type", "llm"},
                       {"start_time", core::iso8601(start)}, {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 2}}},
                       {"total_estimated_cost", it.cost}});
      scores.push_back({{"id", trace}, {"name", "accuracy"}, {"value", it.accuracy}, {"source", "sdk"}});
      scores.push_back({{"id", trace}, {"name", "length"}, {"value", 0.5}, {"source", "sdk"}});
      links.push_back({{"experiment_id", experiment_id}, {"dataset_item_id", it.dataset_item}, {"trace_id", trace}});
    }
    for (const auto& what : order) {
      if (what == "traces") post("POST", "/v1/private/traces/batch", {{"traces", traces}});
      if (what == "spans") post("POST", "/v1/private/spans/batch", {{"spans", spans}});
      if (what == "scores") post("PUT", "/v1/private/traces/feedback-scores", {{"scores", scores}});
      if (what == "items") post("POST", "/v1/private/experiments/items", {{"experiment_items", links}});
    }
    return trace_ids;
  }

  nlohmann::json optimization() { return json_of(call("GET", "/v1/private/optimizations/" + optimization_)); }

  std::string optimization_;
};

TEST_F(writes_test, an_sdk_logged_optimization_reads_back_with_opiks_aggregates) {
  // The baseline: 4 items, accuracy 0.5 each, traces of 1 s and 2 s (p50 1.5 s), $0.01 each.
  auto baseline = experiment("trial");
  log_items(baseline, {{"item-1", 0.5, 1000, 0.01}, {"item-2", 0.5, 1000, 0.01}, {"item-3", 0.5, 2000, 0.01},
                       {"item-4", 0.5, 2000, 0.01}});
  // A screening: perfect on as many items as the baseline, but a screening never wins.
  auto mini = experiment("mini-batch");
  log_items(mini, {{"item-1", 1.0, 100, 0.01}, {"item-2", 1.0, 100, 0.01}, {"item-3", 1.0, 100, 0.01},
                   {"item-4", 1.0, 100, 0.01}});
  // Candidate c2, evaluated in two halves: 0.9 on 2 items (0.5 s), then 0.6 on 2 (1.5 s), the
  // second with its items linked before their traces, spans and scores arrive.
  auto c2a = experiment("trial", {{"candidate_id", "c2"}}, nlohmann::json::array({{{"name", "pass_rate"}, {"value", 0.8}}}));
  log_items(c2a, {{"item-1", 0.9, 500, 0.02}, {"item-2", 0.9, 500, 0.02}});
  auto c2b = experiment("trial", {{"candidate_id", "c2"}});
  log_items(c2b, {{"item-3", 0.6, 1500, 0.02}, {"item-4", 0.6, 1500, 0.02}}, {"items", "scores", "traces", "spans"});
  // A perfect candidate on 2 items only: fewer than the baseline's 4, so it cannot be best.
  auto partial = experiment("trial", nlohmann::json::object(), nlohmann::json::array({{{"name", "pass_rate"}, {"value", 0.9}}}));
  log_items(partial, {{"item-5", 1.0, 1000, 0.03}, {"item-6", 1.0, 1000, 0.03}});
  // The optimizer's own reasoning call: a tagged trace that is no experiment item.
  auto reasoning = ids_.next(1'790'000'000'000);
  post("POST", "/v1/private/traces/batch",
       {{"traces", {{{"id", reasoning}, {"name", "reflection"}, {"start_time", core::iso8601(1'790'000'000'000)},
                     {"tags", {optimization_}}}}}});
  post("POST", "/v1/private/spans/batch",
       {{"spans", {{{"id", ids_.next(1'790'000'000'000)}, {"trace_id", reasoning}, {"name", "llm"}, {"type", "llm"},
                    {"start_time", core::iso8601(1'790'000'000'000)}, {"total_estimated_cost", 0.05}}}}});

  auto o = optimization();
  EXPECT_EQ(o["num_trials"], 5);  // every experiment, the screening too
  EXPECT_DOUBLE_EQ(o["baseline_objective_score"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(o["baseline_duration"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(o["baseline_cost"].get<double>(), 0.01);
  // c2 pooled: (0.9·2 + 0.6·2) / 4 = 0.75; p50 (0.5·2 + 1.5·2) / 4 = 1 s; $0.08 / 4 items.
  EXPECT_DOUBLE_EQ(o["best_objective_score"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(o["best_duration"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(o["best_cost"].get<double>(), 0.02);
  // Every experiment's traces ($0.22) and the tagged reasoning call ($0.05).
  EXPECT_NEAR(o["total_optimization_cost"].get<double>(), 0.27, 1e-12);
  // maxMap over the experiments: accuracy from the screening, the constant length, pass_rate.
  EXPECT_EQ(o["feedback_scores"], nlohmann::json::parse(R"([{"name":"accuracy","value":1.0},{"name":"length","value":0.5}])"));
  EXPECT_EQ(o["experiment_scores"], nlohmann::json::parse(R"([{"name":"pass_rate","value":0.9}])"));

  // The experiments read back as logged: type, metadata, scores; items with the SDK's trace ids.
  auto minis = json_of(call("GET", "/v1/private/experiments?types=" + encode(R"(["mini-batch"])") +
                                       "&optimization_id=" + optimization_));
  ASSERT_EQ(minis["total"], 1);
  EXPECT_EQ(minis["content"][0]["id"], mini);
  auto late = json_of(call("GET", "/v1/private/experiments/" + c2b));
  EXPECT_EQ(late["type"], "trial");
  EXPECT_EQ(late["metadata"], nlohmann::json({{"candidate_id", "c2"}}));
  EXPECT_EQ(late["trace_count"], 2);
  EXPECT_EQ(late["feedback_scores"], nlohmann::json::parse(R"([{"name":"accuracy","value":0.6},{"name":"length","value":0.5}])"));
  EXPECT_NEAR(late["total_estimated_cost"].get<double>(), 0.04, 1e-12);
  auto first = json_of(call("GET", "/v1/private/experiments/" + c2a));
  EXPECT_EQ(first["experiment_scores"], nlohmann::json::parse(R"([{"name":"pass_rate","value":0.8}])"));
}

TEST_F(writes_test, an_experiment_of_no_optimization_is_kept_as_an_sdks_evaluate_logs_it) {
  // Opik's evaluate(): an experiment with a dataset and no optimization, then its items.
  auto id = ids_.next(1'790'000'000'000);
  post("POST", "/v1/private/experiments",
       {{"id", id}, {"name", "my-eval"}, {"dataset_name", "skills"}, {"metadata", {{"model", "gpt-4o"}}}}, 201);
  log_items(id, {{"item-1", 1.0, 1000, 0.01}, {"item-2", 0.0, 3000, 0.01}});
  auto e = json_of(call("GET", "/v1/private/experiments/" + id));
  EXPECT_EQ(e["name"], "my-eval");
  EXPECT_EQ(e["type"], "regular");
  EXPECT_EQ(e["dataset_name"], "skills");
  EXPECT_FALSE(e.contains("optimization_id"));  // it belongs to none, as Opik leaves it out
  EXPECT_EQ(e["metadata"], nlohmann::json({{"model", "gpt-4o"}}));
  EXPECT_EQ(e["trace_count"], 2);
  EXPECT_EQ(e["feedback_scores"], nlohmann::json::parse(R"([{"name":"accuracy","value":0.5},{"name":"length","value":0.5}])"));
  EXPECT_DOUBLE_EQ(e["duration"]["p50"].get<double>(), 2000);
  // Listed with every experiment and by its dataset, never as an optimization.
  auto all = json_of(call("GET", "/v1/private/experiments?name=my-eval"));
  ASSERT_EQ(all["total"], 1);
  EXPECT_EQ(all["content"][0]["id"], id);
  auto optimizations = json_of(call("GET", "/v1/private/optimizations?size=100"));
  EXPECT_EQ(optimizations["total"], 1);  // the fixture's own
  EXPECT_EQ(optimizations["content"][0]["id"], optimization_);
  // Opik's rules: a dataset name is required; an optimization_id must name an optimization.
  post("POST", "/v1/private/experiments", {{"id", ids_.next(1'790'000'000'000)}, {"name", "no-dataset"}}, 422);
  post("POST", "/v1/private/experiments",
       {{"id", ids_.next(1'790'000'000'000)}, {"dataset_name", "skills"}, {"optimization_id", id}}, 422);
  // What the SDK asks next: the experiment by name (get_experiment_by_name), its end (finish),
  // and the UI its score names.
  auto streamed = call("POST", "/v1/private/experiments/stream", R"({"name":"my-eval"})");
  ASSERT_EQ(streamed.status, 200u);
  EXPECT_EQ(streamed.body, e.dump() + "\r\n");
  EXPECT_EQ(call("POST", "/v1/private/experiments/stream", R"({"name":"nope"})").body, "");
  EXPECT_EQ(call("POST", "/v1/private/experiments/stream", R"({"limit":5})").status, 422u);
  post("POST", "/v1/private/experiments/finish", {{"ids", {id}}});
  post("POST", "/v1/private/experiments/finish", {{"ids", nlohmann::json::array()}}, 422);
  EXPECT_EQ(json_of(call("GET", "/v1/private/experiments/feedback-scores/names?experiment_ids=" + encode("[\"" + id + "\"]"))),
            nlohmann::json::parse(R"({"scores":[{"name":"accuracy"},{"name":"length"}]})"));
  // Created again after a lost answer: 201, unchanged.
  post("POST", "/v1/private/experiments", {{"id", id}, {"name", "renamed"}, {"dataset_name", "skills"}}, 201);
  EXPECT_EQ(json_of(call("GET", "/v1/private/experiments/" + id))["name"], "my-eval");
}

TEST_F(writes_test, a_patch_moves_an_experiment_into_a_candidate_and_the_aggregates_follow) {
  auto baseline = experiment("trial");
  log_items(baseline, {{"item-1", 0.5, 1000, 0.01}, {"item-2", 0.5, 1000, 0.01}, {"item-3", 0.5, 1000, 0.01},
                       {"item-4", 0.5, 1000, 0.01}});
  auto c2a = experiment("trial", {{"candidate_id", "c2"}});
  log_items(c2a, {{"item-1", 0.9, 500, 0.02}, {"item-2", 0.9, 500, 0.02}});
  auto partial = experiment("trial");
  log_items(partial, {{"item-3", 1.0, 1000, 0.03}, {"item-4", 1.0, 1000, 0.03}});
  // Neither half-evaluated candidate is complete: the baseline is the best there is.
  EXPECT_DOUBLE_EQ(optimization()["best_objective_score"].get<double>(), 0.5);

  post("PATCH", "/v1/private/experiments/" + partial,
       {{"metadata", {{"candidate_id", "c2"}}}, {"experiment_scores", {{{"name", "pass_rate"}, {"value", 1.0}}}}});
  // c2 now covers 4 items: (0.9·2 + 1.0·2) / 4 = 0.95.
  auto o = optimization();
  EXPECT_DOUBLE_EQ(o["best_objective_score"].get<double>(), 0.95);
  EXPECT_EQ(o["experiment_scores"], nlohmann::json::parse(R"([{"name":"pass_rate","value":1.0}])"));
  post("PATCH", "/v1/private/experiments/" + partial, {{"type", "mutation"}});  // a screening after all
  EXPECT_DOUBLE_EQ(optimization()["best_objective_score"].get<double>(), 0.5);

  // Bad writes are refused as Opik refuses them, and change nothing.
  post("PATCH", "/v1/private/experiments/" + partial, {{"type", "bogus"}}, 400);
  post("PATCH", "/v1/private/experiments/" + partial, {{"experiment_scores", {{{"name", "x"}}}}}, 422);
  post("PATCH", "/v1/private/experiments/0197aaaa-0000-7000-8000-000000000000", {{"name", "x"}}, 404);
  post("POST", "/v1/private/experiments",
       {{"id", ids_.next(1'790'000'000'000)}, {"type", "nonsense"}, {"optimization_id", optimization_}}, 400);
  EXPECT_EQ(json_of(call("GET", "/v1/private/experiments/" + partial))["type"], "mutation");
}

TEST_F(writes_test, a_trace_or_span_patched_later_changes_what_its_item_counts) {
  // As an SDK ends a trace or a span after it sent it: PATCH with the end time, cost or error.
  auto e = experiment("trial");
  auto trace = log_items(e, {{"item-1", 0.5, 1000, 0.01}})[0];
  auto o = optimization();
  EXPECT_DOUBLE_EQ(o["baseline_duration"].get<double>(), 1.0);
  post("PATCH", "/v1/private/traces/" + trace, {{"end_time", core::iso8601(1'790'000'004'000)}});
  EXPECT_DOUBLE_EQ(optimization()["baseline_duration"].get<double>(), 4.0);
  auto span = ids_.next(1'790'000'000'000);
  post("PATCH", "/v1/private/spans/" + span, {{"trace_id", trace}, {"total_estimated_cost", 0.04}});  // a span first seen in a patch
  EXPECT_DOUBLE_EQ(optimization()["baseline_cost"].get<double>(), 0.05);
  post("PATCH", "/v1/private/spans/" + span, {{"trace_id", trace}, {"usage", {{"prompt_tokens", 5}}}});  // the cost stays
  EXPECT_DOUBLE_EQ(optimization()["baseline_cost"].get<double>(), 0.05);
  post("PATCH", "/v1/private/traces/" + trace,
       {{"error_info", {{"exception_type", "Timeout"}, {"message", "took too long"}, {"traceback", "…"}}}});
  o = optimization();
  EXPECT_FALSE(o.contains("baseline_objective_score")) << o.dump();  // its one item failed: nothing scored, left out as Opik does
  EXPECT_EQ(json_of(call("GET", "/v1/private/experiments/" + e))["trace_count"], 1);

  post("PATCH", "/v1/private/spans/" + span, {{"total_estimated_cost", 1.0}}, 422);  // no trace_id
  post("PATCH", "/v1/private/traces/" + trace, {{"end_time", "yesterday"}}, 400);
}

TEST_F(writes_test, an_item_whose_scores_never_arrive_is_a_trace_but_not_part_of_the_mean) {
  auto baseline = experiment("trial");
  log_items(baseline, {{"item-1", 0.4, 1000, 0.01}, {"item-2", 0.4, 1000, 0.01}});
  auto e = experiment("trial");
  log_items(e, {{"item-1", 1.0, 1000, 0.01}}, {"traces", "spans", "items"});  // no scores
  log_items(e, {{"item-2", 0.8, 1000, 0.01}});
  auto o = optimization();
  // 2 traces each: the second experiment is complete, and its mean is over its one scored item.
  EXPECT_DOUBLE_EQ(o["best_objective_score"].get<double>(), 0.8);
  EXPECT_EQ(json_of(call("GET", "/v1/private/experiments/" + e))["trace_count"], 2);
}

// Every write endpoint, every field (and each list's first element's fields) given each wrong
// type, removed, or the body cut short: never a 500, and a wrong type is a 400 that names its field.
TEST_F(writes_test, wrong_types_missing_fields_and_truncations_never_get_a_500_and_a_wrong_type_names_its_field) {
  auto id = [&] { return ids_.next(1'790'000'000'000); };
  auto exp = experiment("trial");
  auto trace = log_items(exp, {{"item-1", 1.0, 10, 0.01}}).front();
  auto span = id();
  post("POST", "/v1/private/spans/batch", {{"spans", {{{"id", span}, {"trace_id", trace}}}}});
  std::vector<std::tuple<std::string, std::string, nlohmann::json>> bodies{
      {"POST", "/v1/private/optimizations",
       {{"id", id()}, {"name", "n"}, {"dataset_name", "skills"}, {"objective_name", "accuracy"}, {"status", "running"},
        {"metadata", nlohmann::json::object()}}},
      {"PUT", "/v1/private/optimizations/" + optimization_, {{"name", "n"}, {"status", "running"}, {"metadata", {{"a", 1}}}}},
      {"POST", "/v1/private/optimizations/delete", {{"ids", {id()}}}},
      {"POST", "/v1/private/experiments",
       {{"id", id()}, {"dataset_name", "skills"}, {"type", "trial"}, {"optimization_id", optimization_},
        {"metadata", nlohmann::json::object()}, {"experiment_scores", {{{"name", "s"}, {"value", 1}}}}}},
      {"PATCH", "/v1/private/experiments/" + exp, {{"name", "e"}, {"type", "trial"}, {"metadata", {{"candidate_id", "c"}}}}},
      {"POST", "/v1/private/experiments/items",
       {{"experiment_items", {{{"experiment_id", exp}, {"dataset_item_id", "item-2"}, {"trace_id", trace}}}}}},
      {"POST", "/v1/private/experiments/items/stream", {{"experiment_name", "sdk-run"}, {"limit", 10}}},
      {"POST", "/v1/private/traces/batch",
       {{"traces", {{{"id", id()}, {"start_time", "2026-12-03T00:00:00Z"}, {"end_time", "2026-12-03T00:00:01Z"},
                     {"tags", {optimization_}}, {"output", {{"llm_output", "x"}}}}}}}},
      {"PATCH", "/v1/private/traces/" + trace, {{"end_time", "2026-12-03T00:00:02Z"}, {"tags", {"t"}}}},
      {"POST", "/v1/private/spans/batch",
       {{"spans", {{{"id", id()}, {"trace_id", trace}, {"usage", {{"prompt_tokens", 1}}}, {"total_estimated_cost", 0.1}}}}}},
      {"PATCH", "/v1/private/spans/" + span, {{"trace_id", trace}, {"usage", {{"completion_tokens", 2}}}, {"total_estimated_cost", 0.2}}},
      {"PUT", "/v1/private/traces/feedback-scores", {{"scores", {{{"id", trace}, {"name", "accuracy"}, {"value", 0.5}}}}}},
      {"POST", "/v1/private/datasets", {{"name", "fuzz"}, {"description", "d"}}},
      {"POST", "/v1/private/datasets/retrieve", {{"dataset_name", "fuzz"}}},
      {"PUT", "/v1/private/datasets/items", {{"dataset_name", "fuzz"}, {"items", {{{"data", {{"q", 1}}}}}}}},
      {"POST", "/v1/private/datasets/items/stream", {{"dataset_name", "fuzz"}, {"steam_limit", 10}}},
  };
  const std::vector<nlohmann::json> wrong{1, -1.5, 1e308, "x", true, nullptr, nlohmann::json::array(),
                                          nlohmann::json::object(), nlohmann::json::parse("18446744073709551615")};
  int requests = 0, refused_naming = 0;
  auto send = [&](const std::string& method, const std::string& path, const std::string& body, const std::string& field) {
    auto r = call(method, path, body);
    ++requests;
    EXPECT_LT(r.status, 500u) << method << " " << path << " " << body << ": " << r.body;
    // Not even caught late: no handler met a type it did not expect (null reads as absent).
    EXPECT_EQ(r.body.find("json.exception"), std::string::npos) << method << " " << path << " " << body << ": " << r.body;
    if (r.status == 400 && !field.empty() && r.body.find("Unable to process JSON: ") != std::string::npos) {
      EXPECT_NE(r.body.find(field + " must be "), std::string::npos) << method << " " << path << " " << body << ": " << r.body;
      ++refused_naming;
    }
  };
  for (const auto& [method, path, valid] : bodies) {
    auto dump = valid.dump();
    for (std::size_t cut = 1; cut < dump.size(); cut += 7) send(method, path, dump.substr(0, cut), "");
    send(method, path, "[1,2]", "");
    auto extra = valid;
    extra["no_such_field"] = {{"x", 1}};
    send(method, path, extra.dump(), "");
    for (auto it = valid.begin(); it != valid.end(); ++it) {
      auto without = valid;
      without.erase(it.key());
      send(method, path, without.dump(), "");
      for (const auto& w : wrong) {
        auto mutated = valid;
        mutated[it.key()] = w;
        send(method, path, mutated.dump(), w.type() == it.value().type() || w.is_null() ? "" : it.key());
      }
      if (!it.value().is_array() || it.value().empty() || !it.value()[0].is_object()) continue;
      for (auto inner = it.value()[0].begin(); inner != it.value()[0].end(); ++inner)
        for (const auto& w : wrong) {
          auto mutated = valid;
          mutated[it.key()][0][inner.key()] = w;
          send(method, path, mutated.dump(), w.type() == inner.value().type() || w.is_null() ? "" : inner.key());
        }
    }
  }
  EXPECT_GT(requests, 700);
  EXPECT_GT(refused_naming, 200);
}

}  // namespace
}  // namespace optd::api
