// optd serve killed with SIGKILL in the middle of a run and started again: the run resumes from
// its journal, no finished evaluation is requested again (llm-sim counts repeated bodies), and it
// ends exactly as the same run does without the kill.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <regex>
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "store/store.hpp"
#include "support/child_process.hpp"
#include "support/test_support.hpp"

namespace optd {
namespace {

using test::child_process;
using test::eventually;

constexpr int concurrency = 4;

const std::string meta_prompt = R"({"type":"meta_prompt","parameters":{"model":"sim-reasoner","seed":7,"prompts_per_round":2}})";
const std::string gepa = R"({"type":"gepa","parameters":{"model":"sim-reasoner","seed":7}})";
const std::string hierarchical_reflective =
    R"({"type":"hierarchical_reflective","parameters":{"model":"sim-reasoner","seed":7,"batch_size":10,"analyze_outputs":true}})";

std::string body(const std::string& optimizer = meta_prompt) {
  return R"({"name":"resumable","dataset_name":"skills","objective_name":"answer_quality","status":"initialized",
    "limits":{"max_trials":8,"max_concurrency":)" + std::to_string(concurrency) + R"(},
    "studio_config":{"dataset_name":"skills",
      "prompt":{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"{{question}}"}]},
      "llm_model":{"model":"sim-small","parameters":{"temperature":0}},
      "evaluation":{"metrics":[{"type":"equals","weight":0.75},{"type":"levenshtein_ratio","weight":0.25}]},
      "optimizer":)" + optimizer + "}}";
}

