// Recording runs in Opik: a scripted fake Opik on loopback records what optd sends (recorder →
// store outbox → sender) for a run that completes, one that fails, and through 503s and dropped
// connections.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <sqlite3.h>

#include "api/api_fixture.hpp"
#include "opik/cancel_watcher.hpp"
#include "opik/dataset_reader.hpp"
#include "opik/outbox_sender.hpp"
#include "core/uuid.hpp"
#include "opik/recorder.hpp"

namespace optd::api {
namespace {

using ::testing::ElementsAreArray;

class opik_recording : public api_test {
 protected:
  using fault_fn = std::function<std::optional<net::http_response>(const net::http_request&, int index)>;

  // A fake Opik: `fault` may answer a request (503, a dropped connection, a 422); everything else
  // is accepted (201/204) and kept in `accepted_`, with 409 for an id it already has.
  void start_opik(fault_fn fault = {}, bool credentials = true, std::function<void(const std::string&)> report = {}) {
    fake_ = std::make_unique<test::scripted_server>(ioc_, [this, fault](const net::http_request& r, int i) mutable {
      if (fault)
        if (auto f = fault(r, i)) return *f;
      auto body = nlohmann::json::parse(r.body, nullptr, false);
      if (r.method == "POST" && body.contains("id") && !seen_ids_.insert(body["id"].get<std::string>()).second)
        return net::http_response{409, {}, R"({"errors":["already exists"]})"};
      accepted_.push_back(r);
      return net::http_response{r.method == "POST" && body.contains("id") ? 201u : 204u, {}, {}};
    });
    auto& cfg = opik_cfg_;
    cfg.url = fake_->base_url() + "/api";
    if (credentials) {
      cfg.api_key = config::secret("opik-key-123");
      cfg.workspace = "team-ws";
    }
    cfg.project_name = "Optimization";
    sender_ = std::make_unique<opik::outbox_sender>(
        ioc_.get_executor(), *db_, client_, cfg, nullptr,
        backoff_);
    recorder_ = std::make_unique<opik::recorder>(*db_, clock_, cfg.url + " " + cfg.workspace, "Optimization",
                                                 [this] { sender_->notify(); });
    env_->version = "test";
    env_->observer = recorder_.get();
    sender_->start(std::move(report));
  }

  // Runs SQL on the store's file from a second connection, as another process could.
  void exec_sql(const std::string& sql) {
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &other), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(other, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(other);
  }

  void TearDown() override {
    if (watcher_) watcher_->stop();
    if (sender_) sender_->stop();
    if (fake_) fake_->stop();
    api_test::TearDown();
  }

  // Waits until the outbox is empty (everything delivered or refused).
  void drain() {
    test::poll_until(ioc_, [&] { return db_->outbox_state().pending == 0; });
  }

  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (const auto& r : accepted_) out.push_back(r.method + " " + r.target);
    return out;
  }

