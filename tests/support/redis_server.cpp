#include "support/redis_server.hpp"

#include <csignal>
#include <cstdio>
#include <memory>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace optd::test {

namespace {

// A port the kernel just handed out and took back: free unless another process takes it first,
// which start() survives by trying again.
unsigned short free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

redis_server::redis_server(std::string dir, std::vector<std::string> extra) : dir_(std::move(dir)), extra_(std::move(extra)) {
  start();
}

redis_server::~redis_server() { stop(); }

void redis_server::start() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = free_port();
    std::vector<std::string> args{"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--dir", dir_};
    args.insert(args.end(), extra_.begin(), extra_.end());
    process_ = child_process::start(args, dir_, "redis-" + std::to_string(++starts_));
    bool up = eventually([&] { return process_.out().find("Ready to accept connections") != std::string::npos ||
                                      process_.out().find("Address already in use") != std::string::npos; },
                         std::chrono::seconds(20));
    if (up && process_.out().find("Ready to accept connections") != std::string::npos) return;
    process_.signal(SIGKILL);
    process_.wait();
  }
  ADD_FAILURE() << "redis-server did not start: " << process_.out() << process_.err();
}

void redis_server::stop() {
  if (process_.pid <= 0) return;
  process_.signal(SIGKILL);
  process_.wait();
}

void redis_server::restart() {
  stop();
  auto keep = port_;
  start();
  EXPECT_EQ(port_, keep) << "the port was taken while Redis was down";
}

std::string redis_server::cli(std::vector<std::string> args) const {
  std::string command = "redis-cli -p " + std::to_string(port_);
  for (std::size_t i = 0; i + 1 < extra_.size(); ++i)
    if (extra_[i] == "--requirepass") command += " --no-auth-warning -a " + quoted(extra_[i + 1]);
  for (const auto& a : args) command += " " + quoted(a);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::string out;
  char buf[4096];
  while (pipe && std::fgets(buf, sizeof buf, pipe.get())) out += buf;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace optd::test
