// optd's Opik-compatible optimization API over loopback: the daemon's pieces in one process (API,
// run manager, the real provider, an in-process llm-sim), a fake clock, and a real HTTP client.
#include "api/optimizations_api.hpp"

#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/api_fixture.hpp"
#include "net/zlib_codec.hpp"
#include "opik/opik_json.hpp"

namespace optd::api {
namespace {

using ::testing::HasSubstr;

TEST_F(api_test, a_studio_config_is_run_and_read_back_with_opik_aggregates) {
  auto id = create(studio_body);
  EXPECT_TRUE(core::is_uuid_v7(id));
  wait_for_status(id, "completed");
  auto j = json_of(call("GET", "/v1/private/optimizations/" + id));
  EXPECT_EQ(j["name"], "via-api");
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(j["metadata"]["team"], "search");
  EXPECT_EQ(j["metadata"]["optimizer"], "meta_prompt");  // what optimized it, as Opik's optimizers write it
  EXPECT_EQ(j["studio_config"]["optimizer"]["type"], "meta_prompt");
  auto trials = db_->trials(id);
  EXPECT_EQ(j["num_trials"], trials.size());
  EXPECT_DOUBLE_EQ(j["baseline_objective_score"].get<double>(), *trials.front().score);
  double best = 0;
  for (const auto& t : trials) best = std::max(best, *t.score);
  EXPECT_DOUBLE_EQ(j["best_objective_score"].get<double>(), best);
  EXPECT_GT(best, j["baseline_objective_score"].get<double>());
  EXPECT_DOUBLE_EQ(j["total_optimization_cost"].get<double>(), db_->find_run(id)->cost_usd);
  ASSERT_EQ(j["feedback_scores"].size(), 1u);
  EXPECT_EQ(j["feedback_scores"][0]["name"], "levenshtein_ratio");
  EXPECT_DOUBLE_EQ(j["feedback_scores"][0]["value"].get<double>(), best);
}

TEST_F(api_test, aggregates_are_computed_as_opik_computes_them) {
  auto id = record("hand", "completed");
  // Three trials: the baseline (5 items, mean 0.4), a partial one that scored 1.0 on 2 items
  // (cannot be best), and a complete one (mean 0.8).
  struct t { int number; double score; int items; double median; double cost; };
  for (auto [number, score, items, median, cost] : {t{1, 0.4, 5, 1.5, 0.05}, t{2, 1.0, 2, 0.5, 0.01}, t{3, 0.8, 5, 2.5, 0.10}}) {
    store::trial_record tr;
    tr.id = id + "-t" + std::to_string(number);
    tr.run_id = id;
    tr.number = number;
    tr.prompt_json = "[]";
    tr.score = score;
    tr.evaluated_count = items;
    tr.median_duration_s = median;
    tr.cost_usd = cost;
    db_->insert_trial(tr);
  }
  auto j = json_of(call("GET", "/v1/private/optimizations/" + id));
  EXPECT_EQ(j["num_trials"], 3);
  EXPECT_DOUBLE_EQ(j["baseline_objective_score"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(j["best_objective_score"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(j["baseline_duration"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(j["best_duration"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(j["baseline_cost"].get<double>(), 0.01);  // per evaluated item
  EXPECT_DOUBLE_EQ(j["best_cost"].get<double>(), 0.02);
}

TEST_F(api_test, find_pages_and_filters_like_opik) {
  record("alpha-one", "running", R"({"optimizer":"GepaOptimizer"})");
  record("beta", "completed", R"({"optimizer":"MetaPrompt"})");
  record("Alpha-two", "completed", R"({"optimizer":"GepaOptimizer"})");
  auto page1 = json_of(call("GET", "/v1/private/optimizations?page=1&size=2"));
  EXPECT_EQ(page1["total"], 3);
  EXPECT_EQ(page1["page"], 1);
  ASSERT_EQ(page1["content"].size(), 2u);
  EXPECT_EQ(page1["content"][0]["name"], "Alpha-two");  // newest first
  auto page2 = json_of(call("GET", "/v1/private/optimizations?page=2&size=2"));
  ASSERT_EQ(page2["content"].size(), 1u);
  EXPECT_EQ(page2["content"][0]["name"], "alpha-one");

  EXPECT_EQ(json_of(call("GET", "/v1/private/optimizations?name=ALPHA"))["total"], 2);
  auto filters = R"([{"field":"status","operator":"=","value":"completed"},)"
                 R"({"field":"metadata","key":"optimizer","operator":"=","value":"GepaOptimizer"}])";
  auto filtered = json_of(call("GET", "/v1/private/optimizations?filters=" + encode(filters)));
  ASSERT_EQ(filtered["total"], 1);
  EXPECT_EQ(filtered["content"][0]["name"], "Alpha-two");

  // By dataset id and project id (optd reports a stable id per project name).
  create(R"({"name":"elsewhere","dataset_name":"not-stored","project_name":"Search","objective_name":"equals",)"
         R"("status":"completed"})");
  auto dataset_id = json_of(call("GET", "/v1/private/optimizations?name=beta"))["content"][0]["dataset_id"];
  ASSERT_TRUE(dataset_id.is_string());
  EXPECT_EQ(json_of(call("GET", "/v1/private/optimizations?dataset_id=" + dataset_id.get<std::string>()))["total"], 3);
  EXPECT_EQ(json_of(call("GET", "/v1/private/optimizations?filters=" +
                                    encode(R"([{"field":"dataset_id","operator":"=","value":")" +
                                           dataset_id.get<std::string>() + R"("}])")))["total"], 3);
  auto elsewhere = json_of(call("GET", "/v1/private/optimizations?name=elsewhere"))["content"][0];
  EXPECT_FALSE(elsewhere.contains("dataset_id"));
  auto project_id = elsewhere["project_id"].get<std::string>();
  EXPECT_TRUE(core::is_uuid_v7(project_id));
  auto in_project = json_of(call("GET", "/v1/private/optimizations?project_id=" + project_id));
  ASSERT_EQ(in_project["total"], 1);
  EXPECT_EQ(in_project["content"][0]["name"], "elsewhere");

  EXPECT_EQ(call("GET", "/v1/private/optimizations?size=0").status, 400u);
  // Beyond Opik's int range is refused; the last page Opik could ask for is empty, not an overflow
  // (found by the http fuzzer: page × size overflowed).
  EXPECT_EQ(call("GET", "/v1/private/optimizations?page=4611686018427387904&size=4").status, 400u);
  auto far = call("GET", "/v1/private/optimizations?page=2147483647&size=2147483647");
  ASSERT_EQ(far.status, 200u);
  EXPECT_EQ(json_of(far)["content"].size(), 0u);
  auto bad = call("GET", "/v1/private/optimizations?filters=%5B%7B%22field%22%3A%22status%22%2C%22operator%22%3A%22%3E%22%7D%5D");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_THAT(bad.body, HasSubstr("Invalid operator '>' for field 'status'"));
}

TEST_F(api_test, find_takes_opiks_status_metadata_and_project_operators) {
  record("one", "running", R"({"optimizer":"GepaOptimizer","run":{"team":"Search"}})");
  record("two", "completed", R"({"optimizer":"MetaPrompt","note":"100% sure"})");
  record("three", "error", R"({"optimizer":"gepaoptimizer"})");
  create(R"({"name":"four","dataset_name":"d","project_name":"Search","objective_name":"equals","status":"cancelled"})");
  auto names = [&](const std::string& filters) {
    auto r = call("GET", "/v1/private/optimizations?size=100&filters=" + encode(filters));
    EXPECT_EQ(r.status, 200u) << filters << " " << r.body;
    std::set<std::string> out;
    auto page = json_of(r);
    for (const auto& o : page["content"]) out.insert(o["name"].get<std::string>());
    return out;
  };
  using names_t = std::set<std::string>;
  // Status: the UI's multi-select sends in / not_in.
  EXPECT_EQ(names(R"([{"field":"status","operator":"in","value":["running","error"]}])"), (names_t{"one", "three"}));
  EXPECT_EQ(names(R"([{"field":"status","operator":"in","value":"running, error"}])"), (names_t{"one", "three"}));
  EXPECT_EQ(names(R"([{"field":"status","operator":"not_in","value":"[\"running\",\"error\"]"}])"),
            (names_t{"two", "four"}));
  // Metadata: case-insensitive as Opik's lower(), by key or JSON path, with a literal % in a value.
  EXPECT_EQ(names(R"([{"field":"metadata","key":"optimizer","operator":"=","value":"GEPAOPTIMIZER"}])"),
            (names_t{"one", "three"}));
  EXPECT_EQ(names(R"([{"field":"metadata","key":"optimizer","operator":"starts_with","value":"meta"}])"), (names_t{"two"}));
  EXPECT_EQ(names(R"([{"field":"metadata","key":"optimizer","operator":"ends_with","value":"Prompt"}])"), (names_t{"two"}));
  EXPECT_EQ(names(R"([{"field":"metadata","key":"optimizer","operator":"not_contains","value":"gepa"}])"),
            (names_t{"two", "four"}));
  EXPECT_EQ(names(R"([{"field":"metadata","key":"$.run.team","operator":"=","value":"search"}])"), (names_t{"one"}));
  EXPECT_EQ(names(R"([{"field":"metadata","key":"note","operator":"contains","value":"0% s"}])"), (names_t{"two"}));
  EXPECT_EQ(names(R"([{"field":"metadata","key":"note","operator":"contains","value":"1_0"}])"), (names_t{}));
  EXPECT_EQ(names(R"([{"field":"metadata","key":"note","operator":"is_not_empty"}])"), (names_t{"two"}));
  // Project: by the id optd reports for a project name, = and !=.
  auto project_id = opik::project_id_of("Search");
  EXPECT_EQ(names(R"([{"field":"project_id","operator":"=","value":")" + project_id + R"("}])"), (names_t{"four"}));
  EXPECT_EQ(names(R"([{"field":"project_id","operator":"!=","value":")" + project_id + R"("}])"),
            (names_t{"one", "two", "three"}));
  // Refused as Opik refuses them: no value, an operator the field has not, a malformed path.
  for (auto bad : {R"([{"field":"status","operator":"="}])", R"([{"field":"status","operator":"contains","value":"x"}])",
                   R"([{"field":"metadata","key":"$.a[","operator":"=","value":"x"}])",
                   R"([{"field":"name","operator":"=","value":"x"}])"})
    EXPECT_EQ(call("GET", "/v1/private/optimizations?filters=" + encode(bad)).status, 400u) << bad;
}

TEST_F(api_test, update_merges_metadata_and_a_record_takes_any_status) {
  auto id = record("old", "running", R"({"a":1,"b":{"c":2}})");
  EXPECT_EQ(call("PUT", "/v1/private/optimizations/" + id, R"({"name":"new","metadata":{"b":{"d":3}}})").status, 204u);
  auto j = json_of(call("GET", "/v1/private/optimizations/" + id));
  EXPECT_EQ(j["name"], "new");
  EXPECT_EQ(j["metadata"], (nlohmann::json{{"a", 1}, {"b", {{"c", 2}, {"d", 3}}}}));
  EXPECT_EQ(call("PUT", "/v1/private/optimizations/" + id, R"({"status":"completed"})").status, 204u);
  EXPECT_EQ(status_of(id), "completed");
  // A run an SDK records takes any status it is sent, as Opik stores it: cancelled after completed too.
  EXPECT_EQ(call("PUT", "/v1/private/optimizations/" + id, R"({"status":"cancelled"})").status, 204u);
  EXPECT_EQ(status_of(id), "cancelled");
  EXPECT_EQ(call("PUT", "/v1/private/optimizations/" + id, R"({"status":"done"})").status, 400u);
  EXPECT_EQ(call("PUT", "/v1/private/optimizations/" + id, "{oops").status, 400u);
  auto missing = call("PUT", "/v1/private/optimizations/01a20194-0000-7000-8000-000000000000", "{}");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(json_of(missing)["message"], "Not found optimization with id '01a20194-0000-7000-8000-000000000000'");
}

TEST_F(api_test, a_running_run_is_really_cancelled) {
  TearDown();
  start({.hang_rate = 1.0});  // every LLM call hangs: the run stays running until cancelled
  auto id = create(studio_body);
  wait_for_status(id, "running");
  EXPECT_EQ(call("GET", "/v1/private/optimizations/studio/" + id + "/cancel").status, 204u);
  wait_for_status(id, "cancelled");
  EXPECT_EQ(json_of(call("GET", "/v1/private/optimizations/" + id))["status"], "cancelled");
  EXPECT_EQ(call("GET", "/v1/private/optimizations/studio/" + id + "/cancel").status, 409u);
}

TEST_F(api_test, an_ended_studio_run_ignores_late_terminal_writes_and_its_cancel_is_a_409_opiks_ui_reads) {
  auto id = create(studio_body);
  wait_for_status(id, "completed");
  for (auto late : {"error", "completed"})  // a late worker write: ignored, as Opik ignores it
    EXPECT_EQ(call("PUT", "/v1/private/optimizations/" + id, std::string(R"({"status":")") + late + "\"}").status, 204u);
  EXPECT_EQ(status_of(id), "completed");
  auto conflict = call("PUT", "/v1/private/optimizations/" + id, R"({"status":"cancelled"})");
  EXPECT_EQ(conflict.status, 409u);
  EXPECT_EQ(json_of(conflict)["code"], 409);  // Opik's Stop button shows `message`
  EXPECT_EQ(json_of(conflict)["message"],
            "Cannot cancel optimization with status 'completed'. Only optimizations with status [INITIALIZED, "
            "RUNNING] can be cancelled.");
  EXPECT_EQ(status_of(id), "completed");
}

// An SDK's error_info is kept whole, as Opik keeps it: written with a status, without one, or in
// the create; Opik's UI shows its exception_type.
TEST_F(api_test, a_records_error_info_is_kept_whole) {
  const nlohmann::json info = {{"exception_type", "Timeout"}, {"message", "took too long"}, {"traceback", "line 1"}};
  auto id = record("sdk", "running", "{}");
  EXPECT_EQ(call("PUT", "/v1/private/optimizations/" + id, nlohmann::json{{"status", "error"}, {"error_info", info}}.dump()).status,
            204u);
  EXPECT_EQ(json_of(call("GET", "/v1/private/optimizations/" + id))["error_info"], info);
  auto other = record("sdk-2", "error", "{}");
  EXPECT_EQ(call("PUT", "/v1/private/optimizations/" + other, nlohmann::json{{"error_info", info}}.dump()).status, 204u);
  EXPECT_EQ(json_of(call("GET", "/v1/private/optimizations/" + other))["error_info"], info);
  auto created = call("POST", "/v1/private/optimizations",
                      nlohmann::json{{"name", "sdk-3"}, {"dataset_name", "skills"}, {"objective_name", "x"},
                                     {"status", "error"}, {"error_info", info}}.dump());
  ASSERT_EQ(created.status, 201u);
  auto location = std::string(created.header("location"));
  EXPECT_EQ(json_of(call("GET", "/v1/private/optimizations/" + location.substr(location.rfind('/') + 1)))["error_info"], info);
}

TEST_F(api_test, delete_removes_runs_and_needs_ids) {
  auto a = record("a", "completed"), b = record("b", "running");
  EXPECT_EQ(call("POST", "/v1/private/optimizations/delete", R"({"ids":[")" + a + R"("]})").status, 204u);
  EXPECT_EQ(call("GET", "/v1/private/optimizations/" + a).status, 404u);
  EXPECT_EQ(call("GET", "/v1/private/optimizations/" + b).status, 200u);
  auto empty = call("POST", "/v1/private/optimizations/delete", R"({"ids":[]})");
  EXPECT_EQ(empty.status, 422u);
  EXPECT_EQ(json_of(empty)["errors"][0], "ids must not be empty");
}

TEST_F(api_test, bad_creates_get_opik_shaped_errors) {
  auto bad_id = call("POST", "/v1/private/optimizations",
                     R"({"id":"0197a1e2-7c1a-4b3e-9d2f-1a2b3c4d5e6f","dataset_name":"d","objective_name":"o","status":"running"})");
  EXPECT_EQ(bad_id.status, 400u);
  EXPECT_EQ(json_of(bad_id)["code"], 400);
  auto missing = call("POST", "/v1/private/optimizations", R"({"name":"x"})");
  EXPECT_EQ(missing.status, 422u);
  EXPECT_EQ(json_of(missing)["errors"],
            (nlohmann::json{"dataset_name must not be blank", "objective_name must not be blank", "status must not be null"}));
  auto invalid = call("POST", "/v1/private/optimizations",
                      R"({"dataset_name":"skills","objective_name":"equals","status":"initialized","studio_config":{"dataset_name":"skills",
  "prompt":{"messages":[{"role":"robot","content":"{{question}}"}]},"llm_model":{"model":"m"},
  "evaluation":{"metrics":[{"type":"bleu"}]},"optimizer":{"type":"meta_prompt"}}})");
  EXPECT_EQ(invalid.status, 422u);
  auto errors = json_of(invalid)["errors"].dump();
  EXPECT_THAT(errors, HasSubstr("request body:2:33: studio_config.prompt.messages[0].role: unknown role 'robot'"));
  EXPECT_THAT(errors, HasSubstr("unknown metric type 'bleu'"));
  // A dataset_file in a request is never opened: the dataset is looked up by name.
  auto with_file = call("POST", "/v1/private/optimizations",
                        R"({"dataset_file":"/etc/passwd","objective_name":"equals","status":"initialized",)"
                        R"("studio_config":{"prompt":{"messages":[{"role":"user","content":"{{question}}"}]},)"
                        R"("llm_model":{"model":"m"},"evaluation":{"metrics":[{"type":"equals"}]},"optimizer":{"type":"meta_prompt"}}})");
  EXPECT_EQ(with_file.status, 422u);
  EXPECT_THAT(with_file.body, HasSubstr("dataset 'passwd' is not stored on the daemon; upload it first"));
  EXPECT_EQ(call("POST", "/v1/private/optimizations", "not json").status, 400u);
  EXPECT_EQ(call("GET", "/v1/private/nothing").status, 404u);
}

TEST_F(api_test, reposting_an_id_updates_it_without_running_it_again) {
  auto id = create(studio_body);
  wait_for_status(id, "completed");
  auto trials = db_->trials(id).size();
  auto again = call("POST", "/v1/private/optimizations",
                    R"({"id":")" + id + R"(","name":"renamed","dataset_name":"skills","objective_name":"equals","status":"running"})");
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(json_of(call("GET", "/v1/private/optimizations/" + id))["name"], "renamed");
  EXPECT_EQ(status_of(id), "completed");
  EXPECT_EQ(db_->trials(id).size(), trials);
}

TEST_F(api_test, the_logs_link_is_a_presigned_gzip_download_as_opiks_ui_reads_it) {
  auto id = create(studio_body), other = create(studio_body);
  wait_for_status(id, "completed");
  cfg_.api_token = config::secret("s3cret");  // from here on, every other request needs it
  const std::vector<net::http_header> token = {{"authorization", "s3cret"}};
  auto link = json_of(call("GET", "/v1/private/optimizations/studio/" + id + "/logs", "", token));
  auto url = link["url"].get<std::string>();
  EXPECT_THAT(url, HasSubstr("/api/optd/runs/" + id + "/log.gz?expires="));
  EXPECT_EQ(link["expires_at"], core::iso8601(clock_.now_ms() + 3'600'000));
  EXPECT_FALSE(link.contains("last_modified"));  // Opik's is always null, so left out
  // Opik's UI fetches it with no token and inflates it as gzip.
  auto path = url.substr(url.find("/api/") + 4);
  auto log = call("GET", path);
  ASSERT_EQ(log.status, 200u) << log.body;
  EXPECT_EQ(log.header("content-type"), "application/gzip");
  std::string text;
  ASSERT_EQ(net::inflate(log.body, net::zlib_format::gzip, 1 << 20, text), net::inflate_result::ok);
  EXPECT_THAT(text, HasSubstr("run started"));
  EXPECT_THAT(text, HasSubstr("run completed"));
  // Without its signature, with another run's, or once expired: 403; the plain log needs the token.
  EXPECT_EQ(call("GET", "/optd/runs/" + id + "/log.gz").status, 403u);
  auto other_path = path;
  other_path.replace(other_path.find(id), id.size(), other);
  EXPECT_EQ(call("GET", other_path).status, 403u);
  EXPECT_EQ(call("GET", "/optd/runs/" + id + "/log").status, 401u);
  EXPECT_EQ(call("GET", "/optd/runs/" + id + "/log.gz", "", token).status, 200u);
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(call("GET", path).status, 403u);
  cfg_.api_token = {};
}

TEST_F(api_test, yaml_submission_and_health) {
  auto yaml = "name: yaml-run\ndataset_name: skills\nprompt: {messages: [{role: user, content: '{{question}}'}]}\n"
              "llm_model: {model: sim-small}\nevaluation: {metrics: [{type: equals}]}\n"
              "optimizer: {type: meta_prompt}\nlimits: {max_trials: 2}\n";
  auto r = call("POST", "/optd/runs", yaml, {{"Content-Type", "application/yaml"}});
  ASSERT_EQ(r.status, 201u) << r.body;
  auto id = json_of(r)["id"].get<std::string>();
  wait_for_status(id, "completed");
  EXPECT_EQ(db_->trials(id).size(), 2u);
  // A YAML run reads back with Opik's studio_config, as if it had been posted as JSON; optd's own
  // fields (limits) are not part of it.
  EXPECT_EQ(json_of(call("GET", "/v1/private/optimizations/" + id))["studio_config"], nlohmann::json::parse(R"({
    "dataset_name":"skills","prompt":{"messages":[{"role":"user","content":"{{question}}"}]},
    "llm_model":{"model":"sim-small","parameters":{}},
    "evaluation":{"metrics":[{"type":"equals","parameters":{}}]},
    "optimizer":{"type":"meta_prompt","parameters":{}}})"));
  auto health = json_of(call("GET", "/optd/health"));
  EXPECT_EQ(health["status"], "ok");
}

TEST_F(api_test, datasets_are_created_filled_streamed_and_paged_like_opik) {
  auto created = call("POST", "/v1/private/datasets", R"({"name":"qa","description":"questions"})");
  ASSERT_EQ(created.status, 201u);
  auto location = std::string(created.header("location"));
  auto dataset_id = location.substr(location.rfind('/') + 1);
  EXPECT_EQ(call("POST", "/v1/private/datasets", R"({"name":"qa"})").status, 409u);
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 5; ++i)
    items.push_back({{"source", "sdk"}, {"data", {{"question", "What is " + std::to_string(i) + " + 1?"}, {"answer", std::to_string(i + 1)}}}});
  EXPECT_EQ(call("PUT", "/v1/private/datasets/items", nlohmann::json{{"dataset_name", "qa"}, {"items", items}}.dump()).status, 204u);

  auto got = json_of(call("POST", "/v1/private/datasets/retrieve", R"({"dataset_name":"qa"})"));
  EXPECT_EQ(got["id"], dataset_id);
  EXPECT_EQ(got["dataset_items_count"], 5);
  EXPECT_EQ(json_of(call("GET", "/v1/private/datasets/" + dataset_id))["name"], "qa");
  EXPECT_EQ(call("POST", "/v1/private/datasets/retrieve", R"({"dataset_name":"nope"})").status, 404u);
  EXPECT_EQ(json_of(call("GET", "/v1/private/datasets?name=q"))["total"], 1);

  // The stream: "\r\n"-separated JSON, paged with steam_limit and last_retrieved_id.
  std::vector<nlohmann::json> streamed;
  std::string last;
  for (;;) {
    nlohmann::json req = {{"dataset_name", "qa"}, {"steam_limit", 2}};
    if (!last.empty()) req["last_retrieved_id"] = last;
    auto r = call("POST", "/v1/private/datasets/items/stream", req.dump());
    EXPECT_EQ(r.header("content-type"), "application/octet-stream");
    std::size_t n = 0;
    for (std::size_t pos = 0, end; (end = r.body.find("\r\n", pos)) != std::string::npos; pos = end + 2, ++n) {
      streamed.push_back(nlohmann::json::parse(r.body.substr(pos, end - pos)));
      last = streamed.back()["id"];
    }
    if (n < 2) break;
  }
  ASSERT_EQ(streamed.size(), 5u);
  EXPECT_EQ(streamed[4]["data"]["answer"], "5");
  EXPECT_EQ(streamed[0]["dataset_id"], dataset_id);

  auto page = json_of(call("GET", "/v1/private/datasets/" + dataset_id + "/items?page=2&size=2"));
  EXPECT_EQ(page["total"], 5);
  ASSERT_EQ(page["content"].size(), 2u);
  EXPECT_EQ(page["content"][0]["data"]["answer"], "3");
  EXPECT_EQ(page["columns"].size(), 2u);

  // Upserting an item by id replaces its data instead of adding one.
  auto first_id = streamed[0]["id"].get<std::string>();
  EXPECT_EQ(call("PUT", "/v1/private/datasets/items",
                 nlohmann::json{{"dataset_id", dataset_id}, {"items", {{{"id", first_id}, {"data", {{"question", "q"}, {"answer", "0"}}}}}}}.dump())
                .status, 204u);
  EXPECT_EQ(json_of(call("GET", "/v1/private/datasets/" + dataset_id))["dataset_items_count"], 5);
  // A wrong type is Jackson's mapping error at Opik: 400, naming the field and both types.
  auto wrong = call("PUT", "/v1/private/datasets/items", R"({"dataset_name":"qa","items":[{"data":"x"}]})");
  EXPECT_EQ(wrong.status, 400u);
  EXPECT_EQ(json_of(wrong)["message"], "Unable to process JSON: items[0].data must be an object or null, not a string");
  EXPECT_EQ(call("POST", "/v1/private/datasets/items/stream", R"({"dataset_name":"qa","steam_limit":5000})").status, 422u);
}

TEST_F(api_test, a_run_on_a_dataset_uploaded_through_the_api) {
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 4; ++i)
    items.push_back({{"data", {{"question", "What is 1" + std::to_string(i) + " + 1?"}, {"answer", std::to_string(11 + i)}}}});
  ASSERT_EQ(call("PUT", "/v1/private/datasets/items", nlohmann::json{{"dataset_name", "uploaded"}, {"items", items}}.dump()).status, 204u);
  auto body = std::string(studio_body);
  for (auto pos = body.find("\"skills\""); pos != std::string::npos; pos = body.find("\"skills\"")) body.replace(pos, 8, "\"uploaded\"");
  auto id = create(body);
  wait_for_status(id, "completed");
  EXPECT_EQ(db_->evaluations(db_->trials(id).front().id).size(), 4u);
}

// `event: progress` / `data: {…}` blocks of a Server-Sent Events body.
std::vector<nlohmann::json> sse_events(const std::string& body) {
  std::vector<nlohmann::json> out;
  std::size_t pos = 0;
  while ((pos = body.find("event: progress\ndata: ", pos)) != std::string::npos) {
    pos += 22;
    out.push_back(nlohmann::json::parse(body.substr(pos, body.find("\n\n", pos) - pos)));
  }
  return out;
}

TEST_F(api_test, live_progress_streams_as_server_sent_events_until_the_run_ends) {
  auto id = create(studio_body);
  // The stream starts at once (the run is queued or running) and ends after the final status.
  auto r = call("GET", "/optd/runs/" + id + "/events");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = sse_events(r.body);
  ASSERT_GE(events.size(), 3u) << r.body;
  EXPECT_THAT(std::string(events.front()["status"]), ::testing::AnyOf("initialized", "running"));
  EXPECT_EQ(events.back()["status"], "completed");
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_GE(events[i]["trials_done"], events[i - 1]["trials_done"]);
    EXPECT_GE(events[i]["cost_usd"].get<double>(), events[i - 1]["cost_usd"].get<double>());
  }
  auto final_state = json_of(call("GET", "/v1/private/optimizations/" + id));
  EXPECT_EQ(events.back()["trials_done"], final_state["num_trials"]);
  EXPECT_EQ(events.back()["best_objective_score"], final_state["best_objective_score"]);

  // The same state, once, as JSON (what `optd watch` polls).
  auto progress = json_of(call("GET", "/optd/runs/" + id + "/progress"));
  EXPECT_EQ(progress["status"], "completed");
  EXPECT_EQ(progress["trials_done"], final_state["num_trials"]);
  EXPECT_GT(progress["max_trials"].get<int>(), 0);
  EXPECT_EQ(call("GET", "/optd/runs/" + id + "/nope").status, 404u);

  // A finished run: its final state, and the end.
  auto again = sse_events(call("GET", "/optd/runs/" + id + "/events").body);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0]["status"], "completed");
  EXPECT_EQ(call("GET", "/optd/runs/0197aaaa-0000-7000-8000-000000000000/events").status, 404u);
}

TEST_F(api_test, a_watcher_of_a_queued_run_sees_it_through_to_its_cancellation) {
  // Two runs fill both slots; the third waits in the queue with a watcher on it.
  create(studio_body);
  create(studio_body);
  auto id = create(studio_body);
  ASSERT_EQ(runs_->queued(), 1u);
  net::http_request watch;
  watch.method = "GET";
  watch.target = "/optd/runs/" + id + "/events";
  net::http_timeouts timeouts;
  std::optional<net::http_response> watched;
  asio::co_spawn(ioc_, client_.send(base_, watch, timeouts), [&](std::exception_ptr, auto res) {
    watched = res ? *res : net::http_response{599, {}, {}};
  });
  test::poll_until(ioc_, [&] { return runs_->live_progress(id).has_value(); });  // it started
  EXPECT_EQ(call("GET", "/v1/private/optimizations/studio/" + id + "/cancel").status, 204u);
  test::poll_until(ioc_, [&] { return watched.has_value(); });
  ASSERT_EQ(watched->status, 200u);
  auto events = sse_events(watched->body);
  ASSERT_GE(events.size(), 2u) << watched->body;
  EXPECT_THAT(std::string(events.front()["status"]), ::testing::AnyOf("initialized", "running"));
  EXPECT_EQ(events.back()["status"], "cancelled");
}

TEST_F(api_test, evaluations_not_yet_answered_are_counted_until_they_are) {
  TearDown();
  sim::server_config silent;
  silent.hang_rate = 1.0;  // no call is ever answered: the baseline's 6 evaluations stay pending
  start(silent);
  auto id = create(studio_body);
  test::poll_until(ioc_, [&] {
    auto p = runs_->live_progress(id);
    return p && p->evals_in_trial == 6;
  });
  EXPECT_EQ(runs_->totals().evaluations_pending, 6);
  EXPECT_EQ(call("GET", "/v1/private/optimizations/studio/" + id + "/cancel").status, 204u);
  test::poll_until(ioc_, [&] { return runs_->running() == 0; });
  EXPECT_EQ(runs_->totals().evaluations_pending, 0);
}

TEST_F(api_test, an_api_token_guards_everything_but_health) {
  TearDown();
  start({}, "s3cret");
  EXPECT_EQ(call("GET", "/v1/private/optimizations").status, 401u);
  EXPECT_EQ(call("GET", "/v1/private/optimizations", {}, {{"authorization", "wrong"}}).status, 401u);
  EXPECT_EQ(call("GET", "/v1/private/optimizations", {}, {{"authorization", "s3cret"}}).status, 200u);
  EXPECT_EQ(call("GET", "/optd/health").status, 200u);
}

TEST_F(api_test, a_projects_lists_hold_its_own_optimizations_and_experiments_as_opiks_v2_ui_asks_for_them) {
  std::map<std::string, std::string> optimization_of;  // project → its optimization
  for (const std::string project : {"Search", "Support"}) {
    auto id = ids_.next(1'790'000'000'000);
    ASSERT_EQ(call("POST", "/v1/private/optimizations",
                   nlohmann::json{{"id", id}, {"name", project + "-run"}, {"project_name", project},
                                  {"dataset_name", "skills"}, {"objective_name", "accuracy"}, {"status", "running"}}
                       .dump())
                  .status,
              201u);
    ASSERT_EQ(call("POST", "/v1/private/experiments",
                   nlohmann::json{{"id", ids_.next(1'790'000'000'001)}, {"dataset_name", "skills"}, {"optimization_id", id}}
                       .dump())
                  .status,
              201u);
    optimization_of[project] = id;
  }
  auto search = opik::project_id_of("Search");
  auto runs = json_of(call("GET", "/v1/private/projects/" + search + "/optimizations?page=1&size=10"));
  ASSERT_EQ(runs["content"].size(), 1u) << runs.dump();
  EXPECT_EQ(runs["content"][0]["id"], optimization_of["Search"]);
  EXPECT_EQ(runs["content"][0]["project_id"], search);
  auto experiments = json_of(call("GET", "/v1/private/projects/" + search + "/experiments"));
  ASSERT_EQ(experiments["content"].size(), 1u) << experiments.dump();
  EXPECT_EQ(experiments["content"][0]["optimization_id"], optimization_of["Search"]);
  EXPECT_EQ(json_of(call("GET", "/v1/private/projects/" + ids_.next(1) + "/optimizations"))["content"].size(), 0u);
  EXPECT_EQ(json_of(call("GET", "/v1/private/projects/" + search + "/datasets"))["content"].size(), 1u);  // all of them
}

}  // namespace
}  // namespace optd::api