class serve_restart : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("serve_restart"); }
  void TearDown() override {
    for (auto* p : {&serve_, &sim_, &judge_})
      if (p->pid > 0) {
        p->signal(SIGKILL);
        p->wait();
      }
  }

  std::string read_port(const std::string& file) {
    EXPECT_TRUE(eventually([&] { return std::filesystem::exists(file); }));
    auto text = test::read_file(file);
    return text.substr(0, text.find('\n'));
  }

  void start_serve(const std::string& config = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml",
                   std::vector<std::string> env = {}) {
    std::filesystem::remove(dir_ + "/api.port");
    env.push_back(sim_env_);
    serve_ = child_process::start({OPTD_BIN, "--config", config, "--state-dir", dir_ + "/state", "serve", "--listen",
                                   "127.0.0.1:0", "--port-file", dir_ + "/api.port"},
                                  dir_, "serve-" + std::to_string(++serves_), env);
    api_port_ = read_port(dir_ + "/api.port");
  }

  net::http_response http(const std::string& port, std::string method, std::string target, std::string payload = {}) {
    return test::http("http://127.0.0.1:" + port, std::move(method), std::move(target), std::move(payload));
  }

  std::string create(const std::string& optimizer = meta_prompt) {
    auto r = http(api_port_, "POST", "/api/v1/private/optimizations", body(optimizer));
    EXPECT_EQ(r.status, 201u) << r.body;
    auto loc = std::string(r.header("location"));
    return loc.substr(loc.rfind('/') + 1);
  }

  // llm-sim with the given latency, and the demo dataset stored the way a user would: with one
  // foreground run. The simulator's counters are reset afterwards.
  void start_sim_and_store_dataset(const std::string& latency_ms) {
    sim_ = child_process::start({LLM_SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", dir_ + "/sim.port",
                                 "--latency-ms", latency_ms},
                                dir_, "sim");
    sim_port_ = read_port(dir_ + "/sim.port");
    sim_env_ = "OPTD_SIM_URL=http://127.0.0.1:" + sim_port_ + "/v1";
    auto seed = child_process::start({OPTD_BIN, "--config", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml",
                                      "--state-dir", dir_ + "/state", "run", "-q",
                                      std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"},
                                     dir_, "seed", {sim_env_});
    ASSERT_EQ(seed.wait(), 0) << seed.err();
    http(sim_port_, "POST", "/stats/reset");
  }

  nlohmann::json sim_stats() { return nlohmann::json::parse(http(sim_port_, "GET", "/stats").body); }

  std::string status(const std::string& id) {
    store::store db(dir_ + "/state/optd.db");
    auto r = db.find_run(id);
    return r ? std::string(core::to_string(r->status)) : "";
  }

  // Each experiment of a run as "number type score items prompt", in order: what the
  // optimizer asked for and what it got.
  std::vector<std::string> story(const std::string& id) {
    store::store db(dir_ + "/state/optd.db");
    std::vector<std::string> out;
    for (const auto& t : db.trials(id))
      out.push_back(std::to_string(t.number) + " " + t.type + " " + std::to_string(t.score.value_or(-1)) + " " +
                    std::to_string(t.evaluated_count + t.failed_count) + " " + t.prompt_json);
    return out;
  }

  // Kills the daemon with SIGKILL once `ready` holds for a run of `optimizer`, starts it again,
  // and checks that the run resumes without buying twice what was answered (at most the calls in
  // flight at the kill) and ends as the same run does uninterrupted.
  void kill_mid_run_and_resume(const std::string& optimizer, const std::function<bool(store::store&, const std::string&)>& ready) {
    start_sim_and_store_dataset("20");
    start_serve();
    auto id = create(optimizer);
    ASSERT_TRUE(eventually([&] {
      store::store db(dir_ + "/state/optd.db");
      return ready(db, id);
    })) << serve_.err();
    serve_.signal(SIGKILL);
    EXPECT_EQ(serve_.wait(), 128 + SIGKILL);
    auto before = sim_stats();
    EXPECT_EQ(status(id), "running");
    auto started_ms = store::store(dir_ + "/state/optd.db").find_run(id)->started_ms;

    start_serve();
    ASSERT_TRUE(eventually([&] { return status(id) == "completed"; })) << serve_.err();
    auto after = sim_stats();
    EXPECT_GT(after["completions"].get<int>(), before["completions"].get<int>());
    EXPECT_THAT(serve_.err(), ::testing::HasSubstr("resuming (was running)"));
    {
      // Its duration is the whole run's, and its log tells each trial once, and the restart.
      store::store db(dir_ + "/state/optd.db");
      EXPECT_EQ(db.find_run(id)->started_ms, started_ms);
      std::map<std::string, int> told;
      for (const auto& [ts, line] : db.logs(id))
        if (line.find(" started") != std::string::npos || line.find(" scored ") != std::string::npos ||
            line.find("run resumed") != std::string::npos)
          ++told[line];
      int restarts = 0;
      for (const auto& [line, times] : told) {
        EXPECT_EQ(times, 1) << line;
        restarts += line.rfind("run resumed: ", 0) == 0;
      }
      EXPECT_EQ(restarts, 1);
    }

    expect_same_as_uninterrupted(id, optimizer, after, "killed after " + before["completions"].dump() + " answered calls");
  }

  // Runs `optimizer` again, never interrupted, and checks that run `id` (interrupted, `after` the
  // simulator's counters at its end) bought at most the calls in flight at the interruption twice,
  // and ended the same: the same experiments, scores and best prompt.
  void expect_same_as_uninterrupted(const std::string& id, const std::string& optimizer, const nlohmann::json& after,
                                    const std::string& what) {
    auto resumed = nlohmann::json::parse(http(api_port_, "GET", "/api/v1/private/optimizations/" + id).body);
    http(sim_port_, "POST", "/stats/reset");
    auto id2 = create(optimizer);
    ASSERT_TRUE(eventually([&] { return status(id2) == "completed"; })) << serve_.err();
    auto straight = nlohmann::json::parse(http(api_port_, "GET", "/api/v1/private/optimizations/" + id2).body);
    auto uninterrupted = sim_stats();
    // Only requests that were in flight at the kill (sent, or answered but not yet journaled: at
    // most max_concurrency together) may have been bought twice. (An optimizer may ask the same
    // thing twice on purpose, as GEPA's rescoring does: the uninterrupted run does it too.)
    auto extra = after["completions"].get<int>() - uninterrupted["completions"].get<int>();
    EXPECT_LE(extra, concurrency);
    EXPECT_LE(after["duplicate_completions"].get<int>() - uninterrupted["duplicate_completions"].get<int>(), concurrency);
    std::cerr << what << "; after resuming, " << after["completions"]
              << " in all, " << uninterrupted["completions"] << " uninterrupted: " << extra << " bought twice\n";
    EXPECT_EQ(story(id), story(id2));
    EXPECT_EQ(resumed["num_trials"], straight["num_trials"]);
    EXPECT_EQ(resumed["best_objective_score"], straight["best_objective_score"]);
    EXPECT_EQ(resumed["baseline_objective_score"], straight["baseline_objective_score"]);
    store::store db(dir_ + "/state/optd.db");
    auto best_prompt = [&](const std::string& run) {
      auto r = db.find_run(run);
      for (const auto& t : db.trials(run))
        if (t.id == r->best_trial_id) return t.prompt_json;
      return std::string();
    };
    EXPECT_EQ(best_prompt(id), best_prompt(id2));
    EXPECT_FALSE(best_prompt(id).empty());
    EXPECT_EQ(db.count_evaluations(id), db.count_evaluations(id2));  // no duplicate rows either
  }

  std::string dir_, sim_env_, sim_port_, api_port_;
  child_process sim_, serve_, judge_;
  int serves_ = 0;
};


