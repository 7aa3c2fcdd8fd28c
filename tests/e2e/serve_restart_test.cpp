// optd serve killed with SIGKILL in the middle of a run and started again: the run resumes from
// its journal, no finished evaluation is requested again (llm-sim counts repeated bodies), and it
// ends exactly as the same run does without the kill.
#include <csignal>
#include <filesystem>
#include <iostream>

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

std::string body() {
  return R"({"name":"resumable","dataset_name":"skills","objective_name":"answer_quality","status":"initialized",
    "limits":{"max_trials":8,"max_concurrency":)" + std::to_string(concurrency) + R"(},
    "studio_config":{"dataset_name":"skills",
      "prompt":{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"{{question}}"}]},
      "llm_model":{"model":"sim-small","parameters":{"temperature":0}},
      "evaluation":{"metrics":[{"type":"equals","weight":3},{"type":"levenshtein_ratio","weight":1}]},
      "optimizer":{"type":"meta_prompt","parameters":{"model":"sim-reasoner","seed":7,"prompts_per_round":2}}}})";
}

class serve_restart : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("serve_restart"); }
  void TearDown() override {
    for (auto* p : {&serve_, &sim_})
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

  void start_serve() {
    std::filesystem::remove(dir_ + "/api.port");
    serve_ = child_process::start({OPTD_BIN, "--config", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml",
                                   "--state-dir", dir_ + "/state", "serve", "--listen", "127.0.0.1:0", "--port-file",
                                   dir_ + "/api.port"},
                                  dir_, "serve-" + std::to_string(++serves_), {sim_env_});
    api_port_ = read_port(dir_ + "/api.port");
  }

  // One HTTP exchange with a fresh io_context (the test's own client, not optd's).
  net::http_response http(const std::string& port, std::string method, std::string target, std::string payload = {}) {
    boost::asio::io_context ioc;
    net::http_client client(ioc.get_executor(), nullptr);
    net::http_request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(payload);
    r.headers = {{"Content-Type", "application/json"}};
    auto res = *test::run(ioc, client.send(*net::parse_url("http://127.0.0.1:" + port), r, {}));
    EXPECT_TRUE(res);
    return res ? *res : net::http_response{};
  }

  std::string create() {
    auto r = http(api_port_, "POST", "/api/v1/private/optimizations", body());
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

  std::string dir_, sim_env_, sim_port_, api_port_;
  child_process sim_, serve_;
  int serves_ = 0;
};

TEST_F(serve_restart, a_killed_daemon_resumes_without_paying_twice_and_ends_the_same) {
  start_sim_and_store_dataset("20");
  start_serve();
  auto id = create();
  // Kill it once two trials are done and the third is under way.
  ASSERT_TRUE(eventually([&] {
    store::store db(dir_ + "/state/optd.db");
    return db.trials(id).size() >= 3 && db.count_evaluations(id, "completed") > 52;
  })) << serve_.err();
  serve_.signal(SIGKILL);
  EXPECT_EQ(serve_.wait(), 128 + SIGKILL);
  auto before = sim_stats();
  EXPECT_EQ(status(id), "running");

  start_serve();
  ASSERT_TRUE(eventually([&] { return status(id) == "completed"; })) << serve_.err();
  auto after = sim_stats();
  // Only requests that were in flight at the kill (sent, or answered but not yet journaled: at most
  // max_concurrency together) may have been asked twice.
  EXPECT_LE(after["duplicate_completions"].get<int>(), concurrency);
  std::cerr << "killed after " << before["completions"] << " answered calls; after resuming, " << after["completions"]
            << " in all, " << after["duplicate_completions"] << " of them asked twice\n";
  EXPECT_GT(after["completions"].get<int>(), before["completions"].get<int>());
  auto resumed = nlohmann::json::parse(http(api_port_, "GET", "/api/v1/private/optimizations/" + id).body);
  EXPECT_THAT(serve_.err(), ::testing::HasSubstr("resuming (was running)"));

  // The same run, never interrupted.
  auto id2 = create();
  ASSERT_TRUE(eventually([&] { return status(id2) == "completed"; })) << serve_.err();
  auto straight = nlohmann::json::parse(http(api_port_, "GET", "/api/v1/private/optimizations/" + id2).body);
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

}  // namespace
}  // namespace optd
