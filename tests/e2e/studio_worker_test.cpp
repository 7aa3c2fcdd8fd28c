// optd as Opik's Studio worker, end to end: Redis (Debian's redis-server), a second optd serving
// Opik's API as the backend, llm-sim, and optd workers sharing the queue. Jobs are enqueued as
// Opik's Java backend enqueues them: the optimization created first, then the job's hash with its
// fields and expiry, then RPUSH onto the queue, all with redis-cli.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/iso8601.hpp"
#include "core/uuid.hpp"
#include "store/store.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"
#include "support/test_support.hpp"

namespace optd {
namespace {

using test::child_process;
using test::eventually;
using ::testing::HasSubstr;
using ::testing::Not;

const char* const workspace_id = "0190babc-62a0-71d2-832a-0feffa4676eb";  // a self-hosted Opik's
const std::string meta_prompt = R"({"type":"meta_prompt","parameters":{"model":"sim-reasoner","seed":7,"prompts_per_round":2}})";

std::string port_in(const std::string& file) {
  EXPECT_TRUE(eventually([&] { return std::filesystem::exists(file); }));
  auto text = test::read_file(file);
  return text.substr(0, text.find('\n'));
}

class studio_worker : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name()); }
  void TearDown() override {
    for (auto& w : workers_) stop(w);
    stop(backend_);
    stop(sim_);
  }
  static void stop(child_process& p) {
    if (p.pid <= 0) return;
    p.signal(SIGKILL);
    p.wait();
  }

  // llm-sim, Redis, and the backend with the demo dataset stored (by one foreground run).
  // `token`: the backend takes only requests that carry it (as Opik's cloud takes only its users' keys).
  void start(const std::string& latency_ms, std::vector<std::string> redis_options = {}, const std::string& token = {}) {
    redis_.emplace(dir_, std::move(redis_options));
    sim_ = child_process::start({LLM_SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", dir_ + "/sim.port", "--latency-ms",
                                 latency_ms},
                                dir_, "sim");
    sim_url_ = "http://127.0.0.1:" + port_in(dir_ + "/sim.port");
    env_ = {"OPTD_SIM_URL=" + sim_url_ + "/v1"};
    auto seed = child_process::start({OPTD_BIN, "--config", demo_config_, "--state-dir", dir_ + "/backend", "run", "-q",
                                      std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"},
                                     dir_, "seed", env_);
    ASSERT_EQ(seed.wait(), 0) << seed.err();
    auto backend_config = dir_ + "/backend.yaml";
    std::ofstream(backend_config) << test::read_file(demo_config_) << (token.empty() ? "" : "api_token_env: OPTD_API_TOKEN\n");
    token_ = token;
    auto backend_env = env_;
    backend_env.push_back("OPTD_API_TOKEN=" + token);
    backend_ = child_process::start({OPTD_BIN, "--config", backend_config, "--state-dir", dir_ + "/backend", "serve",
                                     "--listen", "127.0.0.1:0", "--port-file", dir_ + "/backend.port"},
                                    dir_, "backend", backend_env);
    backend_url_ = "http://127.0.0.1:" + port_in(dir_ + "/backend.port");
    test::http(sim_url_, "POST", "/stats/reset");
  }

  // A worker, `name`, with its own state directory; `extra` goes into its studio_worker: section.
  child_process& start_worker(const std::string& name, const std::string& extra = "  lease: 2s\n") {
    auto config = dir_ + "/" + name + ".yaml";
    std::ofstream(config) << test::read_file(demo_config_) << "opik:\n  url: " << backend_url_
                          << "/api\n  workspace: default\nstudio_worker:\n  redis_url: " << redis_->url()
                          << "\n  name: " << name << "\n  cancel_poll: 500ms\n" << extra;
    std::filesystem::remove(dir_ + "/" + name + ".port");
    workers_.push_back(child_process::start({OPTD_BIN, "--config", config, "--state-dir", dir_ + "/" + name, "serve",
                                             "--listen", "127.0.0.1:0", "--port-file", dir_ + "/" + name + ".port"},
                                            dir_, name + "-" + std::to_string(++starts_), env_));
    return workers_.back();
  }

  // What Opik's backend does for a Studio run: the optimization, then the job (its hash, expiry,
  // then RPUSH). Returns the optimization's id.
  std::string enqueue(const std::string& optimizer = meta_prompt, const std::string& api_key = {}) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto id = ids_.next(static_cast<std::uint64_t>(now));
    auto job = ids_.next(static_cast<std::uint64_t>(now));
    auto created = test::http(backend_url_, "POST", "/api/v1/private/optimizations",
                              nlohmann::json{{"id", id}, {"name", "studio-" + id.substr(0, 8)}, {"dataset_name", "skills"},
                                             {"objective_name", "answer_quality"}, {"status", "initialized"}}
                                  .dump(),
                              auth());
    EXPECT_EQ(created.status, 201u) << created.body;
    auto config = nlohmann::json::parse(R"({"dataset_name":"skills",
      "prompt":{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"{{question}}"}]},
      "llm_model":{"model":"sim-small","parameters":{"temperature":0}},
      "evaluation":{"metrics":[{"type":"equals","parameters":{"reference_key":"answer"}}]}})");
    config["optimizer"] = nlohmann::json::parse(optimizer);
    nlohmann::json message = {{"optimization_id", id},   {"workspace_id", workspace_id}, {"workspace_name", "default"},
                              {"config", config},        {"project_name", "Default Project"}};
    if (!api_key.empty()) message["opik_api_key"] = api_key;
    auto data = nlohmann::json::array({"opik_backend.rq_worker.process_optimizer_job", nullptr, {message}, nlohmann::json::object()});
    auto ts = core::iso8601(now);
    ts.insert(ts.size() - 1, "000");  // RQ's six fraction digits
    EXPECT_EQ(redis_->cli({"HSET", "rq:job:" + job, "id", job, "created_at", ts, "enqueued_at", ts, "status", "queued",
                           "origin", "opik:optimizer-cloud", "timeout", "86400", "description",
                           "opik_backend.rq_worker.process_optimizer_job", "data", data.dump()}),
              "8");
    EXPECT_EQ(redis_->cli({"PEXPIRE", "rq:job:" + job, "86400000"}), "1");
    redis_->cli({"RPUSH", "rq:queue:opik:optimizer-cloud", job});
    jobs_[id] = job;
    return id;
  }

  std::vector<net::http_header> auth() const {
    if (token_.empty()) return {};
    return {{"authorization", token_}};
  }
  nlohmann::json upstream(const std::string& id) {
    auto r = test::http(backend_url_, "GET", "/api/v1/private/optimizations/" + id, {}, auth());
    return r.status == 200 ? nlohmann::json::parse(r.body) : nlohmann::json::object();
  }
  std::string upstream_status(const std::string& id) { return upstream(id).value("status", ""); }
  bool all_upstream(const std::vector<std::string>& ids, const std::string& status) {
    for (const auto& id : ids)
      if (upstream_status(id) != status) return false;
    return true;
  }
  int sim_completions() { return nlohmann::json::parse(test::http(sim_url_, "GET", "/stats").body)["completions"].get<int>(); }

  // Each job ended exactly once in RQ's records, and no claim is left.
  void expect_each_job_finished_once(const std::vector<std::string>& ids) {
    EXPECT_EQ(redis_->cli({"ZCARD", "rq:finished:opik:optimizer-cloud"}), std::to_string(ids.size()));
    for (const auto& id : ids) {
      EXPECT_EQ(redis_->cli({"HGET", "rq:job:" + jobs_[id], "status"}), "finished") << id;
      EXPECT_EQ(redis_->cli({"XLEN", "rq:results:" + jobs_[id]}), "1") << id;
    }
    EXPECT_EQ(redis_->cli({"LLEN", "rq:queue:opik:optimizer-cloud"}), "0");
    EXPECT_EQ(redis_->cli({"KEYS", "optd:claims:*"}), "");
  }

  // Which worker's store has run `id` completed.
  std::vector<std::string> completed_by(const std::string& id, const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) {
      if (!std::filesystem::exists(dir_ + "/" + n + "/optd.db")) continue;
      store::store db(dir_ + "/" + n + "/optd.db");
      if (auto r = db.find_run(id); r && r->status == core::run_status::completed) out.push_back(n);
    }
    return out;
  }

  std::string dir_;
  std::optional<test::redis_server> redis_;
  child_process sim_, backend_;
  std::vector<child_process> workers_;
  std::vector<std::string> env_;
  std::string sim_url_, backend_url_, token_;
  std::map<std::string, std::string> jobs_;  // optimization id → job id
  core::uuid_v7_generator ids_{std::random_device{}()};
  int starts_ = 0;
  const std::string demo_config_ = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml";
};

