// The code metric in its real sandbox (bubblewrap and python3): what Studio's code does, and what
// hostile code cannot do. Limits are small so that each hostile item ends within a second or two.
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plugins/registry.hpp"
#include "support/test_support.hpp"

namespace optd::plugins {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Opik's UI template, as Studio sends it.
constexpr std::string_view studio_template = R"(from opik.evaluation.metrics import BaseMetric
from opik.evaluation.metrics.score_result import ScoreResult

class MyMetric(BaseMetric):
    def __init__(self, name: str = "my_metric"):
        super().__init__(name=name)

    def score(self, output: str, **kwargs) -> ScoreResult:
        expected = kwargs.get("answer", "")
        same = output.strip().lower() == str(expected).strip().lower()
        return ScoreResult(name=self.name, value=1.0 if same else 0.0,
                           reason="matches" if same else "expected " + str(expected))
)";

// One metric that misbehaves on request: the item's `attack` says how.
constexpr std::string_view hostile = R"(import os, socket, sys, time
from opik.evaluation.metrics import base_metric, score_result

class Hostile(base_metric.BaseMetric):
    def __init__(self):
        super().__init__(name="hostile")

    def score(self, output, attack="", target="", port=0, **kwargs):
        if attack == "loop":
            while True:
                pass
        if attack == "stubborn_loop":  # swallows the CPU limit's signal: only the wall clock ends it
            import signal
            signal.signal(signal.SIGPROF, signal.SIG_IGN)
            while True:
                pass
        if attack == "sleep":
            time.sleep(3600)
        if attack == "fork_bomb":
            while True:
                os.fork()
        if attack == "allocate":
            blob = bytearray(10 << 30)
        if attack == "read":
            return score_result.ScoreResult(name=self.name, value=1.0, reason=open(target).read())
        if attack == "connect":
            socket.create_connection(("127.0.0.1", port), timeout=5)
        if attack == "write":
            with open(target, "w") as f:
                f.write("pwned")
        if attack == "print":
            chunk = "x" * 1023
            for _ in range(1 << 20):
                print(chunk)
        if attack == "crash":
            os.kill(os.getpid(), 9)
        return score_result.ScoreResult(name=self.name, value=1.0, reason="fine")
)";

sandbox_settings small_limits() {
  sandbox_settings s;
  s.workers = 2;
  s.cpu_time = std::chrono::milliseconds(500);
  s.wall_time = std::chrono::milliseconds(2'000);
  s.memory_bytes = 256ull << 20;
  s.processes = 16;
  return s;
}

class code_metric_test : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = std::make_shared<python_sandbox>(small_limits());
    if (auto why = sandbox_->unavailable()) FAIL() << "the sandbox does not work here: " << *why;
  }

  std::unique_ptr<core::evaluation_metric> metric(std::string_view code) {
    auto checked = sandbox_->check(std::string(code));
    EXPECT_FALSE(checked.problem) << checked.problem->message;
    core::metric_spec spec{"code", {{"code", code}}, {}};
    spec.name = checked.metric_name;
    return make_metric(spec, {}, {}, {sandbox_});
  }

  core::metric_result score(const core::evaluation_metric& m, std::string output, nlohmann::json item) {
    ioc_.restart();
    return *test::run(ioc_, m.judge(no_judge_, std::move(output), item));
  }

  struct no_model final : core::judge_context {
    boost::asio::awaitable<core::completion_result> complete(core::chat_request, std::string) override {
      co_return core::llm_error{core::errc::provider_unavailable, "a code metric asks no model"};
    }
    boost::asio::awaitable<core::completion_result> complete_once(core::chat_request r, std::string p) override {
      return complete(std::move(r), std::move(p));
    }
  } no_judge_;
  boost::asio::io_context ioc_;
  std::shared_ptr<python_sandbox> sandbox_;
};

TEST_F(code_metric_test, runs_studios_template_with_the_items_fields_and_its_classs_name) {
  auto checked = sandbox_->check(std::string(studio_template));
  ASSERT_FALSE(checked.problem);
  EXPECT_EQ(checked.metric_name, "my_metric");
  auto m = metric(studio_template);
  EXPECT_EQ(m->name(), "my_metric");
  auto right = score(*m, " Paris", {{"question", "capital of France?"}, {"answer", "paris"}});
  EXPECT_EQ(right.value, 1);
  EXPECT_EQ(right.reason, "matches");
  auto wrong = score(*m, "Lyon", {{"answer", "Paris"}});
  EXPECT_EQ(wrong.value, 0);
  EXPECT_EQ(wrong.reason, "expected Paris");
  EXPECT_FALSE(wrong.failed);
  // The answer being scored wins over an item field of the same name.
  EXPECT_EQ(score(*m, "Paris", {{"answer", "Paris"}, {"output", "stale"}}).value, 1);
}

