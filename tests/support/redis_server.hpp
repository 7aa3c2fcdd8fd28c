#pragma once
// A real Redis (Debian's redis-server) for tests: on a free loopback port, nothing persisted,
// stopped with the object. redis-cli (Redis's own client) reads and writes it as Opik's backend
// and Redis's users would, independently of optd's client.
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace optd::test {

class redis_server {
 public:
  // `extra`: more redis-server options, e.g. {"--requirepass", "opik"}.
  explicit redis_server(std::string dir, std::vector<std::string> extra = {});
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  unsigned short port() const noexcept { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }
  // redis-cli's answer to `args` (its raw output, one value per line, without the last newline).
  std::string cli(std::vector<std::string> args) const;
  // Stops it (SIGKILL: a crash, nothing saved) and starts it again on the same port, empty.
  void restart();
  void stop();
  void signal(int sig) const { process_.signal(sig); }

 private:
  void start();
  std::string dir_;
  std::vector<std::string> extra_;
  unsigned short port_ = 0;
  child_process process_;
  int starts_ = 0;
};

}  // namespace optd::test