// Evaluations of a trial answered and journaled so far.
long answered(store::store& db, const std::string& trial_id) {
  auto e = db.evaluations(trial_id);
  return std::count_if(e.begin(), e.end(), [](const auto& x) { return x.status == "completed"; });
}

TEST_F(serve_restart, a_killed_daemon_resumes_without_paying_twice_and_ends_the_same) {
  // Killed once two trials are done and the third is under way.
  kill_mid_run_and_resume(meta_prompt, [](store::store& db, const std::string& id) {
    return db.trials(id).size() >= 3 && db.count_evaluations(id, "completed") > 52;
  });
}

TEST_F(serve_restart, a_killed_gepa_run_resumes_with_the_same_candidates_and_scores) {
  // Killed in the middle of the first kept child's full evaluation (after the baseline and two
  // mini-batches): its mini-batches and reflection are replayed from the journal.
  kill_mid_run_and_resume(gepa, [](store::store& db, const std::string& id) {
    auto trials = db.trials(id);
    return trials.size() >= 4 && answered(db, trials[3].id) > 5;
  });
}

TEST_F(serve_restart, a_killed_hierarchical_reflective_run_resumes_with_the_same_rewrites_and_scores) {
  // Killed while the first rewrite is evaluated, after the round's analyses and synthesis.
  kill_mid_run_and_resume(hierarchical_reflective, [](store::store& db, const std::string& id) {
    auto trials = db.trials(id);
    return trials.size() >= 2 && answered(db, trials[1].id) > 5;
  });
}

