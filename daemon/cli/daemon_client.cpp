#include "cli/daemon_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "net/event_stream_parser.hpp"
#include "net/http_client.hpp"

namespace optd::cli {

struct daemon_client::impl {
  boost::asio::io_context ioc{1};
  net::http_client http{ioc.get_executor(), nullptr};
};

daemon_client::daemon_client(const std::string& server, std::string token)
    : impl_(std::make_unique<impl>()), server_(server), token_(std::move(token)) {
  auto u = net::parse_url(server + "/api");
  if (!u) throw std::invalid_argument("not an http:// URL: " + server);
  base_ = *u;
}

daemon_client::~daemon_client() = default;
daemon_client::daemon_client(daemon_client&&) noexcept = default;

namespace {

// Runs one exchange of `client` to its end on `ioc`.
boost::system::result<net::http_response> run_to_end(
    boost::asio::io_context& ioc, boost::asio::awaitable<boost::system::result<net::http_response>> exchange) {
  std::optional<boost::system::result<net::http_response>> out;
  boost::asio::co_spawn(ioc, std::move(exchange), [&](std::exception_ptr e, boost::system::result<net::http_response> res) {
    if (e) std::rethrow_exception(e);
    out = std::move(res);
  });
  ioc.restart();
  ioc.run();
  return std::move(*out);
}

}  // namespace

net::http_request daemon_client::request(const std::string& method, const std::string& target, const std::string& body,
                                         const std::string& content_type) const {
  net::http_request r;
  r.method = method;
  r.target = target;
  r.body = body;
  if (!body.empty()) r.headers.push_back({"Content-Type", content_type});
  if (!token_.empty()) r.headers.push_back({"authorization", token_});
  return r;
}

boost::system::result<net::http_response> daemon_client::call(const std::string& method, const std::string& target,
                                                              const std::string& body, const std::string& content_type) {
  auto r = request(method, target, body, content_type);
  const net::http_timeouts timeouts{std::chrono::seconds(5), std::chrono::seconds(60), std::chrono::seconds(60)};
  return run_to_end(impl_->ioc, impl_->http.send(base_, r, timeouts));
}

boost::system::result<net::http_response> daemon_client::follow(const std::string& target, const event_handler& on_event) {
  auto r = request("GET", target);
  r.headers.push_back({"Accept", "text/event-stream"});
  net::event_stream_parser parser(on_event);
  const net::http_client::piece_handler feed = [&](std::string_view piece) { parser.feed(piece); };
  const net::http_timeouts timeouts{std::chrono::seconds(5), std::chrono::seconds(60), std::chrono::seconds(60)};
  return run_to_end(impl_->ioc, impl_->http.stream(base_, r, timeouts, feed));
}

std::string error_message(const net::http_response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"];
  if (j.is_object() && j.contains("errors") && j["errors"].is_array()) {
    std::string out;
    for (const auto& e : j["errors"]) out += (out.empty() ? "" : "\n") + (e.is_string() ? e.get<std::string>() : e.dump());
    return out;
  }
  return r.body;
}

}  // namespace optd::cli
