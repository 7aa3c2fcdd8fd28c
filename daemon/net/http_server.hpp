#pragma once
// A small HTTP/1.1 server over Beast: one coroutine per connection, keep-alive, a body limit, a
// read timeout, and a handler coroutine per request. Used by llm-sim and by optd's API.
//
// Must be used from its executor's thread. A handler that throws produces a 500 with a generic
// body (the exception text is not disclosed). stop() closes the listener and every connection.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "net/http_message.hpp"

namespace optd::net {

struct http_server_options {
  // A body larger gets 413; so does a gzip body (Content-Encoding) that inflates to more.
  std::size_t body_limit = 8u << 20;
  std::chrono::milliseconds read_timeout{30'000};  // per request, including an idle keep-alive wait
};

using request_handler = std::function<boost::asio::awaitable<http_response>(http_request)>;

// One HTTP/1.1 request parsed from `raw` as a session parses what it reads (Beast's parser, the
// body limit, a gzip body inflated), without a socket: the request, or the answer a session gives to bytes that are not
// one (400 malformed, 413 too large); nullopt when `raw` ends before the request does. For the
// fuzzer.
struct parsed_request {
  std::optional<http_request> request;
  std::optional<http_response> refusal;
};
std::optional<parsed_request> parse_request(std::string_view raw, std::size_t body_limit);

class http_server {
 public:
  http_server(boost::asio::any_io_executor ex, request_handler handler, http_server_options options = {});
  ~http_server();
  http_server(const http_server&) = delete;

  // Binds and listens; returns the bound port (the kernel's choice for port 0). Throws on failure.
  unsigned short listen(std::string_view host, unsigned short port);
  // Starts accepting on the executor.
  void start();
  void stop();

  std::uint64_t connections_opened() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace optd::net
