// The engine end to end in one process: the real provider over loopback HTTP to an in-process
// llm-sim, a real store in a temp dir, and a fake clock (retry waits and durations are instant).
#include "engine/run_executor.hpp"

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/run_config.hpp"
#include "plugins/providers/openai_compatible.hpp"
#include "plugins/registry.hpp"
#include "sim_server.hpp"
#include "support/test_support.hpp"

namespace optd::engine {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class engine_test : public ::testing::Test {
 protected:
  void start(sim::server_config sim_config = {}) {
    sim_ = std::make_unique<sim::sim_server>(ioc_.get_executor(), sim_config);
    server_ = std::make_unique<net::http_server>(ioc_.get_executor(),
                                                 [this](net::http_request r) { return sim_->handle(std::move(r)); });
    auto port = server_->listen("127.0.0.1", 0);
    server_->start();
    plugins::openai_compatible_settings s;
    s.base = *net::parse_url("http://127.0.0.1:" + std::to_string(port) + "/v1");
    s.retry = {3, 100ms, 1s};
    provider_ = std::make_unique<plugins::openai_compatible>(client_, clock_, s, 1);
    db_ = std::make_unique<store::store>(test::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
                                         "/optd.db");
    env_ = std::make_unique<run_environment>(run_environment{
        *db_, clock_, ids_, [this](std::string_view) -> core::llm_provider* { return provider_.get(); },
        [this](std::string_view, std::string_view) { return price_; }, {}});
  }

  // An executor of a shipped example config (`edit` applied to its spec), with its own optimizer
  // or `opt`, under `run_id` (a new one when empty).
  std::unique_ptr<run_executor> example(const std::string& file, const std::function<void(core::run_spec&)>& edit = {},
                                        run_executor::progress_sink sink = {}, std::unique_ptr<core::optimizer> opt = {},
                                        std::string run_id = {}) {
    auto loaded = config::load_run_config_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/" + file);
    EXPECT_TRUE(loaded.ok());
    auto& spec = loaded.spec;
    if (edit) edit(spec);
    int n = 0;
    db_->put_dataset(spec.dataset_name, loaded.dataset_rows, loaded.dataset_hash,
                     [&] { return "item-" + std::to_string(++n); }, 0);
    auto items = *db_->dataset_items(spec.dataset_name);
    std::vector<std::unique_ptr<core::evaluation_metric>> metrics;
    for (const auto& m : spec.metrics) metrics.push_back(plugins::make_metric(m, spec, items));
    if (!opt) opt = plugins::make_optimizer(spec);
    return std::make_unique<run_executor>(*env_, spec, items, std::move(opt), std::move(metrics),
                                          run_id.empty() ? env_->new_id() : run_id, std::move(sink));
  }

  // The shipped demo config, with `edit` applied to the spec.
  std::unique_ptr<run_executor> demo(const std::function<void(core::run_spec&)>& edit = {},
                                     run_executor::progress_sink sink = {}) {
    return example("demo.yaml", edit, std::move(sink));
  }

  store::run_record run(run_executor& ex) { return *test::run(ioc_, ex.run()); }

  // An executor of the demo config (its spec and dataset) with another optimizer, under `run_id`.
  std::unique_ptr<run_executor> with(std::unique_ptr<core::optimizer> opt, const std::string& run_id,
                                     const std::function<void(core::run_spec&)>& edit = {},
                                     run_executor::progress_sink sink = {}) {
    return example("demo.yaml", edit, std::move(sink), std::move(opt), run_id);
  }

  // Every coroutine that points at the simulator finishes before the fixture's members go.
  void TearDown() override {
    if (!server_) return;
    server_->stop();
    sim_->stop();
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(ioc_.stopped()) << "work left on the io_context after stop";
  }