TEST_F(studio_worker, thirty_jobs_on_three_workers_all_complete_each_run_once) {
  start("0");
  workers_.reserve(3);
  start_worker("w1", "  max_jobs: 2\n");
  // One job alone first: how many LLM calls one run of this config makes (it is deterministic).
  auto first = enqueue();
  ASSERT_TRUE(eventually([&] { return upstream_status(first) == "completed"; })) << workers_[0].err();
  int per_run = sim_completions();
  ASSERT_GT(per_run, 0);
  start_worker("w2", "  max_jobs: 2\n");
  start_worker("w3", "  max_jobs: 2\n");
  std::vector<std::string> ids{first};
  for (int i = 0; i < 29; ++i) ids.push_back(enqueue());
  ASSERT_TRUE(eventually([&] { return all_upstream(ids, "completed"); }, std::chrono::seconds(120)))
      << workers_[0].err() << workers_[1].err() << workers_[2].err();
  EXPECT_EQ(sim_completions(), 30 * per_run);  // no job's run was bought twice
  ASSERT_TRUE(eventually([&] { return redis_->cli({"ZCARD", "rq:finished:opik:optimizer-cloud"}) == "30"; }));
  expect_each_job_finished_once(ids);
  std::map<std::string, int> per_worker;
  for (const auto& id : ids) {
    auto by = completed_by(id, {"w1", "w2", "w3"});
    EXPECT_EQ(by.size(), 1u) << id;
    for (const auto& w : by) ++per_worker[w];
    auto o = upstream(id);
    EXPECT_EQ(o["num_trials"], upstream(first)["num_trials"]) << o.dump();  // no trial written twice
  }
  std::cerr << "jobs per worker: w1 " << per_worker["w1"] << ", w2 " << per_worker["w2"] << ", w3 " << per_worker["w3"] << "\n";
  // Each run's log reached the key Opik's backend collects for its UI.
  auto log = redis_->cli({"LRANGE", "opik:logs:" + std::string(workspace_id) + ":" + first, "0", "-1"});
  EXPECT_THAT(log, HasSubstr("run completed"));
  EXPECT_NE(redis_->cli({"HGET", "opik:logs:" + std::string(workspace_id) + ":" + first + ":meta", "last_append_ts"}), "");
  // RQ's tools see the three workers.
  EXPECT_EQ(redis_->cli({"SCARD", "rq:workers:opik:optimizer-cloud"}), "3");
}