  core::retry_policy backoff_{0, std::chrono::milliseconds(1), std::chrono::milliseconds(5)};  // the sender's
  config::opik_config opik_cfg_;
  std::unique_ptr<test::scripted_server> fake_;
  std::unique_ptr<opik::outbox_sender> sender_;
  std::unique_ptr<opik::recorder> recorder_;
  std::unique_ptr<opik::cancel_watcher> watcher_;  // members: their coroutines end in TearDown
  std::vector<net::http_request> accepted_;
  std::set<std::string> seen_ids_;
};

// A judge's calls are LLM spans of the evaluation's trace (its prompt, verdict, usage and cost),
// as Opik's SDK records a judge metric; a call made once for the run (GEval's steps) is a trace of
// its own tagged with the optimization id, so that Opik counts its cost.
TEST_F(opik_recording, a_judges_calls_are_llm_spans_of_the_evaluations_trace) {
  start_opik();
  std::string body = studio_body;
  const std::string metric = R"({"type":"levenshtein_ratio","parameters":{"reference_key":"answer"}})";
  body.replace(body.find(metric), metric.size(),
               R"({"type":"geval","parameters":{"task_introduction":"Grade it.","evaluation_criteria":"Brief."}})");
  body.replace(body.find(R"("objective_name":"levenshtein_ratio")"), 36, R"("objective_name":"geval")");
  auto id = create(body);
  wait_for_status(id, "completed");
  drain();

  std::map<std::string, nlohmann::json> judge_spans, setup_traces;
  for (const auto& r : accepted_) {
    auto j = nlohmann::json::parse(r.body);
    if (r.target == "/api/v1/private/spans/batch")
      for (const auto& span : j["spans"])
        if (span["name"] == "judge") judge_spans[span["id"]] = span;
    if (r.target == "/api/v1/private/traces/batch")
      for (const auto& trace : j["traces"])
        if (trace["name"] == "judge_setup") setup_traces[trace["id"]] = trace;
  }
  std::size_t verdicts = 0;
  for (const auto& t : db_->trials(id)) {
    std::map<std::string, std::string> trace_of;
    for (const auto& e : db_->evaluations(t.id)) {
      trace_of[e.id] = store::trace_id_of(e);
      EXPECT_EQ(e.judge_calls, 1);
    }
    for (const auto& call : db_->judge_calls(t.id)) {
      ++verdicts;
      auto it = judge_spans.find(core::derived_uuid_v7(call.id, "span"));
      ASSERT_NE(it, judge_spans.end()) << "no span for judge call " << call.id;
      const auto& span = it->second;
      EXPECT_EQ(span["trace_id"], trace_of[call.evaluation_id]);
      EXPECT_EQ(span["type"], "llm");
      EXPECT_EQ(span["model"], "sim-small");  // the run's task model, as Studio's judge uses
      EXPECT_EQ(span["provider"], "openai");  // the task's provider, as the task's span names it
      EXPECT_EQ(span["usage"]["prompt_tokens"], call.tokens.prompt_tokens);
      EXPECT_DOUBLE_EQ(span["total_estimated_cost"].get<double>(), call.cost_usd);
      EXPECT_GT(call.cost_usd, 0);
      EXPECT_THAT(span["output"]["content"].get<std::string>(), ::testing::HasSubstr("\"score\""));
    }
  }
  EXPECT_EQ(judge_spans.size(), verdicts);
  EXPECT_GT(verdicts, 6u);
  // The evaluation steps: one call for the run (the criteria have no {{field}}), its own trace.
  ASSERT_EQ(setup_traces.size(), 1u);
  EXPECT_THAT(setup_traces.begin()->second["tags"], ::testing::Contains(id));
}

TEST_F(opik_recording, a_completed_run_is_recorded_as_opiks_optimizer_records_it) {
  start_opik();
  auto id = create(studio_body);
  wait_for_status(id, "completed");
  drain();
  auto trials = db_->trials(id);
  ASSERT_GE(trials.size(), 2u);

  auto calls = db_->llm_calls(id);  // the reasoning model's
  ASSERT_EQ(trials.size(), 3u);
  ASSERT_EQ(calls.size(), 2u);

  // The exact sequence: the dataset's items, the optimization and its status; per trial its
  // experiment, traces, spans, scores and items; per reasoning call its trace and span, in the
  // order the optimizer made them (the baseline, then each round's call and its candidates);
  // then the final status.
  std::vector<std::string> expected{"PUT /api/v1/private/datasets/items", "POST /api/v1/private/optimizations",
                                    "PUT /api/v1/private/optimizations/" + id};
  for (char step : std::string("TRTRT"))
    if (step == 'T')
      for (const char* p : {"POST /api/v1/private/experiments", "POST /api/v1/private/traces/batch",
                            "POST /api/v1/private/spans/batch", "PUT /api/v1/private/traces/feedback-scores",
                            "POST /api/v1/private/experiments/items"})
        expected.push_back(p);
    else
      for (const char* p : {"POST /api/v1/private/traces/batch", "POST /api/v1/private/spans/batch"})
        expected.push_back(p);
  expected.push_back("PUT /api/v1/private/optimizations/" + id);
  EXPECT_THAT(paths(), ElementsAreArray(expected));

  for (const auto& r : accepted_) {
    EXPECT_EQ(r.header("authorization"), "opik-key-123");  // raw key, as Opik wants it
    EXPECT_EQ(r.header("comet-workspace"), "team-ws");
    EXPECT_EQ(r.header("content-type"), "application/json");
  }
  auto dataset = nlohmann::json::parse(accepted_[0].body);
  EXPECT_EQ(dataset["dataset_name"], "skills");
  ASSERT_EQ(dataset["items"].size(), 6u);
  EXPECT_EQ(dataset["items"][0]["id"], db_->dataset_items("skills")->front().id);  // what experiment items link to
  EXPECT_EQ(dataset["items"][0]["data"]["question"], "What is 0 + 2?");
  auto created = nlohmann::json::parse(accepted_[1].body);
  EXPECT_EQ(created["id"], id);
  EXPECT_EQ(created["name"], "via-api");
  EXPECT_EQ(created["status"], "running");
  EXPECT_EQ(created["objective_name"], "levenshtein_ratio");
  EXPECT_EQ(created["dataset_name"], "skills");
  EXPECT_EQ(created["project_name"], "Optimization");
  EXPECT_EQ(created["metadata"]["optimizer"], "meta_prompt");
  EXPECT_EQ(created["metadata"]["team"], "search");
  EXPECT_FALSE(created.contains("studio_config"));  // Opik must not run it too

  // Opik may have the record already (an adopted id): the create's 409 leaves it to this.
  EXPECT_EQ(nlohmann::json::parse(accepted_[2].body), nlohmann::json({{"status", "running"}}));

  auto experiment = nlohmann::json::parse(accepted_[3].body);
  EXPECT_EQ(experiment["id"], trials[0].id);
  EXPECT_EQ(experiment["type"], "trial");
  EXPECT_EQ(experiment["optimization_id"], id);
  EXPECT_EQ(experiment["metadata"]["configuration"]["prompt"][0]["content"], "You are a helpful assistant.");
  auto traces = nlohmann::json::parse(accepted_[4].body)["traces"];
  auto spans = nlohmann::json::parse(accepted_[5].body)["spans"];
  auto scores = nlohmann::json::parse(accepted_[6].body)["scores"];
  auto items = nlohmann::json::parse(accepted_[7].body)["experiment_items"];
  ASSERT_EQ(traces.size(), 6u);
  ASSERT_EQ(spans.size(), 6u);
  ASSERT_EQ(scores.size(), 6u);  // the objective is the only metric
  ASSERT_EQ(items.size(), 6u);
  auto evaluations = db_->evaluations(trials[0].id);
  for (std::size_t i = 0; i < 6; ++i) {
    const auto& e = evaluations[i];
    auto trace_id = core::derived_uuid_v7(e.id, "trace");
    EXPECT_EQ(traces[i]["id"], trace_id);
    EXPECT_EQ(traces[i]["tags"][0], id);  // Opik's cost attribution reads the optimization id from the tags
    EXPECT_EQ(traces[i]["output"]["llm_output"], e.output);
    EXPECT_EQ(spans[i]["trace_id"], trace_id);
    EXPECT_EQ(spans[i]["type"], "llm");
    EXPECT_EQ(spans[i]["model"], "sim-small");
    EXPECT_EQ(spans[i]["usage"]["prompt_tokens"], e.tokens.prompt_tokens);
    EXPECT_DOUBLE_EQ(spans[i]["total_estimated_cost"].get<double>(), e.cost_usd);
    EXPECT_EQ(scores[i]["id"], trace_id);
    EXPECT_EQ(scores[i]["name"], "levenshtein_ratio");
    EXPECT_DOUBLE_EQ(scores[i]["value"].get<double>(), *e.objective);
    EXPECT_EQ(items[i]["experiment_id"], trials[0].id);
    EXPECT_EQ(items[i]["dataset_item_id"], e.item_id);
    EXPECT_EQ(items[i]["trace_id"], trace_id);
  }

  // The reasoning model's call: a trace tagged with the optimization id and its LLM span, so that
  // Opik's total_optimization_cost includes it.
  auto reasoning_trace = nlohmann::json::parse(accepted_[8].body)["traces"];
  auto reasoning_span = nlohmann::json::parse(accepted_[9].body)["spans"];
  ASSERT_EQ(reasoning_trace.size(), 1u);
  ASSERT_EQ(reasoning_span.size(), 1u);
  auto trace_id = core::derived_uuid_v7(calls[0].id, "trace");
  EXPECT_EQ(reasoning_trace[0]["id"], trace_id);
  EXPECT_EQ(reasoning_trace[0]["name"], "optimizer_reasoning");
  EXPECT_EQ(reasoning_trace[0]["tags"][0], id);
  EXPECT_EQ(reasoning_trace[0]["output"]["llm_output"], calls[0].response);
  EXPECT_EQ(reasoning_trace[0]["input"]["messages"], nlohmann::json::parse(calls[0].request_json)["messages"]);
  EXPECT_EQ(reasoning_span[0]["trace_id"], trace_id);
  EXPECT_EQ(reasoning_span[0]["type"], "llm");
  EXPECT_EQ(reasoning_span[0]["usage"]["completion_tokens"], calls[0].tokens.completion_tokens);
  EXPECT_GT(calls[0].cost_usd, 0.0);
  EXPECT_DOUBLE_EQ(reasoning_span[0]["total_estimated_cost"].get<double>(), calls[0].cost_usd);
  EXPECT_EQ(nlohmann::json::parse(accepted_.back().body), nlohmann::json({{"status", "completed"}}));
}

TEST_F(opik_recording, a_failed_run_ends_as_error_with_error_info) {
  TearDown();
  sim::server_config failing;
  failing.fail_rate = 1.0;  // every LLM call answers 503
  start(failing);
  start_opik();
  auto id = create(studio_body);
  wait_for_status(id, "error");
  drain();
  ASSERT_FALSE(accepted_.empty());
  EXPECT_EQ(accepted_[1].target, "/api/v1/private/optimizations");
  EXPECT_EQ(accepted_.back().target, "/api/v1/private/optimizations/" + id);
  auto last = nlohmann::json::parse(accepted_.back().body);
  EXPECT_EQ(last["status"], "error");
  EXPECT_EQ(last["error_info"]["exception_type"], "AllEvaluationsFailedError");
  EXPECT_THAT(last["error_info"]["message"].get<std::string>(), ::testing::HasSubstr("evaluations of trial 1 failed"));
  // Where the run was, then the error, then each distinct error with how often it came.
  auto traceback = last["error_info"]["traceback"].get<std::string>();
  EXPECT_EQ(traceback, "optd run " + id + " \"via-api\": optimizer meta_prompt, model sim-small via the default "
                       "provider\n  stopped in trial 1 (baseline), after 6 LLM call(s) costing $0.000000\n"
                       "AllEvaluationsFailedError: all 6 evaluations of trial 1 failed; first: HTTP 503: simulated "
                       "overload\n    6 × HTTP 503: simulated overload");

  // The failed trial is in Opik too: its experiment, and every evaluation as a trace with its
  // error and an experiment item, so that Opik shows what was tried and what it cost.
  auto trials = db_->trials(id);
  ASSERT_EQ(trials.size(), 1u);
  auto evaluations = db_->evaluations(trials[0].id);
  ASSERT_FALSE(evaluations.empty());
  std::size_t traces = 0, items = 0;
  bool experiment = false;
  for (const auto& r : accepted_) {
    auto body = nlohmann::json::parse(r.body);
    if (r.target == "/api/v1/private/experiments") experiment = body["id"] == trials[0].id;
    if (r.target == "/api/v1/private/traces/batch")
      for (const auto& t : body["traces"])
        if (t["tags"][1] == "Evaluation") {
          ++traces;
          EXPECT_TRUE(t.contains("error_info")) << t.dump();
        }
    if (r.target == "/api/v1/private/experiments/items") items += body["experiment_items"].size();
  }
  EXPECT_TRUE(experiment);
  EXPECT_EQ(traces, evaluations.size());
  EXPECT_EQ(items, evaluations.size());
}

TEST_F(opik_recording, through_503s_and_dropped_connections_everything_arrives_once_in_order) {
  // Every third request gets a 503, every fifth loses its connection.
  start_opik([](const net::http_request&, int i) -> std::optional<net::http_response> {
    if (i % 3 == 1) return net::http_response{503, {}, R"({"code":503,"message":"unavailable"})"};
    if (i % 5 == 2) {
      net::http_response drop;
      drop.reset_connection = true;
      return drop;
    }
    return std::nullopt;
  });
  auto id = create(studio_body);
  wait_for_status(id, "completed");
  drain();
  EXPECT_GT(fake_->received().size(), accepted_.size());  // faults happened
  // Each message arrived once, in order: the same sequence as without faults.
  auto trials = db_->trials(id);
  auto calls = db_->llm_calls(id).size();  // the reasoning model's: a trace and a span each
  ASSERT_EQ(accepted_.size(), 4 + 5 * trials.size() + 2 * calls);
  std::set<std::string> trace_ids;
  for (const auto& r : accepted_) {
    if (r.target != "/api/v1/private/traces/batch") continue;
    auto body = nlohmann::json::parse(r.body);  // named: a range-for over a temporary's member dangles
    for (const auto& t : body["traces"]) {
      EXPECT_TRUE(trace_ids.insert(t["id"]).second);
    }
  }
  EXPECT_EQ(trace_ids.size(), 6 * trials.size() + calls) << ::testing::PrintToString(paths());
  EXPECT_EQ(accepted_[1].target, "/api/v1/private/optimizations");
  EXPECT_EQ(nlohmann::json::parse(accepted_.back().body)["status"], "completed");
  EXPECT_EQ(db_->outbox_state().dead, 0);
}

TEST_F(opik_recording, new_writes_do_not_cut_the_outbox_backoff_short) {
  backoff_ = {0, std::chrono::hours(1), std::chrono::hours(1)};
  start_opik([](const net::http_request&, int) -> std::optional<net::http_response> {
    return net::http_response{503, {}, R"({"code":503,"message":"unavailable"})"};
  });
  auto id = create(studio_body);  // its every trial and evaluation is a new write, and notifies the sender
  wait_for_status(id, "completed");
  EXPECT_EQ(fake_->received().size(), 1u);  // the first send; the retry waits out its backoff
  EXPECT_GT(db_->outbox_state().pending, 10);
}

TEST_F(opik_recording, a_cancel_made_in_opik_stops_the_run) {
  TearDown();
  sim::server_config slow;
  slow.latency_ms = 30;  // long enough for a poll to find the run running
  start(slow);
  // Opik says "cancelled" for the optimization, as after a cancel in its UI.
  start_opik([](const net::http_request& r, int) -> std::optional<net::http_response> {
    if (r.method != "GET") return std::nullopt;
    return net::http_response{200, {{"Content-Type", "application/json"}}, R"({"status":"cancelled"})"};
  });
  config::opik_config cfg;
  cfg.url = fake_->base_url() + "/api";
  watcher_ = std::make_unique<opik::cancel_watcher>(ioc_.get_executor(), *runs_, client_, cfg,
                                                    std::chrono::milliseconds(20));
  watcher_->start();
  auto id = create(studio_body);
  wait_for_status(id, "cancelled");
  drain();
  EXPECT_EQ(nlohmann::json::parse(accepted_.back().body)["status"], "cancelled");
  auto polls = std::count_if(fake_->received().begin(), fake_->received().end(),
                             [&](const auto& r) { return r.method == "GET" && r.target.ends_with(id); });
  EXPECT_GE(polls, 1);
}

TEST_F(opik_recording, a_dataset_is_sent_to_opik_once_per_content_not_at_every_run) {
  start_opik();
  auto sent = [&] {
    return std::count_if(accepted_.begin(), accepted_.end(),
                         [](const net::http_request& r) { return r.target == "/api/v1/private/datasets/items"; });
  };
  wait_for_status(create(studio_body), "completed");
  drain();
  EXPECT_EQ(sent(), 1);
  wait_for_status(create(studio_body), "completed");
  drain();
  EXPECT_EQ(sent(), 1);  // Opik has these items already

  // A new item is a new content: the next run sends the dataset again, with it.
  auto item = ids_.next(1'700'000'000'000);
  auto data = db_->dataset_items("skills")->front().data;
  auto put = call("PUT", "/v1/private/datasets/items",
                  nlohmann::json{{"dataset_name", "skills"},
                                 {"items", nlohmann::json::array({{{"id", item}, {"data", data}}})}}
                      .dump());
  ASSERT_EQ(put.status, 204u) << put.body;
  wait_for_status(create(studio_body), "completed");
  drain();
  ASSERT_EQ(sent(), 2);
  auto last = std::find_if(accepted_.rbegin(), accepted_.rend(), [](const net::http_request& r) {
    return r.target == "/api/v1/private/datasets/items";
  });
  auto items = nlohmann::json::parse(last->body)["items"];
  ASSERT_EQ(items.size(), 7u);
  EXPECT_EQ(items[6]["id"], item);
}

TEST_F(opik_recording, the_outbox_sender_reports_a_failure_of_its_own_and_starts_again) {
  std::vector<std::string> reported;
  start_opik({}, true, [&](const std::string& why) { reported.push_back(why); });
  exec_sql("ALTER TABLE outbox RENAME TO outbox_away");  // the store fails under the sender
  sender_->notify();
  test::poll_until(ioc_, [&] { return reported.size() >= 2; });  // reported, started again, reported again
  EXPECT_THAT(reported.at(0), ::testing::HasSubstr("the Opik outbox sender failed: "));
  EXPECT_THAT(reported.at(0), ::testing::HasSubstr("outbox"));
  exec_sql("ALTER TABLE outbox_away RENAME TO outbox");
  auto id = create(studio_body);
  wait_for_status(id, "completed");
  drain();  // delivered: the sender is still there
  EXPECT_FALSE(accepted_.empty());
}

TEST_F(opik_recording, a_refused_write_is_set_aside_and_the_rest_goes_on) {
  // Opik refuses the first experiment (422); the run's other writes still arrive.
  start_opik(
      [refused = false](const net::http_request& r, int) mutable -> std::optional<net::http_response> {
        if (refused || r.target != "/api/v1/private/experiments") return std::nullopt;
        refused = true;
        return net::http_response{422, {}, R"({"errors":["dataset_name must not be blank"]})"};
      },
      false);
  auto id = create(studio_body);
  wait_for_status(id, "completed");
  drain();
  EXPECT_EQ(db_->outbox_state().dead, 1);
  cfg_.opik = config::opik_config{"http://opik", {}, {}, "Optimization"};
  auto health = json_of(call("GET", "/optd/health"));
  EXPECT_EQ(health["opik"]["outbox_pending"], 0);
  EXPECT_EQ(health["opik"]["outbox_refused"], 1);
  EXPECT_EQ(nlohmann::json::parse(accepted_.back().body)["status"], "completed");
  EXPECT_TRUE(accepted_[0].header("authorization").empty());  // no key configured: none sent
  EXPECT_TRUE(accepted_[0].header("comet-workspace").empty());
}

TEST_F(opik_recording, a_run_given_the_id_of_an_optimization_opik_has_adopts_that_record) {
  start_opik();
  const std::string id = "01a0c450-6c00-70b6-a03c-c17d66c8da77";  // made in Opik's UI, say
  seen_ids_.insert(id);  // so Opik answers the create with 409
  std::string body = studio_body;
  body.insert(1, R"("id":")" + id + R"(",)");
  EXPECT_EQ(create(body), id);
  wait_for_status(id, "completed");
  drain();
  auto creates = std::count_if(fake_->received().begin(), fake_->received().end(),
                               [](const auto& r) { return r.target == "/api/v1/private/optimizations"; });
  EXPECT_EQ(creates, 1);  // answered 409: counted as delivered, not retried
  ASSERT_GE(accepted_.size(), 2u);
  EXPECT_EQ(accepted_[1].method + " " + accepted_[1].target, "PUT /api/v1/private/optimizations/" + id);
  EXPECT_EQ(nlohmann::json::parse(accepted_[1].body), nlohmann::json({{"status", "running"}}));
  auto trial = std::find_if(accepted_.begin(), accepted_.end(),
                            [](const auto& r) { return r.target == "/api/v1/private/experiments"; });
  ASSERT_NE(trial, accepted_.end());
  EXPECT_EQ(nlohmann::json::parse(trial->body)["optimization_id"], id);
  EXPECT_EQ(nlohmann::json::parse(accepted_.back().body), nlohmann::json({{"status", "completed"}}));
  EXPECT_EQ(db_->outbox_state().dead, 0);
}

TEST_F(opik_recording, a_long_trial_is_written_as_it_goes_not_only_at_its_end) {
  // The recorder alone, driven as a run executor drives it, with the clock moving 10 s an answer.
  opik::recorder rec(*db_, clock_, "opik", "Optimization");
  store::run_record run;
  run.id = ids_.next(1);
  run.name = "long";
  run.status = core::run_status::running;
  run.objective_name = "equals";
  run.dataset_name = "skills";
  db_->insert_run(run);
  core::run_spec spec;
  spec.optimizer.type = "meta_prompt";
  rec.run_started(run, spec);
  store::trial_record trial;
  trial.id = ids_.next(2);
  trial.run_id = run.id;
  trial.number = 1;
  trial.prompt_json = R"([{"role":"user","content":"{{question}}"}])";
  db_->insert_trial(trial);
  auto items = *db_->dataset_items("skills");
  std::vector<store::evaluation_record> evaluations;
  for (const auto& item : items) {
    store::evaluation_record e;
    e.id = ids_.next(3);
    e.run_id = run.id;
    e.trial_id = trial.id;
    e.item_id = item.id;
    e.status = "completed";
    e.output = "answer";
    e.objective = 1.0;
    evaluations.push_back(e);
  }
  std::vector<const store::evaluation_record*> rows;
  for (const auto& e : evaluations) rows.push_back(&e);
  db_->begin_evaluations(rows);

  auto sent = [&] {
    std::vector<std::string> out;
    for (const auto& m : db_->outbox_head(100)) out.push_back(m.method + " " + m.path);
    return out;
  };
  auto items_sent = [&] {
    std::size_t n = 0;
    for (const auto& m : db_->outbox_head(100))
      if (m.path == "/v1/private/experiments/items") n += nlohmann::json::parse(m.body)["experiment_items"].size();
    return n;
  };
  auto at_start = sent().size();  // the dataset, the optimization, its status
  for (std::size_t i = 0; i < 5; ++i) {
    clock_.advance(10s);
    rec.evaluation_finished(run, evaluations[i]);
  }
  EXPECT_EQ(sent().size(), at_start);  // 50 s: nothing yet
  clock_.advance(10s);
  rec.evaluation_finished(run, evaluations[5]);  // a minute since the run started
  auto all = sent();
  EXPECT_THAT(std::vector<std::string>(all.begin() + static_cast<std::ptrdiff_t>(at_start), all.end()),
              ElementsAreArray(std::vector<std::string>{
                  "POST /v1/private/experiments", "POST /v1/private/traces/batch", "POST /v1/private/spans/batch",
                  "PUT /v1/private/traces/feedback-scores", "POST /v1/private/experiments/items"}));
  EXPECT_EQ(items_sent(), 6u);
  rec.trial_finished(run, trial);  // nothing left: no second experiment, no item twice
  EXPECT_EQ(sent().size(), at_start + 5);
  EXPECT_EQ(items_sent(), 6u);
}

// Opik's side of a dataset: retrieve by name, and the item stream page by page ("\r\n"-separated
// JSON, steam_limit, last_retrieved_id). The first stream request gets a 503.
class opik_datasets : public opik_recording {
 protected:
  void serve_dataset(std::string name, std::vector<nlohmann::json> rows,
                     core::retry_policy retry = {3, std::chrono::milliseconds(1), std::chrono::milliseconds(5)}) {
    for (std::size_t i = 0; i < rows.size(); ++i)
      items_.push_back({core::derived_uuid_v7(dataset_id_, "item " + std::to_string(i)), std::move(rows[i])});
    start_opik([this, name](const net::http_request& r, int) -> std::optional<net::http_response> {
      auto body = nlohmann::json::parse(r.body, nullptr, false);
      if (r.target == "/api/v1/private/datasets/retrieve") {
        if (body.value("dataset_name", "") != name) return net::http_response{404, {}, R"({"code":404,"message":"Dataset not found"})"};
        return net::http_response{200, {{"Content-Type", "application/json"}},
                                  nlohmann::json{{"id", dataset_id_}, {"name", name}}.dump()};
      }
      if (r.target != "/api/v1/private/datasets/items/stream") return std::nullopt;
      streams_.push_back(body);
      if (streams_.size() == 1 || unavailable_) return net::http_response{503, {}, R"({"code":503,"message":"unavailable"})"};
      auto after = body.value("last_retrieved_id", std::string());
      std::size_t first = 0;
      while (!after.empty() && first < items_.size() && items_[first].id != after) ++first;
      if (!after.empty()) ++first;
      std::string out;
      for (auto i = first; i < std::min(items_.size(), first + body.value("steam_limit", std::size_t{500})); ++i)
        out += nlohmann::json{{"id", items_[i].id}, {"data", items_[i].data}, {"source", "sdk"}}.dump() + "\r\n";
      return net::http_response{200, {{"Content-Type", "application/octet-stream"}}, out};
    });
    reader_ = std::make_unique<opik::dataset_reader>(
        ioc_.get_executor(), client_, opik_cfg_, retry, 2);
    opik_datasets_ = reader_.get();
    cfg_.opik = opik_cfg_;  // the API now takes a dataset it does not store to be Opik's
  }

