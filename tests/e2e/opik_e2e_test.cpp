// One optd records its run into a second optd that serves Opik's API, as it would into Opik: the
// second one's optimization shows the same trials, baseline, best and cost as the first one's.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/child_process.hpp"
#include "support/test_support.hpp"

namespace optd {
namespace {

using test::child_process;
using ::testing::HasSubstr;

std::string port_in(const std::string& file) {
  EXPECT_TRUE(test::eventually([&] { return std::filesystem::exists(file); }));
  auto text = test::read_file(file);
  return text.substr(0, text.find('\n'));
}

TEST(opik_e2e, a_run_recorded_into_a_second_optd_reads_back_with_the_same_scores) {
  auto dir = test::temp_dir("opik_e2e");
  auto sim = child_process::start({LLM_SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", dir + "/sim.port"}, dir, "sim");
  std::vector<std::string> env{"OPTD_SIM_URL=http://127.0.0.1:" + port_in(dir + "/sim.port") + "/v1"};
  auto base_config = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml";
  auto serve = [&](const std::string& name, const std::string& config) {
    return child_process::start({OPTD_BIN, "--config", config, "--state-dir", dir + "/" + name, "serve", "--listen",
                                 "127.0.0.1:0", "--port-file", dir + "/" + name + ".port"},
                                dir, name, env);
  };
  auto opik = serve("opik", base_config);  // the second optd, standing in for Opik
  auto opik_url = "http://127.0.0.1:" + port_in(dir + "/opik.port");
  std::ofstream(dir + "/recording.yaml") << test::read_file(base_config) << "\nopik:\n  url: " << opik_url
                                         << "/api\n  workspace: default\n";
  auto recording = serve("recording", dir + "/recording.yaml");
  auto recording_url = "http://127.0.0.1:" + port_in(dir + "/recording.port");

  int n = 0;
  auto optd = [&](std::vector<std::string> args) {
    std::vector<std::string> full{OPTD_BIN, "--config", base_config};
    full.insert(full.end(), args.begin(), args.end());
    return child_process::start(full, dir, "cmd" + std::to_string(++n), env);
  };
  auto submit = optd({"submit", "--watch", "--server", recording_url, std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml"});
  ASSERT_EQ(submit.wait(), 0) << submit.err();
  ASSERT_THAT(submit.out(), HasSubstr(" completed")) << submit.err();
  auto id = submit.out().substr(0, 36);

  // Everything delivered…
  std::string status;
  ASSERT_TRUE(test::eventually([&] {
    auto c = optd({"status", "--server", recording_url, id});
    c.wait();
    status = c.out();
    return status.find(" 0 writes waiting") != std::string::npos;
  })) << status;
  EXPECT_THAT(status, HasSubstr(", 0 refused"));
  // …and the second optd computes the same trials, baseline, best and total cost (evaluations
  // and the reasoning model's tagged calls) from what it received.
  auto line = status.substr(status.find('\n') + 3);
  line = line.substr(0, line.find('\n'));
  EXPECT_THAT(line, HasSubstr("completed · 6 trials · best 1.0000 (baseline 0.0250) · $"));
  EXPECT_THAT(line, ::testing::Not(HasSubstr("$0.000000")));
  auto remote = optd({"status", "--server", opik_url, id});
  ASSERT_EQ(remote.wait(), 0) << remote.err();
  EXPECT_THAT(remote.out(), HasSubstr(line)) << remote.out();

  for (auto* p : {&recording, &opik, &sim}) {
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0) << p->err();
  }
}

// A run that names a dataset only Opik has: optd reads it from there (retrieve, then the item
// stream) when the run starts, and records the run against Opik's item ids.
TEST(opik_e2e, a_run_whose_dataset_only_opik_has_reads_it_from_there) {
  auto dir = test::temp_dir("opik_e2e_dataset");
  auto sim = child_process::start({LLM_SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", dir + "/sim.port"}, dir, "sim");
  std::vector<std::string> env{"OPTD_SIM_URL=http://127.0.0.1:" + port_in(dir + "/sim.port") + "/v1"};
  auto base_config = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml";
  auto serve = [&](const std::string& name, const std::string& config) {
    return child_process::start({OPTD_BIN, "--config", config, "--state-dir", dir + "/" + name, "serve", "--listen",
                                 "127.0.0.1:0", "--port-file", dir + "/" + name + ".port"},
                                dir, name, env);
  };
  auto opik = serve("opik", base_config);
  auto opik_url = "http://127.0.0.1:" + port_in(dir + "/opik.port");
  std::ofstream(dir + "/recording.yaml") << test::read_file(base_config) << "\nopik:\n  url: " << opik_url << "/api\n";
  auto recording = serve("recording", dir + "/recording.yaml");
  auto recording_url = "http://127.0.0.1:" + port_in(dir + "/recording.port");
  int n = 0;
  auto optd = [&](std::vector<std::string> args) {
    std::vector<std::string> full{OPTD_BIN, "--config", base_config};
    full.insert(full.end(), args.begin(), args.end());
    return child_process::start(full, dir, "cmd" + std::to_string(++n), env);
  };

  // The dataset goes to "Opik" with a first run there; the second config only names it.
  auto demo = std::string(OPTD_SOURCE_DIR) + "/config/examples/demo.yaml";
  auto seeded = optd({"submit", "--watch", "--server", opik_url, demo});
  ASSERT_EQ(seeded.wait(), 0) << seeded.err();
  auto text = test::read_file(demo);
  auto line = text.find("dataset_file:");
  text.erase(line, text.find('\n', line) - line + 1);
  std::ofstream(dir + "/by-name.yaml") << text;
  auto submit = optd({"submit", "--watch", "--server", recording_url, dir + "/by-name.yaml"});
  ASSERT_EQ(submit.wait(), 0) << submit.err();
  ASSERT_THAT(submit.out(), HasSubstr(" completed")) << submit.err();
  auto id = submit.out().substr(0, 36);

  std::string status;
  ASSERT_TRUE(test::eventually([&] {
    auto c = optd({"status", "--server", recording_url, id});
    c.wait();
    status = c.out();
    return status.find(" 0 writes waiting") != std::string::npos;
  })) << status;
  EXPECT_THAT(status, HasSubstr(", 0 refused"));
  auto summary = status.substr(status.find('\n') + 3);
  summary = summary.substr(0, summary.find('\n'));
  EXPECT_THAT(summary, HasSubstr("completed · 6 trials · best 1.0000 (baseline 0.0250)"));
  auto remote = optd({"status", "--server", opik_url, id});
  ASSERT_EQ(remote.wait(), 0) << remote.err();
  EXPECT_THAT(remote.out(), HasSubstr(summary)) << remote.out();
  auto log = optd({"logs", "--server", recording_url, id});
  log.wait();
  EXPECT_THAT(log.out(), HasSubstr("run started")) << log.out();

  for (auto* p : {&recording, &opik, &sim}) {
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0) << p->err();
  }
}

}  // namespace
}  // namespace optd
