// optd serve under systemd's eyes: the notify protocol (READY, STATUS, WATCHDOG, RELOADING,
// STOPPING) on a NOTIFY_SOCKET this test listens on, SIGHUP reloads (good and bad config), and
// journald priority prefixes on stderr.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

// A datagram socket like systemd's notify socket; collects what optd sends.
class notify_socket {
 public:
  explicit notify_socket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << path;
  }
  ~notify_socket() { close(fd_); }

  // Waits until a message containing `text` arrives; returns it ("" after the safety cap).
  std::string wait_for(const std::string& text) {
    std::string found;
    test::eventually([&] {
      char buf[4096];
      for (ssize_t n; (n = recv(fd_, buf, sizeof buf, 0)) > 0;) {
        std::string message(buf, static_cast<std::size_t>(n));
        seen_.push_back(message);
        if (found.empty() && message.find(text) != std::string::npos) found = message;
      }
      if (found.empty())
        for (std::size_t i = checked_; i < seen_.size(); ++i)
          if (seen_[i].find(text) != std::string::npos) {
            found = seen_[i];
            checked_ = i + 1;
            break;
          }
      return !found.empty();
    }, std::chrono::seconds(20));
    return found;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> seen_;
  std::size_t checked_ = 0;
};

TEST(systemd, notify_protocol_reload_and_journald_priorities) {
  auto dir = test::temp_dir("systemd");
  auto config = dir + "/optd.yaml";
  auto base = test::read_file(std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml");
  std::ofstream(config) << base;
  notify_socket notify(dir + "/notify.sock");
  auto serve = child_process::start({OPTD_BIN, "--config", config, "--state-dir", dir + "/state", "serve", "--listen",
                                     "127.0.0.1:0", "--port-file", dir + "/api.port"},
                                    dir, "serve",
                                    {"NOTIFY_SOCKET=" + dir + "/notify.sock", "WATCHDOG_USEC=200000",
                                     "JOURNAL_STREAM=8:12345"});

  EXPECT_EQ(notify.wait_for("READY=1"), "READY=1\nSTATUS=0 runs running, 0 queued; 0 trials, $0.0000 spent by running runs");
  // WatchdogSec=200ms: WATCHDOG=1 every 100 ms, from the event loop.
  EXPECT_EQ(notify.wait_for("WATCHDOG=1"), "WATCHDOG=1");
  EXPECT_EQ(notify.wait_for("WATCHDOG=1"), "WATCHDOG=1");

  // A good reload: RELOADING=1 (with the monotonic time systemd matches), then READY=1.
  std::ofstream(config) << base << "\nmax_concurrent_runs: 7\n";
  serve.signal(SIGHUP);
  EXPECT_THAT(notify.wait_for("RELOADING=1"), HasSubstr("MONOTONIC_USEC="));
  EXPECT_THAT(notify.wait_for("READY=1"), HasSubstr("STATUS="));
  ASSERT_TRUE(test::eventually([&] { return serve.err().find("max_concurrent_runs 7") != std::string::npos; }));
  EXPECT_THAT(serve.err(), HasSubstr("<5>optd: reloaded " + config + ": 1 providers, max_concurrent_runs 7"));

  // A bad one changes nothing, says why at error priority, and optd goes on.
  std::ofstream(config) << base << "\nmax_concurrent_runs: lots\n";
  serve.signal(SIGHUP);
  notify.wait_for("RELOADING=1");
  notify.wait_for("READY=1");
  ASSERT_TRUE(test::eventually([&] { return serve.err().find("reload failed") != std::string::npos; }));
  EXPECT_THAT(serve.err(), HasSubstr("<3>optd: reload: " + config + ":"));
  EXPECT_THAT(serve.err(), HasSubstr("<4>optd: reload failed; the running config stays in effect"));
  notify.wait_for("WATCHDOG=1");  // still beating

  serve.signal(SIGTERM);
  EXPECT_EQ(notify.wait_for("STOPPING=1"), "STOPPING=1");
  EXPECT_EQ(serve.wait(), 0) << serve.err();
  EXPECT_THAT(serve.err(), HasSubstr("<5>optd: stopped"));
}

TEST(systemd, by_hand_the_log_has_no_priority_prefixes) {
  auto dir = test::temp_dir("systemd-plain");
  auto serve = child_process::start({OPTD_BIN, "--config", std::string(OPTD_SOURCE_DIR) + "/config/examples/demo-optd.yaml",
                                     "--state-dir", dir + "/state", "serve", "--listen", "127.0.0.1:0", "--port-file",
                                     dir + "/api.port"},
                                    dir, "serve");
  ASSERT_TRUE(test::eventually([&] { return std::filesystem::exists(dir + "/api.port"); }));
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0);
  EXPECT_THAT(serve.err(), HasSubstr("\noptd: stopped"));
  EXPECT_THAT(serve.err(), ::testing::Not(HasSubstr("<5>")));
}

}  // namespace
}  // namespace optd
