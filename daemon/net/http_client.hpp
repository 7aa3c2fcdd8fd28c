#pragma once
// A keep-alive HTTP/1.1 client over Beast, for http and https (certificate and host name
// verified). Connections are pooled per origin; a pooled connection that the server closed is
// replaced once, transparently. Every call has a connect timeout, a response timeout and an
// overall deadline.
//
// Must be used from its executor's thread; many calls may be in flight at once, each on its own
// connection. Failures (resolve, connect, TLS, timeout, reset, malformed response) come back as
// error codes, never as exceptions: beast::error::timeout for a timeout, operation_aborted when
// the awaiting coroutine was cancelled.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include "net/http_message.hpp"
#include "net/url.hpp"

namespace boost::asio::ssl {
class context;
}

namespace optd::net {

struct http_timeouts {
  std::chrono::milliseconds connect{5'000};
  std::chrono::milliseconds read{60'000};    // from sending the request to the end of the response
  std::chrono::milliseconds total{180'000};  // the whole call, connection included
};

struct http_client_stats {
  std::uint64_t connections_opened = 0;
  std::uint64_t requests = 0;
  std::uint64_t stale_reconnects = 0;
};

class http_client {
 public:
  // `tls` may be null; https URLs then fail with errc::invalid_argument. It must outlive the client.
  http_client(boost::asio::any_io_executor ex, boost::asio::ssl::context* tls, std::size_t max_idle_per_origin = 1024);
  ~http_client();
  http_client(const http_client&) = delete;

  // Sends `req` to base.target(req.target). The coroutine keeps references to its arguments:
  // `base`, `req` and `timeouts` must outlive the awaited call (no temporaries).
  boost::asio::awaitable<boost::system::result<http_response>> send(const url& base, const http_request& req,
                                                                     const http_timeouts& timeouts);

  // For a streamed response (Server-Sent Events) that ends when the server closes it: sends `req`
  // on a connection of its own and hands the body to `on_piece` as it arrives. `timeouts.read`
  // is the longest silence allowed between pieces; `total` does not apply. A response that is not
  // 2xx comes back whole, body included, without calling `on_piece`. Same lifetimes as send().
  using piece_handler = std::function<void(std::string_view piece)>;
  boost::asio::awaitable<boost::system::result<http_response>> stream(const url& base, const http_request& req,
                                                                       const http_timeouts& timeouts,
                                                                       const piece_handler& on_piece);

  const http_client_stats& stats() const noexcept { return stats_; }
  std::size_t idle_connections() const noexcept;

 private:
  struct connection;
  boost::asio::awaitable<boost::system::result<std::unique_ptr<connection>>> connect(
      const url& base, std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds connect_timeout);

  boost::asio::any_io_executor ex_;
  boost::asio::ssl::context* tls_;
  std::size_t max_idle_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>> idle_;
  http_client_stats stats_;
};

// A TLS context for clients: system trust store, peer verification on, TLS 1.2 or newer.
std::unique_ptr<boost::asio::ssl::context> make_client_tls_context();

}  // namespace optd::net
