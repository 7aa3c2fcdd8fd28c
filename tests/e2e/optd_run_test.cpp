// The real binaries as a user runs them: llm-sim on a free port, optd run / validate / results.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/store.hpp"
#include "support/child_process.hpp"
#include "support/test_support.hpp"

namespace optd {
namespace {

using ::testing::HasSubstr;

using process = test::child_process;
using test::eventually;

class e2e : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name()); }
  void TearDown() override {
    if (sim_.pid > 0) {
      sim_.signal(SIGTERM);
      sim_.wait();
    }
  }

  std::string start_sim(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{LLM_SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", dir_ + "/port"};
    args.insert(args.end(), extra.begin(), extra.end());
    sim_ = process::start(args, dir_, "sim");
    EXPECT_TRUE(eventually([&] { return std::filesystem::exists(dir_ + "/port"); })) << sim_.err();
    auto port = test::read_file(dir_ + "/port");
    return "OPTD_SIM_URL=http://127.0.0.1:" + port.substr(0, port.find('\n')) + "/v1";
  }

  process optd(std::vector<std::string> args, const std::string& tag, std::vector<std::string> env = {}) {
    std::vector<std::string> full{OPTD_BIN, "--config", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml",
                                  "--state-dir", dir_ + "/state"};
    full.insert(full.end(), args.begin(), args.end());
    return process::start(full, dir_, tag, std::move(env));
  }

  std::string dir_;
  process sim_;
};

TEST_F(e2e, optd_run_improves_the_demo_prompt_and_results_reads_it_back) {
  auto env = start_sim();
  auto run = optd({"run", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"}, "run", {env});
  ASSERT_EQ(run.wait(), 0) << run.err();
  auto out = run.out();
  EXPECT_THAT(out, HasSubstr("status      completed"));
  EXPECT_THAT(out, HasSubstr("baseline    0.0"));
  EXPECT_THAT(out, HasSubstr("best prompt:"));
  EXPECT_THAT(out, HasSubstr("[user] {{question}}"));
  store::store db(dir_ + "/state/optd.db");
  auto runs = db.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  // One line per event, naming the run and the trial (its id is the trial's Opik experiment's).
  auto first = db.trials(runs[0].id).at(0);
  EXPECT_THAT(run.err(), HasSubstr("optd: run " + runs[0].id.substr(0, 8) + ": trial 1 [" + first.id +
                                   "] (baseline) started\n"));
  auto results = optd({"results", "--json", runs[0].id.substr(0, 13)}, "results");
  ASSERT_EQ(results.wait(), 0) << results.err();
  auto j = nlohmann::json::parse(results.out());
  EXPECT_GT(j["best_objective_score"].get<double>(), j["baseline_objective_score"].get<double>());
  EXPECT_EQ(j["num_trials"], db.trials(runs[0].id).size());
  EXPECT_EQ(j["failed_evaluations"], 0);
  EXPECT_GT(j["total_optimization_cost"].get<double>(), 0);
  for (const auto& t : db.trials(runs[0].id)) EXPECT_EQ(db.evaluations(t.id).size(), 26u);
}

TEST_F(e2e, optd_validate_lists_every_problem_and_exits_78) {
  std::ofstream(dir_ + "/bad.yaml") << "name: x\ndataset_file: missing.jsonl\nprompt: {messages: [{role: bot, content: hi}]}\n"
                                       "llm_model: {model: m}\nevaluation: {metrics: [{type: equals}]}\n"
                                       "optimizer: {type: meta_prompt}\nlimits: {max_trials: -1}\n";
  auto p = optd({"validate", dir_ + "/bad.yaml"}, "validate");
  EXPECT_EQ(p.wait(), 78);
  auto err = p.err();
  EXPECT_THAT(err, HasSubstr(dir_ + "/bad.yaml:3:28: prompt.messages[0].role: unknown role 'bot'"));
  EXPECT_THAT(err, HasSubstr(dir_ + "/bad.yaml:7:22: limits.max_trials must be between 1 and 10000, got -1"));
  EXPECT_THAT(err, HasSubstr(dir_ + "/bad.yaml:2:15: dataset_file '"));
  EXPECT_THAT(err, HasSubstr("bad.yaml: 3 problems"));

  auto ok = optd({"validate", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"}, "validate-ok");
  EXPECT_EQ(ok.wait(), 0) << ok.err();
  EXPECT_THAT(ok.out(), HasSubstr("ok — 2 messages, 26 items in 'skills'"));
}

TEST_F(e2e, ctrl_c_cancels_cleanly_and_records_the_run_as_cancelled) {
  auto env = start_sim({"--hang-rate", "1"});  // every call hangs: the run is mid-flight when interrupted
  auto run = optd({"run", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"}, "run", {env});
  ASSERT_TRUE(eventually([&] {
    if (!std::filesystem::exists(dir_ + "/state/optd.db")) return false;
    try {
      store::store db(dir_ + "/state/optd.db");
      auto runs = db.list_runs();
      return !runs.empty() && db.count_evaluations(runs[0].id, "pending") == 26;
    } catch (const std::exception&) {
      return false;
    }
  })) << run.err();
  run.signal(SIGINT);
  EXPECT_EQ(run.wait(), 130);
  EXPECT_THAT(run.err(), HasSubstr("cancelling"));
  EXPECT_THAT(run.out(), HasSubstr("status      cancelled · cancelled"));
  store::store db(dir_ + "/state/optd.db");
  EXPECT_EQ(db.list_runs().at(0).status, core::run_status::cancelled);
}

TEST_F(e2e, unknown_subcommand_or_missing_file_is_a_usage_error) {
  auto p = optd({"frobnicate"}, "usage");
  EXPECT_EQ(p.wait(), 64);
  auto q = optd({"run", dir_ + "/nope.yaml"}, "missing");
  EXPECT_EQ(q.wait(), 78);
  EXPECT_THAT(q.err(), HasSubstr("nope.yaml: cannot open the config file"));
}

}  // namespace
}  // namespace optd