  asio::io_context ioc_;
  test::fake_clock clock_;
  core::uuid_v7_generator ids_{9};
  net::http_client client_{ioc_.get_executor(), nullptr};
  std::unique_ptr<sim::sim_server> sim_;
  std::unique_ptr<net::http_server> server_;
  std::unique_ptr<plugins::openai_compatible> provider_;
  std::unique_ptr<store::store> db_;
  std::unique_ptr<run_environment> env_;
  core::model_price price_{1.0, 2.0};
};

TEST_F(engine_test, the_demo_improves_and_the_store_holds_every_trial_and_evaluation) {
  start();
  auto ex = demo();
  auto r = run(*ex);
  EXPECT_EQ(r.status, core::run_status::completed);
  ASSERT_TRUE(r.baseline_score && r.best_score);
  EXPECT_LT(*r.baseline_score, 0.1);
  EXPECT_GT(*r.best_score, *r.baseline_score + 0.5);

  auto stored = db_->find_run(r.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, core::run_status::completed);
  EXPECT_EQ(stored->best_score, r.best_score);
  auto trials = db_->trials(r.id);
  ASSERT_GE(trials.size(), 2u);
  EXPECT_EQ(trials[0].origin, "baseline");
  std::int64_t evaluations = 0;
  for (const auto& t : trials) {
    auto evals = db_->evaluations(t.id);
    EXPECT_EQ(evals.size(), 26u) << "trial " << t.number;
    for (const auto& e : evals) {
      EXPECT_EQ(e.status, "completed");
      EXPECT_THAT(e.request_json, ::testing::HasSubstr("\"model\":\"sim-small\""));
      EXPECT_TRUE(e.objective.has_value());
      EXPECT_GT(e.tokens.prompt_tokens, 0);
    }
    evaluations += static_cast<std::int64_t>(evals.size());
  }
  auto reasoning = db_->llm_calls(r.id);
  EXPECT_FALSE(reasoning.empty());
  // Every LLM call the simulator answered is in the store, and none was asked twice.
  EXPECT_EQ(sim_->stats().completions, static_cast<std::uint64_t>(evaluations) + reasoning.size());
  EXPECT_EQ(sim_->stats().duplicate_completions, 0u);
  EXPECT_EQ(r.llm_calls, evaluations + static_cast<std::int64_t>(reasoning.size()));
  EXPECT_GT(r.cost_usd, 0);
  EXPECT_FALSE(db_->logs(r.id).empty());
}

// An optimizer that exercises the contract: the baseline, then three experiments at once (a
// mini-batch and a mutation on subsets, a trial of a child), then two reasoning calls at once.
class probe final : public core::optimizer {
 public:
  explicit probe(bool reversed = false) : reversed_(reversed) {}
  boost::asio::awaitable<core::optimizer_outcome> run(core::optimizer_context& ctx, core::candidate seed) override {
    auto base = co_await core::evaluate_or_fail(ctx, seed);
    results.push_back(base);
    const auto& items = ctx.sample();
    auto child_prompt = seed.messages;
    child_prompt[0].content += " Reply with only the final answer, nothing else.";
    core::candidate child{child_prompt, "child", {seed.id()}, 1};
    std::vector<core::evaluation_request> batch(3);
    batch[0].candidate = seed;
    batch[0].type = core::experiment_type::mini_batch;
    batch[0].item_ids = mini_batch = {items[7].id, items[2].id, items[4].id, items[0].id, items[9].id};
    batch[1].candidate = child;
    batch[1].type = core::experiment_type::mutation;
    batch[1].item_ids = {items[3].id, items[1].id, items[5].id};
    batch[1].metadata = {{"batch_index", 1}, {"configuration", {{"gepa", {{"phase", "minibatch"}}}}}};
    batch[2].candidate = child;
    if (reversed_) std::reverse(batch.begin(), batch.end());
    auto out = co_await ctx.evaluate_all(std::move(batch));
    if (reversed_) std::reverse(out.begin(), out.end());
    for (auto& r : out) results.push_back(std::move(r));
    std::vector<core::chat_request> questions(2);
    for (int i = 0; i < 2; ++i) {
      questions[static_cast<std::size_t>(i)].model = "sim-reasoner";
      questions[static_cast<std::size_t>(i)].messages = {{core::role::system, "You are a prompt engineer."},
                                                         {core::role::user, "Propose exactly " + std::to_string(i + 1) + " prompts."}};
    }
    replies = co_await ctx.reason_all(std::move(questions));
    counts = ctx.counts();
    co_return core::optimizer_outcome{core::finish_reason::completed, {}};
  }
  std::vector<core::evaluation_result> results;
  std::vector<core::completion_result> replies;
  core::run_counts counts;
  std::vector<std::string> mini_batch;

