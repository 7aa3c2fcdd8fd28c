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

  // The shipped demo config, with `edit` applied to the spec.
  std::unique_ptr<run_executor> demo(const std::function<void(core::run_spec&)>& edit = {},
                                     run_executor::progress_sink sink = {}) {
    auto loaded = config::load_run_config_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml");
    EXPECT_TRUE(loaded.ok());
    auto& spec = loaded.spec;
    if (edit) edit(spec);
    int n = 0;
    db_->put_dataset(spec.dataset_name, loaded.dataset_rows, loaded.dataset_hash,
                     [&] { return "item-" + std::to_string(++n); }, 0);
    auto items = *db_->dataset_items(spec.dataset_name);
    std::vector<std::unique_ptr<core::evaluation_metric>> metrics;
    for (const auto& m : spec.metrics) metrics.push_back(plugins::make_metric(m, items));
    auto opt = plugins::make_optimizer(spec.optimizer, spec.llm_model.model);
    return std::make_unique<run_executor>(*env_, spec, items, std::move(opt), std::move(metrics), env_->new_id(),
                                          std::move(sink));
  }

  store::run_record run(run_executor& ex) { return *test::run(ioc_, ex.run()); }

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
  EXPECT_EQ(r.status, "completed");
  ASSERT_TRUE(r.baseline_score && r.best_score);
  EXPECT_LT(*r.baseline_score, 0.1);
  EXPECT_GT(*r.best_score, *r.baseline_score + 0.5);

  auto stored = db_->find_run(r.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, "completed");
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
  EXPECT_EQ(r.status, "cancelled");
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
  EXPECT_EQ(r.status, "completed");
  EXPECT_EQ(r.finish_reason, "budget");
  EXPECT_EQ(db_->trials(r.id).size(), 1u);
}

TEST_F(engine_test, a_provider_that_always_fails_ends_the_run_in_error_with_the_reason) {
  start({.fail_rate = 1.0});
  auto r = run(*demo());
  EXPECT_EQ(r.status, "error");
  EXPECT_THAT(r.error, ::testing::HasSubstr("all 26 evaluations of trial 1 failed"));
  EXPECT_THAT(r.error, ::testing::HasSubstr("HTTP 503"));
  EXPECT_EQ(db_->count_evaluations(r.id, "failed"), 26);
  EXPECT_EQ(sim_->stats().failed, 26u * 3u);  // three attempts each, waits on the fake clock
}

TEST_F(engine_test, transient_faults_are_retried_without_losing_evaluations) {
  start({.fail_rate = 0.2, .reset_rate = 0.1, .fault_seed = 3});
  auto r = run(*demo([](core::run_spec& s) { s.limits.max_trials = 3; }));
  EXPECT_EQ(r.status, "completed");
  EXPECT_GT(sim_->stats().failed + sim_->stats().reset, 0u);
  EXPECT_EQ(db_->count_evaluations(r.id, "pending"), 0);
}

}  // namespace
}  // namespace optd::engine