  static std::string with_dataset(const std::string& name) {
    std::string body = studio_body;
    for (auto at = body.find("\"skills\""); at != std::string::npos; at = body.find("\"skills\""))
      body.replace(at, 8, "\"" + name + "\"");
    return body;
  }

  std::string run_error(const std::string& id) { return db_->find_run(id)->error; }

  const std::string dataset_id_ = "01a0c450-6c00-70b6-a03c-c17d66c8da00";
  std::vector<core::dataset_item> items_;
  std::vector<nlohmann::json> streams_;
  std::unique_ptr<opik::dataset_reader> reader_;
  bool unavailable_ = false;  // every stream request gets a 503
};

TEST_F(opik_datasets, a_run_whose_dataset_is_in_opik_reads_it_there_page_by_page_and_links_its_items) {
  std::vector<nlohmann::json> rows;
  for (int i = 0; i < 5; ++i)
    rows.push_back({{"question", "What is " + std::to_string(i) + " + 2?"}, {"answer", std::to_string(i + 2)}});
  serve_dataset("remote-skills", rows);
  auto id = create(with_dataset("remote-skills"));
  wait_for_status(id, "completed");
  drain();

  // The stream, two items a page: a 503 retried, then pages after nothing, item 2 and item 4.
  ASSERT_EQ(streams_.size(), 4u);
  EXPECT_EQ(streams_[1].value("dataset_name", ""), "remote-skills");
  EXPECT_EQ(streams_[1].value("steam_limit", 0), 2);
  EXPECT_FALSE(streams_[1].contains("last_retrieved_id"));
  EXPECT_EQ(streams_[2]["last_retrieved_id"], items_[1].id);
  EXPECT_EQ(streams_[3]["last_retrieved_id"], items_[3].id);
  for (const auto& r : fake_->received()) EXPECT_EQ(r.header("comet-workspace"), "team-ws");

  // Stored with Opik's ids, and the experiment items sent back link to them.
  auto stored = db_->dataset_items("remote-skills");
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ((*stored)[i].id, items_[i].id);
  std::set<std::string> opik_ids, linked;
  for (const auto& it : items_) opik_ids.insert(it.id);
  for (const auto& r : accepted_) {
    if (r.target != "/api/v1/private/experiments/items") continue;
    auto body = nlohmann::json::parse(r.body);
    for (const auto& item : body["experiment_items"]) linked.insert(item["dataset_item_id"].get<std::string>());
  }
  EXPECT_EQ(linked, opik_ids);
  EXPECT_EQ(accepted_[0].target, "/api/v1/private/optimizations");  // no dataset upload: Opik has it
  EXPECT_EQ(nlohmann::json::parse(accepted_[0].body)["dataset_name"], "remote-skills");
}

TEST_F(opik_datasets, a_dataset_opik_does_not_have_fails_the_run_and_says_so_in_opik) {
  serve_dataset("remote-skills", {nlohmann::json{{"question", "q"}, {"answer", "a"}}});
  auto id = create(with_dataset("nowhere"));  // accepted: optd cannot know before it asks Opik
  wait_for_status(id, "error");
  drain();
  EXPECT_EQ(run_error(id), "reading dataset 'nowhere' from Opik: Opik has no such dataset in workspace 'team-ws'");
  EXPECT_THAT(paths(), ElementsAreArray(std::vector<std::string>{"POST /api/v1/private/optimizations",
                                                                 "PUT /api/v1/private/optimizations/" + id,
                                                                 "PUT /api/v1/private/optimizations/" + id}));
  auto last = nlohmann::json::parse(accepted_.back().body);
  EXPECT_EQ(last["status"], "error");
  EXPECT_EQ(last["error_info"]["message"], run_error(id));
  EXPECT_EQ(last["error_info"]["exception_type"], "DatasetNotFoundError");  // the name Opik's own worker uses
  EXPECT_THAT(last["error_info"]["traceback"].get<std::string>(), ::testing::HasSubstr("stopped before its first trial"));
}

TEST_F(opik_datasets, the_prompts_variables_are_checked_against_the_fields_read_from_opik) {
  serve_dataset("remote-skills", {nlohmann::json{{"query", "What is 2 + 2?"}, {"answer", "4"}}});
  auto id = create(with_dataset("remote-skills"));
  wait_for_status(id, "error");
  EXPECT_THAT(run_error(id), ::testing::HasSubstr("variable {{question}} is not a field of any item of dataset "
                                                  "'remote-skills' (fields: answer, query)"));
  auto got = nlohmann::json::parse(call("GET", "/v1/private/optimizations/" + id).body);
  EXPECT_EQ(got["error_info"]["exception_type"], "InvalidConfigError");
}

TEST_F(opik_datasets, a_run_waiting_for_opik_to_give_its_dataset_can_be_cancelled) {
  unavailable_ = true;  // Opik keeps answering 503; the reader keeps waiting, up to a minute a time
  serve_dataset("remote-skills", {nlohmann::json{{"question", "q"}, {"answer", "a"}}},
                {1000, std::chrono::seconds(60), std::chrono::seconds(60)});
  auto id = create(with_dataset("remote-skills"));
  test::poll_until(ioc_, [&] { return !streams_.empty(); });
  EXPECT_EQ(status_of(id), "initialized");  // not started until it has its dataset
  EXPECT_EQ(call("GET", "/v1/private/optimizations/studio/" + id + "/cancel").status, 204u);
  wait_for_status(id, "cancelled");
  test::poll_until(ioc_, [&] { return !runs_->active(id); });  // the reader stopped waiting
  EXPECT_EQ(streams_.size(), 1u);
}

}  // namespace
}  // namespace optd::api

namespace optd::api {
namespace {

// A Studio job of another workspace writes to Opik as that workspace, with its user's key; the
// daemon's other runs keep the opik: section's.
TEST_F(opik_recording, a_run_that_is_someone_else_in_opik_writes_as_them) {
  start_opik();
  sender_->identify([](const std::string& run_id) -> std::optional<opik::run_identity> {
    if (run_id == "job-run") return opik::run_identity{"job-ws", "job-key-456"};
    return std::nullopt;
  });
  db_->enqueue({{0, "job-run", "PUT", "/v1/private/optimizations/job-run", R"({"status":"running"})", 0, 0, ""},
                {0, "own-run", "PUT", "/v1/private/optimizations/own-run", R"({"status":"running"})", 0, 0, ""}},
               clock_.now_ms());
  sender_->notify();
  drain();
  ASSERT_EQ(accepted_.size(), 2u);
  EXPECT_EQ(accepted_[0].header("authorization"), "job-key-456");
  EXPECT_EQ(accepted_[0].header("comet-workspace"), "job-ws");
  EXPECT_EQ(accepted_[1].header("authorization"), "opik-key-123");
  EXPECT_EQ(accepted_[1].header("comet-workspace"), "team-ws");
}

}  // namespace
}  // namespace optd::api
