#include "net/http_server.hpp"

#include <iostream>
#include <list>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/content_encoding.hpp"

namespace optd::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

http_response too_large() {
  return {413, {{"Content-Type", "application/json"}}, R"({"code":413,"message":"request body is too large"})"};
}

http_response malformed() {
  return {400, {{"Content-Type", "application/json"}}, R"({"code":400,"message":"malformed HTTP request"})"};
}

http_request from_beast(http::request<http::string_body>&& req) {
  http_request request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  for (const auto& f : req) request.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  request.body = std::move(req.body());
  return request;
}

}  // namespace

std::optional<parsed_request> parse_request(std::string_view raw, std::size_t body_limit) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  parser.eager(true);
  beast::error_code ec;
  parser.put(asio::buffer(raw.data(), raw.size()), ec);
  if (ec == http::error::need_more) return std::nullopt;
  if (ec == http::error::body_limit || ec == http::error::header_limit) return parsed_request{std::nullopt, too_large()};
  if (ec) return parsed_request{std::nullopt, malformed()};
  if (!parser.is_done()) return std::nullopt;
  auto request = from_beast(parser.release());
  if (auto refused = decode_request_body(request, body_limit)) return parsed_request{std::nullopt, std::move(refused)};
  return parsed_request{std::move(request), std::nullopt};
}
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct http_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, request_handler h, http_server_options o)
      : ex(std::move(e)), handler(std::move(h)), options(o), acceptor(ex) {}

  asio::any_io_executor ex;
  request_handler handler;
  http_server_options options;
  tcp::acceptor acceptor;
  std::list<std::weak_ptr<beast::tcp_stream>> sessions;
  std::uint64_t opened = 0;
  bool stopped = false;

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopped) co_return;
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      socket.set_option(tcp::no_delay(true));
      ++opened;
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      sessions.remove_if([](const auto& w) { return w.expired(); });
      sessions.push_back(stream);
      asio::co_spawn(ex, session(self, stream), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& err) {
          std::cerr << "http session ended with an error: " << err.what() << "\n";
        }
      });
    }
  }

  static http::response<http::string_body> to_beast(http_response&& r, unsigned version, bool keep_alive) {
    http::response<http::string_body> out{static_cast<http::status>(r.status), version};
    for (auto& h : r.headers) out.set(h.name, h.value);
    out.body() = std::move(r.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    return out;
  }

  // Headers without a length, then the pieces as they come; the end of the body is the close.
  static asio::awaitable<void> write_stream(impl& self, beast::tcp_stream& stream, http_response& response,
                                           unsigned version) {
    http::response<http::empty_body> head{static_cast<http::status>(response.status), version};
    for (auto& h : response.headers) head.set(h.name, h.value);
    head.keep_alive(false);
    http::response_serializer<http::empty_body> sr{head};
    stream.expires_after(self.options.read_timeout);
    auto [ec, n] = co_await http::async_write_header(stream, sr, use_tuple);
    while (!ec && !self.stopped) {
      stream.expires_never();
      auto piece = co_await response.stream();
      if (!piece || self.stopped) break;
      stream.expires_after(self.options.read_timeout);
      std::tie(ec, n) = co_await asio::async_write(stream, asio::buffer(*piece), use_tuple);
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  static asio::awaitable<void> session(std::shared_ptr<impl> self, std::shared_ptr<beast::tcp_stream> stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(self->options.body_limit);
      stream->expires_after(self->options.read_timeout);
      auto [ec, n] = co_await http::async_read_header(*stream, buffer, parser, use_tuple);
      // A client that asks (curl does for bodies over 1 KiB) is told to send its body now,
      // instead of waiting a second for an answer that never comes; not one that sent it already,
      // nor an HTTP/1.0 one (RFC 9110 §10.1.1).
      if (!ec && !parser.is_done() && buffer.size() == 0 && parser.get().version() >= 11 &&
          beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
        std::tie(ec, n) = co_await http::async_write(*stream, go_on, use_tuple);
      }
      if (!ec) std::tie(ec, n) = co_await http::async_read(*stream, buffer, parser, use_tuple);
      if (ec) {
        if (ec == http::error::body_limit || ec == http::error::header_limit) {
          auto out = to_beast(too_large(), 11, false);
          co_await http::async_write(*stream, out, use_tuple);
        } else if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                   ec != asio::error::operation_aborted && ec != asio::error::connection_reset && ec != asio::error::eof &&
                   parser.got_some()) {
          auto out = to_beast(malformed(), 11, false);
          co_await http::async_write(*stream, out, use_tuple);
        }
        beast::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return;
      }
      auto req = parser.release();
      bool keep_alive = req.keep_alive();
      unsigned version = req.version();
      auto request = from_beast(std::move(req));
      stream->expires_never();

      http_response response;
      try {
        // A gzip body is inflated up to the same limit a plain one has.
        if (auto refused = decode_request_body(request, self->options.body_limit)) response = std::move(*refused);
        else response = co_await self->handler(std::move(request));
      } catch (const std::exception& e) {
        std::cerr << "http handler failed: " << e.what() << "\n";
        response = {500, {{"Content-Type", "application/json"}}, R"({"code":500,"message":"internal server error"})"};
      }
      if (response.reset_connection || self->stopped) {
        beast::error_code ignored;
        stream->socket().set_option(asio::socket_base::linger(true, 0), ignored);
        stream->socket().close(ignored);
        co_return;
      }
      if (response.stream) {
        co_await write_stream(*self, *stream, response, version);
        co_return;
      }
      auto out = to_beast(std::move(response), version, keep_alive);
      stream->expires_after(self->options.read_timeout);
      auto [wec, wn] = co_await http::async_write(*stream, out, use_tuple);
      if (wec || !keep_alive) {
        beast::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return;
      }
    }
  }
};

http_server::http_server(asio::any_io_executor ex, request_handler handler, http_server_options options)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(handler), options)) {}

http_server::~http_server() { stop(); }

unsigned short http_server::listen(std::string_view host, unsigned short port) {
  tcp::endpoint ep(asio::ip::make_address(std::string(host)), port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  return impl_->acceptor.local_endpoint().port();
}

void http_server::start() {
  asio::co_spawn(impl_->ex, impl_->accept_loop(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

void http_server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto& w : impl_->sessions)
    if (auto s = w.lock()) s->socket().close(ignored);
  impl_->sessions.clear();
}

std::uint64_t http_server::connections_opened() const noexcept { return impl_->opened; }

}  // namespace optd::net