TEST_F(studio_worker, a_killed_workers_jobs_are_taken_over_and_each_completes_once) {
  start("20");
  workers_.reserve(3);
  auto& doomed = start_worker("w1", "  lease: 2s\n  max_jobs: 3\n");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(enqueue());
  // w1 has all three, each in its first trial.
  ASSERT_TRUE(eventually([&] { return redis_->cli({"LLEN", "optd:claims:w1"}) == "3" && sim_completions() > 10; }))
      << doomed.err();
  doomed.signal(SIGKILL);
  doomed.wait();
  for (int i = 0; i < 3; ++i) ids.push_back(enqueue());
  start_worker("w2", "  lease: 2s\n  max_jobs: 3\n");
  start_worker("w3", "  lease: 2s\n  max_jobs: 3\n");
  ASSERT_TRUE(eventually([&] { return all_upstream(ids, "completed"); }, std::chrono::seconds(120)))
      << workers_[1].err() << workers_[2].err();
  ASSERT_TRUE(eventually([&] { return redis_->cli({"ZCARD", "rq:finished:opik:optimizer-cloud"}) == "6"; }));
  expect_each_job_finished_once(ids);
  for (const auto& id : ids) EXPECT_EQ(completed_by(id, {"w2", "w3"}).size(), 1u) << id;
  // Put back by w2 or w3, or partly by each: every claim one LMOVE, never two.
  EXPECT_THAT(workers_[1].err() + workers_[2].err(), HasSubstr("worker w1 let its lease expire (it died); put its "));
}

