#pragma once
// Test helpers: a fake clock (sleep advances time and returns at once), a runner that drives an
// io_context until a coroutine finishes (with a wall-clock safety cap that fails the test, never
// a wait the test relies on), and a scripted loopback HTTP server on port 0.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"

namespace optd::test {

class fake_clock final : public core::clock {
 public:
  explicit fake_clock(std::chrono::system_clock::time_point start = std::chrono::system_clock::time_point(
                          std::chrono::seconds(1'790'000'000)))
      : now_(start) {}
  std::chrono::system_clock::time_point now() const override { return now_; }
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d) override {
    sleeps.push_back(d);
    now_ += d;
    co_return;
  }
  void advance(std::chrono::milliseconds d) { now_ += d; }
  std::vector<std::chrono::milliseconds> sleeps;

 private:
  std::chrono::system_clock::time_point now_;
};

// Runs `a` on `ioc` until it completes; rethrows its exception. Fails the test (and returns
// nullopt) if it has not finished within `cap` of wall time.
template <class T>
std::optional<T> run(boost::asio::io_context& ioc, boost::asio::awaitable<T> a,
                     std::chrono::seconds cap = std::chrono::seconds(30)) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(ioc, std::move(a), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) result = std::move(v);
    done = true;
  });
  auto deadline = std::chrono::steady_clock::now() + cap;
  while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_one_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(done) << "coroutine did not finish within the safety cap";
  if (error) std::rethrow_exception(error);
  return result;
}

void run(boost::asio::io_context& ioc, boost::asio::awaitable<void> a, std::chrono::seconds cap = std::chrono::seconds(30));

// Polls `ioc` until `pred` holds; fails the test after `cap`.
bool poll_until(boost::asio::io_context& ioc, const std::function<bool()>& pred,
                std::chrono::seconds cap = std::chrono::seconds(30));

// A loopback server whose answers come from `script`; it records every request it received.
class scripted_server {
 public:
  using script = std::function<net::http_response(const net::http_request&, int index)>;
  scripted_server(boost::asio::io_context& ioc, script s);
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  unsigned short port() const noexcept { return port_; }
  const std::vector<net::http_request>& received() const noexcept { return received_; }
  std::uint64_t connections() const { return server_.connections_opened(); }
  void stop() { server_.stop(); }

 private:
  script script_;
  std::vector<net::http_request> received_;
  net::http_server server_;
  unsigned short port_ = 0;
};

// One HTTP exchange with `base` ("http://127.0.0.1:PORT") on an io_context of its own, as a
// separate client process would make it; a JSON body. Fails the test when it cannot connect.
net::http_response http(const std::string& base, std::string method, std::string target, std::string body = {},
                        std::vector<net::http_header> headers = {});

// Reads a whole file; empty when it cannot.
std::string read_file(const std::string& path);
// A fresh, empty directory under the test temp dir.
std::string temp_dir(const std::string& name);

}  // namespace optd::test
