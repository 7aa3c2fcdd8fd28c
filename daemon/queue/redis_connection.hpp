#pragma once
// One connection to Redis: hiredis's asynchronous client (Debian's libhiredis 0.14) driven by the
// Asio event loop. hiredis parses RESP and queues commands; its socket is watched by an Asio
// descriptor, so nothing blocks the loop (the host name is resolved by Asio's resolver first:
// hiredis would resolve it with a blocking getaddrinfo).
//
// Commands issued back to back are pipelined; each completes with its reply in order. A command
// that gets no reply within its timeout closes the connection: every command in flight then fails
// with redis_error, as on a connection lost. A connection is not reopened: make a new one.
//
// Use from the event loop thread. A blocking command (BLMOVE) holds the connection until it
// returns: give it a connection of its own, with a timeout above the block time.
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "config/daemon_config.hpp"

namespace optd::queue {

struct redis_reply {
  enum class kind { nil, string, status, error, integer, array };
  kind type = kind::nil;
  std::string str;  // string, status, error
  long long integer = 0;
  std::vector<redis_reply> elements;  // array

  bool is_nil() const noexcept { return type == kind::nil; }
  bool is_error() const noexcept { return type == kind::error; }
};

// The connection failed, was lost or timed out, or Redis refused the connection's setup (AUTH,
// SELECT). The message names the server and never the password.
class redis_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using redis_command = std::vector<std::string>;

// A command from its words. Coroutines build their commands with it: GCC 12 miscompiles a braced
// list of strings written inside a co_await expression ("array used as initializer").
template <class... Words>
redis_command make_command(Words&&... words) {
  return redis_command{std::string(std::forward<Words>(words))...};
}

class redis_connection {
 public:
  // Connects, authenticates (AUTH, when the endpoint has a password) and selects its database.
  static boost::asio::awaitable<std::unique_ptr<redis_connection>> connect(
      boost::asio::any_io_executor ex, const config::redis_endpoint& endpoint,
      std::chrono::milliseconds timeout = std::chrono::seconds(5));

  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  // The reply (an error reply is a value: `-ERR …` is Redis answering); throws redis_error when
  // the connection fails first.
  boost::asio::awaitable<redis_reply> command(redis_command args,
                                              std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The commands sent at once, their replies in order (MULTI … EXEC inside makes them atomic).
  boost::asio::awaitable<std::vector<redis_reply>> pipeline(std::vector<redis_command> commands,
                                                            std::chrono::milliseconds timeout = std::chrono::seconds(5));

  bool connected() const noexcept;
  // Closes it now: commands in flight fail with redis_error.
  void close() noexcept;
  const std::string& server() const noexcept;

  struct state;  // shared with hiredis's callbacks and the pending Asio waits

 private:
  explicit redis_connection(std::shared_ptr<state> s) : s_(std::move(s)) {}
  std::shared_ptr<state> s_;
};

}  // namespace optd::queue