// A worker stopped (SIGSTOP) past its lease is taken for dead: another takes its job over. When
// it goes on, it finds its claim gone and stops its run: the job is never run by two live workers.
TEST_F(studio_worker, a_worker_that_lost_its_lease_stops_the_run_another_took_over) {
  start("50");
  workers_.reserve(2);
  auto& w1 = start_worker("w1", "  lease: 2s\n");
  auto id = enqueue();
  ASSERT_TRUE(eventually([&] { return sim_completions() > 5; })) << w1.err();
  w1.signal(SIGSTOP);
  auto& w2 = start_worker("w2", "  lease: 2s\n");
  ASSERT_TRUE(eventually([&] { return w2.err().find("put its 1 claimed jobs back") != std::string::npos; })) << w2.err();
  ASSERT_TRUE(eventually([&] { return w2.err().find("claimed by worker w2") != std::string::npos; })) << w2.err();
  w1.signal(SIGCONT);
  ASSERT_TRUE(eventually([&] { return w1.err().find("was taken over by another worker") != std::string::npos; }))
      << w1.err();
  ASSERT_TRUE(eventually([&] { return upstream_status(id) == "completed"; }, std::chrono::seconds(120))) << w2.err();
  ASSERT_TRUE(eventually([&] { return redis_->cli({"ZCARD", "rq:finished:opik:optimizer-cloud"}) == "1"; }));
  expect_each_job_finished_once({id});
  EXPECT_EQ(completed_by(id, {"w1", "w2"}), std::vector<std::string>{"w2"});
  store::store db(dir_ + "/w1/optd.db");
  ASSERT_TRUE(eventually([&] { return db.find_run(id)->status == core::run_status::error; })) << w1.err();
  EXPECT_THAT(db.find_run(id)->error, HasSubstr("taken over by another worker"));
}

TEST_F(studio_worker, a_restarted_worker_resumes_its_own_claims_from_its_journal) {
  start("20");
  workers_.reserve(2);
  auto& w1 = start_worker("w1", "  lease: 60s\n");
  auto id = enqueue();
  ASSERT_TRUE(eventually([&] { return sim_completions() > 10; })) << w1.err();
  w1.signal(SIGKILL);
  w1.wait();
  auto& again = start_worker("w1", "  lease: 60s\n");
  ASSERT_TRUE(eventually([&] { return upstream_status(id) == "completed"; }, std::chrono::seconds(120))) << again.err();
  EXPECT_THAT(again.err(), HasSubstr("resuming studio job " + jobs_[id]));
  ASSERT_TRUE(eventually([&] { return redis_->cli({"ZCARD", "rq:finished:opik:optimizer-cloud"}) == "1"; }));
  expect_each_job_finished_once({id});
  store::store db(dir_ + "/w1/optd.db");
  EXPECT_EQ(db.find_run(id)->status, core::run_status::completed);
}

TEST_F(studio_worker, redis_restarted_mid_way_loses_nothing) {
  // Redis as deployments keep it: every write in its append-only file before it is acknowledged.
  start("20", {"--appendonly", "yes", "--appendfsync", "always"});
  workers_.reserve(2);
  auto& w1 = start_worker("w1", "  lease: 10s\n  max_jobs: 2\n");
  auto& w2 = start_worker("w2", "  lease: 10s\n  max_jobs: 2\n");
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(enqueue());
  ASSERT_TRUE(eventually([&] { return sim_completions() > 20; }));
  redis_->restart();  // SIGKILL, then the same port: the queue and the claims come back from the file
  ASSERT_TRUE(eventually([&] { return all_upstream(ids, "completed"); }, std::chrono::seconds(120))) << w1.err() << w2.err();
  ASSERT_TRUE(eventually([&] { return redis_->cli({"ZCARD", "rq:finished:opik:optimizer-cloud"}) == "6"; }))
      << w1.err() << w2.err();
  expect_each_job_finished_once(ids);
  for (const auto& id : ids) EXPECT_EQ(completed_by(id, {"w1", "w2"}).size(), 1u) << id;
  EXPECT_THAT(w1.err() + w2.err(), HasSubstr("Redis answers again"));
}

