#include "net/http_client.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/error.hpp"

namespace optd::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct http_client::connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

namespace {

std::chrono::milliseconds remaining(clock_type::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
}

template <class Stream>
asio::awaitable<boost::system::error_code> exchange(Stream& stream, beast::flat_buffer& buffer,
                                                    http::request<http::string_body>& req,
                                                    http::response_parser<http::string_body>& parser) {
  auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
  if (wec) co_return wec;
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
  co_return rec;
}

// Reads a streamed body piece by piece into `on_piece` (or into `out.body` when it is an error).
template <class Stream>
asio::awaitable<boost::system::error_code> read_stream(Stream& stream, beast::tcp_stream& lowest, beast::flat_buffer& buffer,
                                                       std::chrono::milliseconds idle, http_response& out,
                                                       const http_client::piece_handler& on_piece) {
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);  // a stream lasts as long as what it reports
  lowest.expires_after(idle);
  auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
  if (hec) co_return hec;
  out.status = parser.get().result_int();
  for (const auto& f : parser.get()) out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  bool ok = out.status >= 200 && out.status < 300;
  char piece[4096];
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof piece;
    lowest.expires_after(idle);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec && ec != http::error::need_buffer) co_return ec;
    std::string_view got(piece, sizeof piece - parser.get().body().size);
    if (got.empty()) continue;
    if (ok) on_piece(got);
    else out.body.append(got);
  }
  co_return boost::system::error_code{};
}

// Errors that mean a reused connection had been closed by the server before our request.
bool stale_connection_error(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::eof || ec == http::error::partial_message;
}

}  // namespace

http_client::http_client(asio::any_io_executor ex, asio::ssl::context* tls, std::size_t max_idle_per_origin)
    : ex_(std::move(ex)), tls_(tls), max_idle_(max_idle_per_origin) {}

http_client::~http_client() = default;

std::size_t http_client::idle_connections() const noexcept {
  std::size_t n = 0;
  for (const auto& [k, v] : idle_) n += v.size();
  return n;
}

asio::awaitable<boost::system::result<std::unique_ptr<http_client::connection>>> http_client::connect(
    const url& base, clock_type::time_point deadline, std::chrono::milliseconds connect_timeout) {
  if (base.tls() && tls_ == nullptr) co_return core::errc::invalid_argument;
  tcp::resolver resolver(ex_);
  auto [rec, results] = co_await resolver.async_resolve(base.host, base.port, use_tuple);
  if (rec) co_return rec;
  auto conn = std::make_unique<connection>();
  auto tcp_stream = std::make_unique<beast::tcp_stream>(ex_);
  tcp_stream->expires_after(std::min(connect_timeout, remaining(deadline)));
  auto [cec, ep] = co_await tcp_stream->async_connect(results, use_tuple);
  if (cec) co_return cec;
  tcp_stream->socket().set_option(tcp::no_delay(true));
  ++stats_.connections_opened;
  if (!base.tls()) {
    conn->plain = std::move(tcp_stream);
    co_return conn;
  }
  conn->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*tcp_stream), *tls_);
  if (!SSL_set_tlsext_host_name(conn->secure->native_handle(), base.host.c_str()))
    co_return boost::system::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
  conn->secure->set_verify_mode(asio::ssl::verify_peer);
  conn->secure->set_verify_callback(asio::ssl::host_name_verification(base.host));
  auto [hec] = co_await conn->secure->async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) co_return hec;
  co_return conn;
}

namespace {

http::request<http::string_body> beast_request(const url& base, const http_request& request, bool keep_alive) {
  http::request<http::string_body> req;
  req.method(http::string_to_verb(request.method));
  req.target(base.target(request.target));
  req.version(11);
  req.set(http::field::host, base.host);
  req.set(http::field::user_agent, "optd/0.1");
  for (const auto& h : request.headers) req.set(h.name, h.value);
  req.body() = request.body;
  req.keep_alive(keep_alive);
  req.prepare_payload();
  return req;
}

}  // namespace

asio::awaitable<boost::system::result<http_response>> http_client::stream(const url& base, const http_request& request,
                                                                          const http_timeouts& timeouts,
                                                                          const piece_handler& on_piece) {
  ++stats_.requests;
  auto made = co_await connect(base, clock_type::now() + timeouts.connect, timeouts.connect);
  if (!made) co_return made.error();
  auto& conn = **made;
  auto req = beast_request(base, request, false);
  conn.lowest().expires_after(timeouts.read);
  boost::system::error_code ec;
  http_response out;
  if (conn.secure) {
    std::tie(ec, std::ignore) = co_await http::async_write(*conn.secure, req, use_tuple);
    if (!ec) ec = co_await read_stream(*conn.secure, conn.lowest(), conn.buffer, timeouts.read, out, on_piece);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_write(*conn.plain, req, use_tuple);
    if (!ec) ec = co_await read_stream(*conn.plain, conn.lowest(), conn.buffer, timeouts.read, out, on_piece);
  }
  if (ec) co_return ec;
  co_return out;
}

asio::awaitable<boost::system::result<http_response>> http_client::send(const url& base, const http_request& request,
                                                                        const http_timeouts& timeouts) {
  const auto deadline = clock_type::now() + timeouts.total;
  const auto origin = base.origin();
  ++stats_.requests;
  auto req = beast_request(base, request, true);

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<connection> conn;
    auto& pool = idle_[origin];
    bool reused = false;
    if (!pool.empty()) {
      conn = std::move(pool.back());
      pool.pop_back();
      reused = true;
    } else {
      auto made = co_await connect(base, deadline, timeouts.connect);
      if (!made) co_return made.error();
      conn = std::move(*made);
    }
    auto budget = remaining(deadline);
    if (budget.count() <= 0) co_return beast::error::timeout;
    conn->lowest().expires_after(std::min(timeouts.read, budget));

    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    auto ec = conn->secure ? co_await exchange(*conn->secure, conn->buffer, req, parser)
                           : co_await exchange(*conn->plain, conn->buffer, req, parser);
    if (ec) {
      if (reused && attempt == 0 && stale_connection_error(ec) && !parser.got_some()) {
        ++stats_.stale_reconnects;
        continue;
      }
      co_return ec;
    }
    auto res = parser.release();
    http_response out;
    out.status = res.result_int();
    for (const auto& f : res) out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    out.body = std::move(res.body());
    if (res.keep_alive() && pool.size() < max_idle_) {
      conn->lowest().expires_never();
      idle_[origin].push_back(std::move(conn));
    }
    co_return out;
  }
}

std::unique_ptr<asio::ssl::context> make_client_tls_context() {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_default_verify_paths();
  ctx->set_verify_mode(asio::ssl::verify_peer);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  return ctx;
}

}  // namespace optd::net