TEST_F(code_metric_test, scores_on_several_warm_interpreters_at_once) {
  auto m = metric(studio_template);
  int done = 0, right = 0;
  ioc_.restart();
  for (int i = 0; i < 40; ++i)
    boost::asio::co_spawn(ioc_,
                          [&, i]() -> boost::asio::awaitable<void> {
                            nlohmann::json item = {{"answer", std::to_string(i % 2 ? i : -i)}};
                            auto r = co_await m->judge(no_judge_, std::to_string(i), item);
                            right += r.value == 1;
                            ++done;
                          },
                          boost::asio::detached);
  ASSERT_TRUE(test::poll_until(ioc_, [&] { return done == 40; }));
  EXPECT_EQ(right, 21);  // the odd ones, and 0
}

TEST_F(code_metric_test, validation_finds_what_studio_would_refuse) {
  auto syntax = sandbox_->check("from opik.evaluation.metrics import BaseMetric\nclass M(BaseMetric):\n    def score(self, output:\n");
  ASSERT_TRUE(syntax.problem);
  EXPECT_THAT(syntax.problem->message, StartsWith("SyntaxError"));
  EXPECT_EQ(syntax.problem->line, 3);

  auto none = sandbox_->check("def evaluation_metric(dataset_item, llm_output):\n    return 1\n");
  ASSERT_TRUE(none.problem);
  EXPECT_EQ(none.problem->message, "the code defines no subclass of BaseMetric");

  auto raises = sandbox_->check(
      "from opik.evaluation.metrics import BaseMetric\nclass M(BaseMetric):\n"
      "    def score(self, output, **kw):\n        return kw['answer']\n");
  ASSERT_TRUE(raises.problem);
  EXPECT_EQ(raises.problem->message, "the metric fails on an empty output: KeyError: 'answer'");

  auto import = sandbox_->check("import numpy_that_is_not_there\n");
  ASSERT_TRUE(import.problem);
  EXPECT_THAT(import.problem->message, HasSubstr("No module named 'numpy_that_is_not_there'"));
  EXPECT_EQ(import.problem->line, 1);
}

TEST_F(code_metric_test, hostile_code_fails_its_item_and_nothing_else) {
  auto m = metric(hostile);
  // What it must not reach: a file like the daemon's config, a loopback port of the host, a
  // directory of the host to write in.
  auto dir = std::filesystem::temp_directory_path() / ("optd-sandbox-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "optd.yaml") << "providers: [{name: openai, api_key: sk-secret}]\n";
  std::filesystem::permissions(dir / "optd.yaml", std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                                      std::filesystem::perms::others_read);
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);

  struct attack {
    nlohmann::json item;
    std::string reason;
  };
  std::vector<attack> attacks = {
      {{{"attack", "loop"}}, "Error: CPU time limit exceeded (0.5 s per score)"},
      {{{"attack", "stubborn_loop"}}, "Error: wall time limit exceeded (2 s per score)"},
      {{{"attack", "sleep"}}, "Error: wall time limit exceeded (2 s per score)"},
      {{{"attack", "fork_bomb"}}, "Error: process limit exceeded (16 processes)"},
      {{{"attack", "allocate"}}, "Error: memory limit exceeded (256 MiB)"},
      {{{"attack", "read"}, {"target", "/etc/shadow"}}, "Error: FileNotFoundError: [Errno 2] No such file or directory: '/etc/shadow'"},
      {{{"attack", "read"}, {"target", (dir / "optd.yaml").string()}}, "Error: FileNotFoundError"},
      {{{"attack", "connect"}, {"port", port}}, "Error: ConnectionRefusedError"},
      {{{"attack", "write"}, {"target", (dir / "pwned").string()}}, "Error: FileNotFoundError"},
      {{{"attack", "write"}, {"target", "/usr/pwned"}}, "Error: OSError: [Errno 30] Read-only file system: '/usr/pwned'"},
      {{{"attack", "write"}, {"target", "/pwned"}}, "Error: OSError: [Errno 30] Read-only file system: '/pwned'"},
      {{{"attack", "print"}}, "Error: output limit exceeded: printed more than 1048576 bytes"},
      {{{"attack", "crash"}}, "Error: the interpreter ended"},
  };
  for (const auto& a : attacks) {
    auto r = score(*m, "x", a.item);
    EXPECT_TRUE(r.failed) << a.item.dump();
    EXPECT_EQ(r.value, 0) << a.item.dump();
    EXPECT_THAT(r.reason, HasSubstr(a.reason)) << a.item.dump();
    // The next item is scored as if nothing happened.
    auto after = score(*m, "x", {{"attack", ""}});
    EXPECT_EQ(after.value, 1) << "after " << a.item.dump() << ": " << after.reason;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "pwned"));
  EXPECT_FALSE(std::filesystem::exists("/usr/pwned"));
  // Nobody knocked on the host's port.
  ::fcntl(listener, F_SETFL, O_NONBLOCK);
  EXPECT_LT(::accept(listener, nullptr, nullptr), 0);
  ::close(listener);
  std::filesystem::remove_all(dir);
}

TEST(python_sandbox, says_why_it_cannot_run_code_metrics) {
  auto settings = small_limits();
  settings.bwrap = "/nonexistent/bwrap";
  python_sandbox sandbox(settings);
  ASSERT_TRUE(sandbox.unavailable());
  EXPECT_THAT(*sandbox.unavailable(), HasSubstr("could not execute"));
}

}  // namespace
}  // namespace optd::plugins