TEST_F(studio_worker, a_job_optd_cannot_run_fails_in_opik_with_error_info) {
  start("0");
  auto& w1 = start_worker("w1");
  auto id = enqueue(R"({"type":"mipro","parameters":{}})");
  ASSERT_TRUE(eventually([&] { return upstream_status(id) == "error"; })) << w1.err();
  auto info = upstream(id)["error_info"];
  EXPECT_EQ(info["exception_type"], "InvalidOptimizerError") << info.dump();
  EXPECT_THAT(info["message"].get<std::string>(), HasSubstr("unknown optimizer type 'mipro'"));
  ASSERT_TRUE(eventually([&] { return redis_->cli({"HGET", "rq:job:" + jobs_[id], "status"}) == "failed"; }));
  EXPECT_EQ(redis_->cli({"ZCARD", "rq:failed:opik:optimizer-cloud"}), "1");
  EXPECT_THAT(redis_->cli({"LRANGE", "opik:logs:" + std::string(workspace_id) + ":" + id, "0", "-1"}),
              HasSubstr("InvalidOptimizerError"));
  auto metrics = test::http("http://127.0.0.1:" + port_in(dir_ + "/w1.port"), "GET", "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("optd_studio_jobs_claimed_total 1"));
  EXPECT_THAT(metrics, HasSubstr("optd_studio_jobs_finished_total{outcome=\"refused\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("optd_studio_redis_up 1"));
  // A stopped worker leaves RQ's registries at once (its record would only expire in 90 s).
  EXPECT_EQ(redis_->cli({"SISMEMBER", "rq:workers", "rq:worker:w1"}), "1");
  w1.signal(SIGTERM);
  EXPECT_EQ(w1.wait(), 0) << w1.err();
  EXPECT_EQ(redis_->cli({"SISMEMBER", "rq:workers", "rq:worker:w1"}), "0");
  EXPECT_EQ(redis_->cli({"HGET", "rq:worker:w1", "state"}), "suspended");
}

TEST_F(studio_worker, a_cancel_key_set_mid_run_cancels_it_within_two_seconds) {
  start("50");
  auto& w1 = start_worker("w1");
  auto id = enqueue();
  ASSERT_TRUE(eventually([&] { return sim_completions() > 5; })) << w1.err();
  redis_->cli({"SET", "opik:cancel:" + id, "\"1\"", "EX", "3600"});  // as Opik's backend sets it
  auto set_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] {
    store::store db(dir_ + "/w1/optd.db");
    auto r = db.find_run(id);
    return r && r->status == core::run_status::cancelled;
  })) << w1.err();
  EXPECT_LE(std::chrono::steady_clock::now() - set_at, std::chrono::seconds(2));
  ASSERT_TRUE(eventually([&] { return upstream_status(id) == "cancelled"; })) << w1.err();
  EXPECT_EQ(redis_->cli({"EXISTS", "opik:cancel:" + id}), "0");
  ASSERT_TRUE(eventually([&] { return redis_->cli({"HGET", "rq:job:" + jobs_[id], "status"}) == "finished"; }));
  EXPECT_THAT(redis_->cli({"LRANGE", "opik:logs:" + std::string(workspace_id) + ":" + id, "0", "-1"}),
              HasSubstr("Execution cancelled by the user."));
}

// On Opik's cloud every job carries its user's key: the job's run reads its dataset, records, and
// watches for a cancel with it (the worker's own config has none here, and the backend takes only
// that key); the key is never logged, and is forgotten once the run's writes reached Opik.
TEST_F(studio_worker, a_job_with_its_users_key_reaches_opik_as_that_user) {
  start("0", {}, "job-key-789");
  auto& w1 = start_worker("w1");
  auto id = enqueue(meta_prompt, "job-key-789");
  ASSERT_TRUE(eventually([&] { return upstream_status(id) == "completed"; })) << w1.err();
  EXPECT_EQ(upstream(id)["num_trials"].get<int>() > 0, true);
  ASSERT_TRUE(eventually([&] {
    store::store db(dir_ + "/w1/optd.db");
    auto job = db.studio_job_of_run(id);
    return job && job->state == "done" && job->api_key.empty();
  })) << w1.err();
  EXPECT_THAT(w1.err(), Not(HasSubstr("job-key-789")));
  EXPECT_THAT(test::read_file(dir_ + "/backend.err"), Not(HasSubstr("job-key-789")));
}

}  // namespace
}  // namespace optd