TEST_F(serve_restart, a_geval_run_killed_between_answers_and_verdicts_asks_only_the_judge_again) {
  // The judge is a second llm-sim that never answers: every evaluation in flight gets its task
  // answer journaled, then waits for its verdict. Once all max_concurrency of them wait, no task
  // call can be in flight: the daemon is killed there, and started again with a judge that answers.
  start_sim_and_store_dataset("0");
  auto start_judge = [&](const std::string& name, std::vector<std::string> extra) {
    std::filesystem::remove(dir_ + "/" + name + ".port");
    std::vector<std::string> args{LLM_SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", dir_ + "/" + name + ".port"};
    args.insert(args.end(), extra.begin(), extra.end());
    judge_ = child_process::start(args, dir_, name);
    return "OPTD_JUDGE_URL=http://127.0.0.1:" + read_port(dir_ + "/" + name + ".port") + "/v1";
  };
  const auto config = dir_ + "/optd.yaml";
  {
    std::ofstream(config) << R"(providers:
  - name: sim
    base_url: ${OPTD_SIM_URL}
    auth: none
    prices: {sim-small: {input: 0.15, output: 0.60}, sim-reasoner: {input: 2.50, output: 10.00}}
  - name: judge
    base_url: ${OPTD_JUDGE_URL}
    auth: none
    timeouts: {connect: 2s, read: 120s, total: 240s}
    prices: {sim-judge: {input: 1.00, output: 4.00}}
)";
  }
  start_serve(config, {start_judge("hung-judge", {"--hang-rate", "1"})});
  const std::string geval = R"({"type":"geval","parameters":{"model":"sim-judge","provider":"judge",
    "task_introduction":"Grade a short answer.",
    "evaluation_criteria":"The correct answer is \"{{answer}}\". The reply should be that answer alone."}})";
  auto r = http(api_port_, "POST", "/api/v1/private/optimizations",
                std::regex_replace(body(), std::regex(R"(\{"type":"equals","weight":0.75\},\{"type":"levenshtein_ratio","weight":0.25\})"), geval));
  ASSERT_EQ(r.status, 201u) << r.body;
  auto loc = std::string(r.header("location"));
  auto id = loc.substr(loc.rfind('/') + 1);
  ASSERT_TRUE(eventually([&] {
    store::store db(dir_ + "/state/optd.db");
    return db.count_evaluations(id, "answered") == concurrency;
  })) << serve_.err();
  serve_.signal(SIGKILL);
  EXPECT_EQ(serve_.wait(), 128 + SIGKILL);
  judge_.signal(SIGKILL);
  judge_.wait();
  {
    store::store db(dir_ + "/state/optd.db");
    EXPECT_EQ(db.count_evaluations(id, "answered"), concurrency);
  }

  start_serve(config, {start_judge("judge", {})});
  ASSERT_TRUE(eventually([&] { return status(id) == "completed"; })) << serve_.err();
  auto task_sim = sim_stats();
  // Every task call was bought once: the answered ones were judged from their journaled answer.
  EXPECT_EQ(task_sim["duplicate_completions"], 0);
  store::store db(dir_ + "/state/optd.db");
  EXPECT_EQ(task_sim["completions"].get<long>() - task_sim["reasoning_completions"].get<long>(), db.count_evaluations(id));
  EXPECT_EQ(task_sim["judge_completions"], 0);
  double judged_cost = 0;
  std::set<std::string> items;
  for (const auto& t : db.trials(id))
    for (const auto& e : db.evaluations(t.id)) {
      EXPECT_EQ(e.status, "completed");
      EXPECT_EQ(e.judge_calls, 1) << e.id;  // its verdict; the evaluation steps are the run's
      judged_cost += e.judge_cost_usd;
      items.insert(e.item_id);
    }
  EXPECT_GT(judged_cost, 0);
  // A verdict per evaluation, and the steps once per distinct criteria (here: per item, as the
  // criteria quote the item's answer).
  auto judge_stats = nlohmann::json::parse(http(read_port(dir_ + "/judge.port"), "GET", "/stats").body);
  EXPECT_EQ(judge_stats["completions"].get<long>(), db.count_evaluations(id) + static_cast<long>(items.size()));
}

TEST_F(serve_restart, sigterm_drains_calls_in_flight_and_the_next_start_finishes_the_run) {
  start_sim_and_store_dataset("100");
  start_serve();
  auto id = create();
  ASSERT_TRUE(eventually([&] {
    store::store db(dir_ + "/state/optd.db");
    return db.count_evaluations(id, "completed") >= 8;
  })) << serve_.err();
  serve_.signal(SIGTERM);
  EXPECT_EQ(serve_.wait(), 0) << serve_.err();
  EXPECT_THAT(serve_.err(), ::testing::HasSubstr("draining 1 running runs"));
  EXPECT_EQ(status(id), "running");  // left live, to be resumed
  auto before = sim_stats();
  EXPECT_EQ(before["in_flight"], 0);  // every call optd had sent was answered before it exited

  start_serve();
  ASSERT_TRUE(eventually([&] { return status(id) == "completed"; })) << serve_.err();
  EXPECT_EQ(sim_stats()["duplicate_completions"], 0);  // nothing was asked twice
}

