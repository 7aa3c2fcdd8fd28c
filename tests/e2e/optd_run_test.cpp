// The real binaries as a user runs them: llm-sim on a free port, optd run / validate / results.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <cstdlib>
#include <map>

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
  EXPECT_THAT(run.err(), HasSubstr("optd: run " + runs[0].id + ": trial 1 [" + first.id +
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
  EXPECT_THAT(err, HasSubstr(dir_ + "/bad.yaml:3:20: prompt has no {{variable}}: every item would get the same prompt"));
  EXPECT_THAT(err, HasSubstr("bad.yaml: 4 problems"));

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

TEST_F(e2e, a_full_disk_stops_optd_run_with_exit_75_and_the_same_command_resumes_buying_nothing_twice) {
  if (std::system("bwrap --dev-bind / / true 2>/dev/null") != 0) GTEST_SKIP() << "bubblewrap cannot make a namespace here";
  auto env = start_sim();
  auto sim = env.substr(env.find('=') + 1);
  sim.resize(sim.size() - 3);  // without /v1
  const auto config = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml";
  const auto demo = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml";
  // The store on a filesystem of 800 kB, which the demo's run fills in its second trial; what is
  // on it when optd exits is copied out before the filesystem goes.
  std::filesystem::create_directories(dir_ + "/small");
  std::filesystem::create_directories(dir_ + "/left");
  auto full = process::start({"bwrap", "--dev-bind", "/", "/", "--size", "800000", "--tmpfs", dir_ + "/small", "--",
                              "sh", "-c", R"("$0" --config "$1" --state-dir "$2" run "$3"; rc=$?; cp -a "$2"/. "$4"/; exit $rc)",
                              OPTD_BIN, config, dir_ + "/small", demo, dir_ + "/left"},
                             dir_, "full", {env});
  EXPECT_EQ(full.wait(), 75) << full.err();
  EXPECT_THAT(full.err(), HasSubstr("optd: the store cannot be written: sqlite " + dir_ + "/small/optd.db: "));
  EXPECT_THAT(full.err(), HasSubstr("database or disk is full"));
  EXPECT_THAT(full.err(), HasSubstr("run the same command again"));

  // The store as the full disk left it, on a disk with room: the same command resumes the run.
  auto resumed = process::start({OPTD_BIN, "--config", config, "--state-dir", dir_ + "/left", "run", demo}, dir_,
                                "resumed", {env});
  ASSERT_EQ(resumed.wait(), 0) << resumed.err();
  EXPECT_THAT(resumed.err(), HasSubstr("resuming: an optd run of this config ended before it finished"));
  EXPECT_THAT(resumed.out(), HasSubstr("status      completed"));
  auto bought = nlohmann::json::parse(test::http(sim, "GET", "/stats").body)["completions"].get<int>();

  // The same run on a disk with room all along.
  test::http(sim, "POST", "/stats/reset");
  auto straight = optd({"run", demo}, "straight", {env});
  ASSERT_EQ(straight.wait(), 0) << straight.err();
  auto needed = nlohmann::json::parse(test::http(sim, "GET", "/stats").body)["completions"].get<int>();
  EXPECT_LE(bought - needed, 8) << "at most the calls in flight (max_concurrency) are bought twice";
  std::cerr << "a full disk: " << bought << " calls bought across the stop and the resume, " << needed
            << " uninterrupted\n";
  // The same baseline, best score, trials and evaluations.
  auto summary = [](const std::string& out) {
    auto from = out.find("  baseline");
    return from == std::string::npos ? out : out.substr(from, out.find("  LLM calls") - from);
  };
  EXPECT_EQ(summary(resumed.out()), summary(straight.out()));
}

TEST_F(e2e, validate_finds_datasets_in_the_store_of_the_daemon_config) {
  auto env = start_sim();
  auto run = optd({"run", "-q", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"}, "seed", {env});
  ASSERT_EQ(run.wait(), 0) << run.err();  // the dataset 'skills' is now in dir_/state
  // A daemon config that names that state directory, and a run config naming only the dataset.
  std::ofstream(dir_ + "/optd.yaml") << test::read_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml")
                                     << "\nstate_dir: " << dir_ << "/state\n";
  auto text = test::read_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml");
  text.erase(text.find("dataset_file:"), text.find('\n', text.find("dataset_file:")) - text.find("dataset_file:") + 1);
  std::ofstream(dir_ + "/stored.yaml") << text;
  auto check = process::start({OPTD_BIN, "--config", dir_ + "/optd.yaml", "validate", dir_ + "/stored.yaml"}, dir_,
                              "validate", {env});
  EXPECT_EQ(check.wait(), 0) << check.err();
  EXPECT_THAT(check.out(), HasSubstr("26 items in 'skills'"));
}

TEST_F(e2e, unknown_subcommand_or_missing_file_is_a_usage_error) {
  auto p = optd({"frobnicate"}, "usage");
  EXPECT_EQ(p.wait(), 64);
  auto q = optd({"run", dir_ + "/nope.yaml"}, "missing");
  EXPECT_EQ(q.wait(), 78);
  EXPECT_THAT(q.err(), HasSubstr("nope.yaml: cannot open the config file"));
}

// One owner per state directory, and what the next owner does with a run whose owner was killed.
class ownership : public e2e {
 protected:
  std::string demo() const { return std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"; }
  // Starts `optd run demo.yaml` against a slow simulator and returns once some of its answers are
  // journaled (and others not yet): a run worth killing.
  process run_until_half_answered(const std::string& env, const std::string& tag) {
    auto run = optd({"run", demo()}, tag, {env});
    EXPECT_TRUE(eventually([&] {
      try {
        store::store db(dir_ + "/state/optd.db");
        for (const auto& r : db.list_runs())
          if (r.status == core::run_status::running && db.count_evaluations(r.id, "completed") >= 10) return true;
        return false;
      } catch (const std::exception&) {
        return false;
      }
    })) << run.err();
    return run;
  }
  // Every answered evaluation: id → when its answer was journaled (asked again, it would change).
  std::map<std::string, std::int64_t> answered() {
    store::store db(dir_ + "/state/optd.db");
    std::map<std::string, std::int64_t> out;
    for (const auto& r : db.list_runs())
      for (const auto& t : db.trials(r.id))
        for (const auto& e : db.evaluations(t.id))
          if (e.status == "completed") out[e.id] = e.completed_ms;
    return out;
  }
};

TEST_F(ownership, a_second_owner_is_refused_and_the_next_optd_run_of_a_killed_runs_config_resumes_it) {
  // One call in ten is never answered: the run cannot finish while the others are refused.
  auto env = start_sim({"--hang-rate", "0.1", "--fault-seed", "5"});
  auto run = run_until_half_answered(env, "run-1");
  auto serve = optd({"serve", "--listen", "127.0.0.1:0"}, "serve", {env});
  EXPECT_EQ(serve.wait(), 75);
  EXPECT_THAT(serve.err(), HasSubstr("/state is in use by pid " + std::to_string(run.pid) + " (optd run, since "));
  auto second = optd({"run", demo()}, "run-2", {env});
  EXPECT_EQ(second.wait(), 75);
  EXPECT_THAT(second.err(), HasSubstr("one process owns a store at a time"));

  run.signal(SIGKILL);
  EXPECT_EQ(run.wait(), 128 + SIGKILL);
  auto before = answered();
  ASSERT_GE(before.size(), 10u);

  sim_.signal(SIGKILL);  // the same model, now answering every call (its hung calls die with it)
  sim_.wait();
  std::filesystem::remove(dir_ + "/port");
  env = start_sim();
  auto again = optd({"run", demo()}, "run-3", {env});
  ASSERT_EQ(again.wait(), 0) << again.err();
  EXPECT_THAT(again.err(), HasSubstr("resuming: an optd run of this config ended before it finished"));
  EXPECT_THAT(again.out(), HasSubstr("status      completed"));
  store::store db(dir_ + "/state/optd.db");
  auto runs = db.list_runs();
  ASSERT_EQ(runs.size(), 1u);  // the same run, not a second one
  EXPECT_EQ(runs[0].status, core::run_status::completed);
  auto after = answered();
  for (const auto& [id, when] : before) EXPECT_EQ(after[id], when) << id;  // kept, not asked again
  for (const auto& t : db.trials(runs[0].id)) EXPECT_EQ(db.evaluations(t.id).size(), 26u);
}

TEST_F(ownership, a_run_whose_optd_run_was_killed_is_resumed_by_the_next_daemon_and_one_of_another_config_ended) {
  auto env = start_sim({"--latency-ms", "20"});
  auto run = run_until_half_answered(env, "run-1");
  run.signal(SIGKILL);
  EXPECT_EQ(run.wait(), 128 + SIGKILL);
  auto id = store::store(dir_ + "/state/optd.db").list_runs().at(0).id;

  auto serve = optd({"serve", "--listen", "127.0.0.1:0"}, "serve", {env});
  ASSERT_TRUE(eventually([&] {
    store::store db(dir_ + "/state/optd.db");
    return db.find_run(id)->status == core::run_status::completed;
  })) << serve.err();
  EXPECT_THAT(serve.err(), HasSubstr(id + ": resuming (was running, left by its optd run)"));
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0) << serve.err();

  // Killed again, then another config run: that one cannot resume it, and ends it saying why.
  auto other = dir_ + "/other.yaml";
  auto text = test::read_file(demo());
  text.replace(text.find("../datasets/"), 12, std::string(OPTD_SOURCE_DIR) + "/config/datasets/");
  std::ofstream(other) << text;
  auto second = run_until_half_answered(env, "run-2");
  second.signal(SIGKILL);
  second.wait();
  store::store db(dir_ + "/state/optd.db");
  std::string killed;
  for (const auto& r : db.list_runs())
    if (r.status == core::run_status::running) killed = r.id;
  ASSERT_FALSE(killed.empty());
  auto third = optd({"run", "--quiet", other}, "run-other", {env});
  EXPECT_EQ(third.wait(), 0) << third.err();
  auto ended = db.find_run(killed);
  EXPECT_EQ(ended->status, core::run_status::error);
  auto info = nlohmann::json::parse(ended->error_info_json);
  EXPECT_EQ(info["exception_type"], "OwnerEnded");
  EXPECT_THAT(info["message"].get<std::string>(), HasSubstr("its optd run ended before the run finished"));
}

TEST_F(ownership, a_closed_pipe_does_not_end_a_run_midway) {
  auto env = start_sim();
  // `optd run x.yaml 2>&1 | head -n 1`: head reads the first progress line and exits.
  auto piped = process::start({"/bin/sh", "-c",
                               std::string(OPTD_BIN) + " --config " + OPTD_SOURCE_DIR + "/config/examples/demo-optd.yaml" +
                                   " --state-dir " + dir_ + "/state run " + demo() + " 2>&1 | head -n 1"},
                              dir_, "piped", {env});
  EXPECT_EQ(piped.wait(), 0);
  store::store db(dir_ + "/state/optd.db");
  ASSERT_EQ(db.list_runs().size(), 1u);
  EXPECT_EQ(db.list_runs()[0].status, core::run_status::completed);
}

}  // namespace
}  // namespace optd