 private:
  bool reversed_;
};

TEST_F(engine_test, experiments_of_several_types_on_subsets_run_at_once_and_are_recorded_as_such) {
  start({.latency_ms = 2});
  auto opt = std::make_unique<probe>();
  auto& p = *opt;
  auto ex = with(std::move(opt), env_->new_id(), [](core::run_spec& s) { s.limits.max_concurrency = 4; });
  auto r = run(*ex);
  ASSERT_EQ(r.status, core::run_status::completed) << r.error;
  ASSERT_EQ(p.results.size(), 4u);
  // Results per item, in the order asked, with their ids, scores and costs.
  const auto& mini = p.results[1];
  EXPECT_EQ(mini.type, core::experiment_type::mini_batch);
  ASSERT_EQ(mini.items.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(mini.items[i].item->id, p.mini_batch[i]);
  for (const auto& i : mini.items) {
    EXPECT_FALSE(i.failed);
    ASSERT_EQ(i.scores.size(), 2u);
    EXPECT_EQ(i.scores[0].name, "equals");
    EXPECT_GT(i.tokens.prompt_tokens, 0);
    EXPECT_GT(i.cost_usd, 0);
  }
  // The child does better than the seed: "only the final answer" drops "Sure! The answer is".
  EXPECT_GT(*p.results[3].score, *p.results[0].score);
  EXPECT_EQ((std::vector<int>{p.results[0].number, p.results[1].number, p.results[2].number, p.results[3].number}),
            (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(p.counts.trials, 2);
  EXPECT_EQ(p.counts.mini_batches, 1);
  EXPECT_EQ(p.counts.mutations, 1);
  EXPECT_EQ(p.counts.item_evaluations, 26 + 5 + 3 + 26);
  EXPECT_EQ(p.counts.reasoning_calls, 2);
  ASSERT_EQ(p.replies.size(), 2u);
  EXPECT_TRUE(p.replies[0] && p.replies[1]);
  // The three ran together within the run's max_concurrency.
  EXPECT_LE(sim_->stats().max_in_flight, 4u);
  EXPECT_GE(sim_->stats().max_in_flight, 3u);

  auto trials = db_->trials(r.id);
  ASSERT_EQ(trials.size(), 4u);
  EXPECT_EQ(trials[1].type, "mini-batch");
  EXPECT_EQ(trials[2].type, "mutation");
  EXPECT_EQ(trials[3].type, "trial");
  EXPECT_EQ(trials[1].candidate_id, trials[0].candidate_id);  // the seed on a mini-batch
  EXPECT_EQ(trials[2].candidate_id, trials[3].candidate_id);  // one child, two experiments
  EXPECT_NE(trials[2].candidate_id, trials[0].candidate_id);
  EXPECT_EQ(db_->evaluations(trials[1].id).size(), 5u);
  auto meta = nlohmann::json::parse(trials[2].metadata_json);
  EXPECT_EQ(meta["candidate_id"], trials[2].candidate_id);
  EXPECT_EQ(meta["parent_candidate_ids"], nlohmann::json::array({trials[0].candidate_id}));
  EXPECT_EQ(meta["step_index"], 1);
  EXPECT_EQ(meta["batch_index"], 1);
  EXPECT_EQ(meta["num_items"], 3);
  EXPECT_EQ(meta["configuration"]["gepa"]["phase"], "minibatch");
  EXPECT_THAT(meta["configuration"]["prompt"][0]["content"].get<std::string>(), ::testing::HasSubstr("only the final answer"));
  // Screenings never win: the best is the child's trial, not a partial mutation of 3 items.
  EXPECT_EQ(r.best_trial_id, trials[3].id);
}

TEST_F(engine_test, a_resumed_run_finds_its_experiments_and_calls_by_what_was_asked_not_by_their_numbers) {
  start();
  auto id = env_->new_id();
  auto first = std::make_unique<probe>();
  auto& a = *first;
  auto first_run = with(std::move(first), id);
  auto r = run(*first_run);
  ASSERT_EQ(r.status, core::run_status::completed);
  auto answered = sim_->stats().completions;

  // The same run again, its concurrent experiments asked in the other order: every answer comes
  // from the journal, none from the simulator, and each experiment keeps its id and number.
  auto second = std::make_unique<probe>(true);
  auto& b = *second;
  auto second_run = with(std::move(second), id);
  auto again = run(*second_run);
  ASSERT_EQ(again.status, core::run_status::completed);
  EXPECT_EQ(sim_->stats().completions, answered);
  ASSERT_EQ(b.results.size(), a.results.size());
  for (std::size_t i = 0; i < a.results.size(); ++i) {
    EXPECT_EQ(b.results[i].experiment_id, a.results[i].experiment_id);
    EXPECT_EQ(b.results[i].number, a.results[i].number);
    EXPECT_EQ(b.results[i].score, a.results[i].score);
    ASSERT_EQ(b.results[i].items.size(), a.results[i].items.size());
    for (std::size_t k = 0; k < a.results[i].items.size(); ++k)
      EXPECT_EQ(b.results[i].items[k].output, a.results[i].items[k].output);
  }
  EXPECT_EQ(b.replies[1]->text, a.replies[1]->text);
  EXPECT_EQ(db_->trials(id).size(), 4u);
}

// Three trials at once, on three prompts.
class three_at_once final : public core::optimizer {
 public:
  boost::asio::awaitable<core::optimizer_outcome> run(core::optimizer_context& ctx, core::candidate seed) override {
    std::vector<core::evaluation_request> batch(3);
    for (int i = 0; i < 3; ++i) {
      batch[static_cast<std::size_t>(i)].candidate = seed;
      batch[static_cast<std::size_t>(i)].candidate.messages[0].content += " Variant " + std::to_string(i) + ".";
    }
    auto out = co_await ctx.evaluate_all(std::move(batch));
    for (const auto& r : out) cancelled += r.cancelled;
    co_return core::stopped();
  }
  int cancelled = 0;
};

TEST_F(engine_test, a_cancel_stops_every_experiment_in_flight_and_leaves_their_unsent_work_pending) {
  start({.latency_ms = 1});
  auto opt = std::make_unique<three_at_once>();
  auto& o = *opt;
  run_executor* self = nullptr;
  auto ex = with(std::move(opt), env_->new_id(), [](core::run_spec& s) { s.limits.max_concurrency = 3; },
                 [&](const run_progress& p) {
                   if (p.evals_done >= 5 && self) self->cancel();
                 });
  self = ex.get();
  auto r = run(*ex);
  EXPECT_EQ(r.status, core::run_status::cancelled);
  EXPECT_EQ(o.cancelled, 3);
  auto trials = db_->trials(r.id);
  ASSERT_EQ(trials.size(), 3u);
  for (const auto& t : trials) EXPECT_EQ(t.status, "cancelled");
  auto pending = db_->count_evaluations(r.id, "pending");
  EXPECT_GT(pending, 0);
  EXPECT_EQ(db_->count_evaluations(r.id, "completed") + pending, 3 * 26);
  // Three experiments took the three slots in turn: none ran alone.
  for (const auto& t : trials) EXPECT_GT(t.evaluated_count, 0) << t.number;
}

TEST_F(engine_test, each_studio_optimizer_improves_the_demo_baseline_on_the_simulator) {
  start();
  for (const char* file : {"demo-gepa.yaml", "demo-hierarchical-reflective.yaml", "demo-evolutionary.yaml"}) {
    SCOPED_TRACE(file);
    auto ex = example(file);
    auto r = run(*ex);
    ASSERT_EQ(r.status, core::run_status::completed) << r.error;
    ASSERT_TRUE(r.baseline_score && r.best_score);
    EXPECT_LT(*r.baseline_score, 0.1);
    EXPECT_GT(*r.best_score, *r.baseline_score + 0.5);
    // Every call the optimizer's reasoning model answered is journaled, costed and counted.
    auto calls = db_->llm_calls(r.id);
    EXPECT_FALSE(calls.empty());
    for (const auto& c : calls) EXPECT_GT(c.cost_usd, 0);
    EXPECT_EQ(r.llm_calls, db_->count_evaluations(r.id) + static_cast<std::int64_t>(calls.size()));
  }
}

TEST_F(engine_test, the_same_seed_gives_the_same_run) {
  start();
  auto a = run(*demo());
  auto b = run(*demo());
  EXPECT_EQ(a.best_score, b.best_score);
  EXPECT_EQ(db_->trials(a.id).size(), db_->trials(b.id).size());
  EXPECT_EQ(db_->trials(a.id).back().prompt_json, db_->trials(b.id).back().prompt_json);
}

TEST_F(engine_test, cancel_mid_trial_records_the_run_as_cancelled_and_leaves_unsent_work_pending) {
  start({.latency_ms = 1});
  run_executor* self = nullptr;
  auto ex = demo({}, [&](const run_progress& p) {
    if (p.evals_done == 5 && self) self->cancel();
  });
  self = ex.get();
  auto r = run(*ex);
  EXPECT_EQ(r.status, core::run_status::cancelled);
  EXPECT_EQ(r.finish_reason, "cancelled");
  auto trials = db_->trials(r.id);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].status, "cancelled");
  EXPECT_GT(db_->count_evaluations(r.id, "pending"), 0);
  EXPECT_EQ(db_->count_evaluations(r.id, "completed") + db_->count_evaluations(r.id, "pending"), 26);
}

TEST_F(engine_test, max_cost_stops_the_run_with_finish_reason_budget) {
  start();
  price_ = {1000.0, 1000.0};  // $1000 per million tokens: the baseline alone costs more than $0.10
  auto ex = demo([](core::run_spec& s) { s.limits.max_cost_usd = 0.10; });
  auto r = run(*ex);
  EXPECT_EQ(r.status, core::run_status::completed);
  EXPECT_EQ(r.finish_reason, "budget");
  EXPECT_EQ(db_->trials(r.id).size(), 1u);
}

// Each call holds its worst case (prompt bytes as tokens, max_tokens 64) before it is sent, so the
// calls in flight together (max_concurrency 8) cannot take a run past its cap, wherever the cap is.
TEST_F(engine_test, max_cost_usd_is_never_exceeded_by_the_calls_in_flight_together) {
  start();
  price_ = {1000.0, 1000.0};  // a task call's worst case: about $0.17 (its prompt's bytes and 64 tokens)
  for (double cap : {0.05, 0.37, 1.0, 2.5}) {
    auto ex = demo([&](core::run_spec& s) { s.limits.max_cost_usd = cap; });
    auto r = run(*ex);
    EXPECT_EQ(r.finish_reason, "budget") << cap;
    EXPECT_LE(r.cost_usd, cap) << cap;
    EXPECT_NEAR(r.cost_usd, db_->journaled_spend(r.id), 1e-9) << cap;
    bool said = false;
    for (const auto& [ts, line] : db_->logs(r.id)) said |= line.find("so it was not sent") != std::string::npos;
    EXPECT_TRUE(said) << cap;
    if (cap < 0.17) EXPECT_EQ(r.cost_usd, 0) << cap;  // not even one call could be paid for
    else EXPECT_GT(r.cost_usd, 0.25) << cap;          // calls waited for others to settle, then went out
  }
}

TEST_F(engine_test, judge_calls_hold_their_worst_case_too_and_the_run_reports_what_its_journal_spent) {
  start();
  price_ = {1000.0, 1000.0};
  auto ex = example("demo-geval.yaml", [](core::run_spec& s) { s.limits.max_cost_usd = 8.0; });
  auto r = run(*ex);
  EXPECT_EQ(r.finish_reason, "budget");
  EXPECT_LE(r.cost_usd, 8.0);
  // Answers whose verdicts the budget could not pay for are spent money too.
  EXPECT_NEAR(r.cost_usd, db_->journaled_spend(r.id), 1e-9);
  double judged = 0;
  for (const auto& t : db_->trials(r.id))
    for (const auto& e : db_->evaluations(t.id)) judged += e.judge_cost_usd;
  EXPECT_GT(judged, 0);
}

TEST_F(engine_test, a_provider_that_always_fails_ends_the_run_in_error_with_the_reason) {
  start({.fail_rate = 1.0});
  auto r = run(*demo());
  EXPECT_EQ(r.status, core::run_status::error);
  EXPECT_THAT(r.error, ::testing::HasSubstr("all 26 evaluations of trial 1 failed"));
  EXPECT_THAT(r.error, ::testing::HasSubstr("HTTP 503"));
  EXPECT_EQ(db_->count_evaluations(r.id, "failed"), 26);
  EXPECT_EQ(sim_->stats().failed, 26u * 3u);  // three attempts each, waits on the fake clock
}

TEST_F(engine_test, transient_faults_are_retried_without_losing_evaluations) {
  start({.fail_rate = 0.2, .reset_rate = 0.1, .fault_seed = 3});
  auto r = run(*demo([](core::run_spec& s) { s.limits.max_trials = 3; }));
  EXPECT_EQ(r.status, core::run_status::completed);
  EXPECT_GT(sim_->stats().failed + sim_->stats().reset, 0u);
  EXPECT_EQ(db_->count_evaluations(r.id, "pending"), 0);
}

}  // namespace
}  // namespace optd::engine