TEST_F(serve_restart, a_store_locked_past_the_busy_timeout_stops_runs_until_it_is_released_and_they_resume) {
  start_sim_and_store_dataset("100");
  start_serve();
  auto id = create();
  ASSERT_TRUE(eventually([&] {
    store::store db(dir_ + "/state/optd.db");
    return db.trials(id).size() >= 2 && db.count_evaluations(id, "completed") > 30;
  })) << serve_.err();
  // Another process takes the store's write lock and keeps it (an admin's sqlite3 session, say).
  // The provider is stopped meanwhile, so that the run is still mid-way when the lock is taken,
  // however slowly that process starts.
  sim_.signal(SIGSTOP);
  ASSERT_EQ(status(id), "running");
  auto release = dir_ + "/release";
  auto locker = child_process::start(
      {"python3", "-c",
       "import os, sqlite3, sys, time\n"
       "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
       "c.execute('BEGIN IMMEDIATE')\n"
       "print('locked', flush=True)\n"
       "while not os.path.exists(sys.argv[2]): time.sleep(0.05)\n"
       "c.execute('ROLLBACK')\n",
       dir_ + "/state/optd.db", release},
      dir_, "locker");
  ASSERT_TRUE(eventually([&] { return locker.out() == "locked\n"; })) << locker.err();
  sim_.signal(SIGCONT);
  // Past the busy timeout (5 s) the run stops where it is, left live in the store.
  ASSERT_TRUE(eventually([&] { return serve_.err().find("the store cannot be written") != std::string::npos; }))
      << serve_.err();
  EXPECT_THAT(serve_.err(), ::testing::HasSubstr("database is locked"));
  EXPECT_EQ(status(id), "running");
  // A write the API is asked for meanwhile gets Opik's error shape, 503: nothing was changed.
  auto refused = http(api_port_, "POST", "/api/v1/private/optimizations", body());
  EXPECT_EQ(refused.status, 503u) << refused.body;
  EXPECT_THAT(refused.body, ::testing::HasSubstr("store cannot be written now"));

  std::ofstream(release) << "go";
  EXPECT_EQ(locker.wait(), 0) << locker.err();
  ASSERT_TRUE(eventually([&] { return status(id) == "completed"; })) << serve_.err();
  {
    store::store db(dir_ + "/state/optd.db");
    bool said = false;
    for (const auto& [ts, line] : db.logs(id)) said |= line == "resuming after the store took writes again";
    EXPECT_TRUE(said);
    EXPECT_EQ(db.count_evaluations(id, "failed"), 0);
  }
  expect_same_as_uninterrupted(id, meta_prompt, sim_stats(), "stopped by a locked store");
}

TEST_F(serve_restart, a_provider_stopped_mid_run_is_waited_for_by_retries_and_the_run_completes_whole) {
  // Answers read within 1 s, or the attempt is retried (5 attempts, backoff from 100 ms).
  auto config = test::read_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml");
  auto at = config.find("read: 30s");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 9, "read: 1s");
  std::ofstream(dir_ + "/optd.yaml") << config;
  start_sim_and_store_dataset("20");
  start_serve(dir_ + "/optd.yaml");
  auto id = create();
  ASSERT_TRUE(eventually([&] {
    store::store db(dir_ + "/state/optd.db");
    return db.count_evaluations(id, "completed") > 10;
  })) << serve_.err();
  // SIGSTOP: the provider's kernel still accepts connections, nothing answers them.
  sim_.signal(SIGSTOP);
  // Its calls' attempts time out one by one, as /metrics shows while they do.
  auto unanswered = [&] {
    auto text = http(api_port_, "GET", "/metrics").body;
    std::smatch m;
    static const std::regex line(R"(optd_llm_attempts_unanswered_total\{provider="sim"\} (\d+))");
    return std::regex_search(text, m, line) ? std::stoi(m[1]) : -1;
  };
  ASSERT_TRUE(eventually([&] { return unanswered() >= concurrency; })) << serve_.err();
  EXPECT_EQ(status(id), "running");
  sim_.signal(SIGCONT);
  ASSERT_TRUE(eventually([&] { return status(id) == "completed"; })) << serve_.err();
  store::store db(dir_ + "/state/optd.db");
  EXPECT_EQ(db.count_evaluations(id, "failed"), 0);  // every call that timed out was answered on a retry
  EXPECT_EQ(db.count_evaluations(id, "pending"), 0);
}

}  // namespace
}  // namespace optd
