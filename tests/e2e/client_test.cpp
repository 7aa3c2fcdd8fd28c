// The client subcommands against a real `optd serve`, as a user types them.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>
#include <gtest/gtest.h>

#include "support/child_process.hpp"
#include "support/test_support.hpp"

namespace optd {
namespace {

using test::child_process;
using ::testing::HasSubstr;

class client : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    // The demo's daemon config, with an inbox.
    config_ = dir_ + "/optd.yaml";
    std::ofstream(config_) << test::read_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml")
                           << "\ninbox_dir: " << dir_ << "/inbox\n";
    start({});
  }

  // llm-sim with `sim_args`, and optd serve on it (on `api_port`, or a free one).
  void start(std::vector<std::string> sim_args, std::string api_port = "0") {
    std::vector<std::string> sim{LLM_SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", dir_ + "/sim.port"};
    sim.insert(sim.end(), sim_args.begin(), sim_args.end());
    std::filesystem::remove(dir_ + "/sim.port");
    sim_ = child_process::start(sim, dir_, "sim");
    env_ = {"OPTD_SIM_URL=http://127.0.0.1:" + port(dir_ + "/sim.port") + "/v1"};
    serve(api_port);
    env_.push_back("OPTD_SERVER=http://127.0.0.1:" + port(dir_ + "/api.port"));
  }

  void serve(const std::string& api_port) {
    std::filesystem::remove(dir_ + "/api.port");
    serve_ = child_process::start({OPTD_BIN, "--config", config_, "--state-dir", dir_ + "/state", "serve", "--listen",
                                   "127.0.0.1:" + api_port, "--port-file", dir_ + "/api.port"},
                                  dir_, "serve" + std::to_string(++serves_), env_);
  }

  void stop() {
    for (auto* p : {&serve_, &sim_}) {
      p->signal(SIGTERM);
      p->wait();
    }
  }
  void TearDown() override { stop(); }

  std::string port(const std::string& file) {
    EXPECT_TRUE(test::eventually([&] { return std::filesystem::exists(file); }));
    auto text = test::read_file(file);
    return text.substr(0, text.find('\n'));
  }

  child_process optd(std::vector<std::string> args) {
    std::vector<std::string> full{OPTD_BIN, "--config", config_};
    full.insert(full.end(), args.begin(), args.end());
    return child_process::start(full, dir_, "cmd" + std::to_string(++n_), env_);
  }

  std::string dir_;
  std::string config_;
  std::vector<std::string> env_;
  child_process sim_, serve_;
  int n_ = 0, serves_ = 0;
};

TEST_F(client, submit_watch_list_status_logs_and_cancel) {
  auto demo = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml";
  auto submit = optd({"submit", "--watch", demo});
  ASSERT_EQ(submit.wait(), 0) << submit.err();
  EXPECT_THAT(submit.err(), HasSubstr("uploaded 26 items as dataset 'skills'"));
  EXPECT_THAT(submit.err(), HasSubstr("completed · 5 trials · best 1.0000 (baseline 0.0250)"));
  EXPECT_THAT(submit.err(), HasSubstr("] trial 5/12 · "));  // the progress bar's last state
  auto id = submit.out().substr(0, 36);

  auto list = optd({"list"});
  ASSERT_EQ(list.wait(), 0);
  EXPECT_THAT(list.out(), HasSubstr(id + "  completed   5"));

  auto status = optd({"status", id.substr(0, 10)});
  ASSERT_EQ(status.wait(), 0) << status.err();
  EXPECT_THAT(status.out(), HasSubstr("completed · 5 trials"));

  auto logs = optd({"logs", id});
  ASSERT_EQ(logs.wait(), 0);
  EXPECT_THAT(logs.out(), HasSubstr("] (baseline) started\n"));
  EXPECT_THAT(serve_.err(), HasSubstr("optd: run " + id + ": trial 1 ["));

  auto cancel = optd({"cancel", id});
  EXPECT_EQ(cancel.wait(), 1);
  EXPECT_THAT(cancel.err(), HasSubstr("Cannot cancel optimization with status 'completed'"));

  // The same config again: the dataset is already there, not uploaded twice.
  auto again = optd({"submit", demo});
  ASSERT_EQ(again.wait(), 0) << again.err();
  EXPECT_THAT(again.err(), ::testing::Not(HasSubstr("uploaded")));

  // A different file under the same dataset name is refused rather than mixed in.
  std::ofstream(dir_ + "/other.jsonl") << R"({"question":"What is 1 + 1?","answer":"2"})" << "\n";
  auto text = test::read_file(demo);
  text.replace(text.find("../datasets/skills.jsonl"), 24, dir_ + "/other.jsonl");
  std::ofstream(dir_ + "/other.yaml") << text;
  auto clash = optd({"submit", dir_ + "/other.yaml"});
  EXPECT_EQ(clash.wait(), 1);
  EXPECT_THAT(clash.err(), HasSubstr("already has a dataset 'skills' with 26 items"));
}

TEST_F(client, results_come_from_the_daemon_when_the_local_store_has_no_such_run) {
  auto submit = optd({"submit", "--watch", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"});
  ASSERT_EQ(submit.wait(), 0) << submit.err();
  auto id = submit.out().substr(0, 36);
  // A state directory of its own: the run is only the daemon's.
  auto results = optd({"--state-dir", dir_ + "/elsewhere", "results", id.substr(0, 13)});
  ASSERT_EQ(results.wait(), 0) << results.err();
  EXPECT_THAT(results.out(), HasSubstr("run " + id + "  (skills-demo)\n  status      completed · perfect_score"));
  EXPECT_THAT(results.out(), HasSubstr("  trials      5\n"));
  EXPECT_THAT(results.out(), HasSubstr("← best"));
  EXPECT_THAT(results.out(), HasSubstr("best prompt:\n  [system] "));
  // The same JSON as a local store gives, with the daemon's store behind it.
  auto json = optd({"--state-dir", dir_ + "/state", "results", "--json", id});
  auto remote = optd({"--state-dir", dir_ + "/elsewhere", "results", "--json", id});
  ASSERT_EQ(json.wait(), 0);
  ASSERT_EQ(remote.wait(), 0);
  EXPECT_EQ(nlohmann::json::parse(json.out()), nlohmann::json::parse(remote.out()));
  auto missing = optd({"--state-dir", dir_ + "/elsewhere", "results", "ffffffff"});
  EXPECT_EQ(missing.wait(), 1);
  EXPECT_THAT(missing.err(), HasSubstr("no run 'ffffffff' on http://127.0.0.1:"));
}

TEST_F(client, watch_follows_a_run_through_a_daemon_restart) {
  stop();
  start({"--latency-ms", "200", "--latency-sigma", "0"});  // a run of six seconds or so
  auto submit = optd({"submit", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"});
  ASSERT_EQ(submit.wait(), 0) << submit.err();
  auto id = submit.out().substr(0, 36);
  auto watch = optd({"watch", id});
  // Its first line (which trial it shows depends on how soon the watcher got there).
  ASSERT_TRUE(test::eventually([&] { return watch.err().find("/12 · ") != std::string::npos; })) << watch.err();
  // The daemon drains and stops mid-run, and starts again on the same address: it resumes the run.
  auto api_port = port(dir_ + "/api.port");
  serve_.signal(SIGTERM);
  EXPECT_EQ(serve_.wait(), 0);
  serve(api_port);
  EXPECT_EQ(watch.wait(), 0) << watch.err();
  EXPECT_THAT(watch.err(), HasSubstr("the daemon ended the stream of run " + id + " before the run ended"));
  EXPECT_THAT(watch.err(), HasSubstr("completed · 5 trials · best 1.0000 (baseline 0.0250)"));
  EXPECT_THAT(watch.out(), HasSubstr(id + " completed"));
}

TEST_F(client, errors_are_clear) {
  std::ofstream(dir_ + "/bad.yaml") << "name: x\n";
  auto bad = optd({"submit", dir_ + "/bad.yaml"});
  EXPECT_EQ(bad.wait(), 78);
  EXPECT_THAT(bad.err(), HasSubstr("bad.yaml:1:1: missing required key 'prompt'"));
  auto unknown = optd({"status", "ffffffff"});
  EXPECT_EQ(unknown.wait(), 1);
  EXPECT_THAT(unknown.err(), HasSubstr("no run 'ffffffff'"));
  auto nowhere = optd({"list", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(nowhere.wait(), 69);
  EXPECT_THAT(nowhere.err(), HasSubstr("cannot reach the daemon at http://127.0.0.1:1"));
  // Two runs share their first characters (ids are time-ordered): a short prefix names neither,
  // and says which it could be.
  auto demo = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml";
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto submit = optd({"submit", demo});
    ASSERT_EQ(submit.wait(), 0) << submit.err();
    ids.push_back(submit.out().substr(0, 36));
  }
  auto ambiguous = optd({"status", ids[0].substr(0, 4)});
  EXPECT_EQ(ambiguous.wait(), 1);
  EXPECT_THAT(ambiguous.err(), HasSubstr("run id prefix '" + ids[0].substr(0, 4) + "' is ambiguous: "));
  EXPECT_THAT(ambiguous.err(), HasSubstr(ids[0]));
  EXPECT_THAT(ambiguous.err(), HasSubstr(ids[1]));
}

TEST_F(client, submit_leaves_providers_to_the_daemon) {
  // This machine's daemon config knows no provider 'sim'; the daemon's does.
  std::ofstream(dir_ + "/client.yaml") << "providers:\n  - name: other\n    base_url: http://127.0.0.1:1/v1\n";
  auto text = test::read_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml");
  text.replace(text.find("  model: sim-small"), 18, "  model: sim-small\n  provider: sim");
  text.replace(text.find("../datasets/skills.jsonl"), 24, std::string(OPTD_SOURCE_DIR) + "/config/datasets/skills.jsonl");
  std::ofstream(dir_ + "/named.yaml") << text;
  auto submit = child_process::start({OPTD_BIN, "--config", dir_ + "/client.yaml", "submit", dir_ + "/named.yaml"}, dir_,
                                     "named", env_);
  EXPECT_EQ(submit.wait(), 0) << submit.err();
  // One the daemon lacks too is refused by the daemon, at its line and column.
  text.replace(text.find("provider: sim"), 13, "provider: nowhere");
  std::ofstream(dir_ + "/nowhere.yaml") << text;
  auto refused = child_process::start({OPTD_BIN, "--config", dir_ + "/client.yaml", "submit", dir_ + "/nowhere.yaml"},
                                      dir_, "nowhere", env_);
  EXPECT_EQ(refused.wait(), 78);
  EXPECT_THAT(refused.err(), HasSubstr("nowhere"));
}

TEST_F(client, watch_and_status_say_why_a_run_failed) {
  stop();
  start({"--fail-rate", "1"});  // every answer a 503: the baseline fails, and with it the run
  auto submit = optd({"submit", "--watch", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"});
  EXPECT_EQ(submit.wait(), 1) << submit.err();
  EXPECT_THAT(submit.err(), HasSubstr("error · "));
  EXPECT_THAT(submit.err(), HasSubstr("HTTP 503"));
  auto status = optd({"status", submit.out().substr(0, 36)});
  EXPECT_EQ(status.wait(), 0);
  EXPECT_THAT(status.out(), HasSubstr("all 26 evaluations of trial 1 failed"));
}

TEST_F(client, options_are_the_same_wherever_they_are_written) {
  // The URL optd serve prints, with its /api, is a server URL; --server and --config go before
  // the subcommand or after it alike. OPTD_SERVER is not set here: only --server says where.
  auto printed = "http://127.0.0.1:" + port(dir_ + "/api.port") + "/api";
  std::vector<std::string> env{env_.front()};
  auto after = child_process::start({OPTD_BIN, "list", "--config", config_, "--server", printed}, dir_, "after", env);
  EXPECT_EQ(after.wait(), 0) << after.err();
  EXPECT_THAT(after.out(), HasSubstr("ID"));
  auto before = child_process::start({OPTD_BIN, "--server", printed + "/", "--config", config_, "list"}, dir_, "before", env);
  EXPECT_EQ(before.wait(), 0) << before.err();
  EXPECT_EQ(before.out(), after.out());
  auto version = child_process::start({OPTD_BIN, "--version"}, dir_, "version");
  EXPECT_EQ(version.wait(), 0);
  EXPECT_THAT(version.out(), ::testing::StartsWith("optd "));
  auto misplaced = child_process::start({OPTD_BIN, "validate", "--server", printed, dir_ + "/x.yaml"}, dir_, "misplaced");
  EXPECT_EQ(misplaced.wait(), 64);
  EXPECT_THAT(misplaced.err(), HasSubstr("--server is for the commands that talk to optd serve"));
}

TEST_F(client, the_inbox_submits_good_configs_and_sets_bad_ones_aside_with_why) {
  namespace fs = std::filesystem;
  auto inbox = dir_ + "/inbox";
  ASSERT_TRUE(test::eventually([&] { return fs::exists(inbox + "/accepted"); }));
  // A good config, dropped the safe way (written elsewhere, renamed in); its dataset_file is
  // relative to the inbox.
  fs::copy_file(std::string(OPTD_SOURCE_DIR) + "/config/datasets/skills.jsonl", inbox + "/skills.jsonl");
  auto text = test::read_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml");
  text.replace(text.find("../datasets/skills.jsonl"), 24, "skills.jsonl");
  std::ofstream(dir_ + "/good.yaml") << text;
  fs::rename(dir_ + "/good.yaml", inbox + "/good.yaml");
  // A bad one, written in place; and a file that is not a run config.
  std::ofstream(inbox + "/bad.yaml") << "name: x\nprompt: {messages: []}\n";
  std::ofstream(inbox + "/notes.txt") << "not a run config\n";

  ASSERT_TRUE(test::eventually([&] { return fs::exists(inbox + "/rejected/bad.yaml.error"); })) << serve_.err();
  EXPECT_TRUE(fs::exists(inbox + "/rejected/bad.yaml"));
  EXPECT_FALSE(fs::exists(inbox + "/bad.yaml"));
  auto why = test::read_file(inbox + "/rejected/bad.yaml.error");
  EXPECT_THAT(why, HasSubstr(inbox + "/bad.yaml:1:1: missing required key 'dataset_name'"));
  EXPECT_THAT(why, HasSubstr(inbox + "/bad.yaml:2:"));

  // The same config as .yml, and as JSON (YAML's flow style), are run configs too.
  std::ofstream(dir_ + "/good.yml") << text;
  fs::rename(dir_ + "/good.yml", inbox + "/good.yml");
  std::ofstream(inbox + "/bad.json") << R"({"name": "x", "prompt": {"messages": []}})";

  std::string id;
  std::set<std::string> accepted;
  ASSERT_TRUE(test::eventually([&] {
    accepted.clear();
    for (const auto& e : fs::directory_iterator(inbox + "/accepted")) {
      accepted.insert(e.path().extension().string());
      if (e.path().extension() == ".yaml") id = e.path().stem().string();
    }
    return accepted.size() == 2;
  }));
  EXPECT_EQ(accepted, (std::set<std::string>{".yaml", ".yml"}));
  ASSERT_TRUE(test::eventually([&] { return fs::exists(inbox + "/rejected/bad.json.error"); })) << serve_.err();
  EXPECT_THAT(test::read_file(inbox + "/rejected/bad.json.error"), HasSubstr("bad.json:1:1: missing required key"));
  EXPECT_FALSE(fs::exists(inbox + "/good.yaml"));
  EXPECT_TRUE(fs::exists(inbox + "/notes.txt"));  // left alone
  auto watch = optd({"watch", id});
  EXPECT_EQ(watch.wait(), 0) << watch.err();
  EXPECT_THAT(watch.out(), HasSubstr(id + " completed"));
  EXPECT_THAT(serve_.err(), HasSubstr("inbox: submitted good.yaml as run " + id));
}

}  // namespace
}  // namespace optd
