#include "cli/daemon_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

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

boost::system::result<net::http_response> daemon_client::call(const std::string& method, const std::string& target,
                                                              const std::string& body, const std::string& content_type) {
  net::http_request r;
  r.method = method;
  r.target = target;
  r.body = body;
  if (!body.empty()) r.headers.push_back({"Content-Type", content_type});
  if (!token_.empty()) r.headers.push_back({"authorization", token_});
  std::optional<boost::system::result<net::http_response>> out;
  const net::http_timeouts timeouts{std::chrono::seconds(5), std::chrono::seconds(60), std::chrono::seconds(60)};
  boost::asio::co_spawn(impl_->ioc, impl_->http.send(base_, r, timeouts),
                        [&](std::exception_ptr e, boost::system::result<net::http_response> res) {
                          if (e) std::rethrow_exception(e);
                          out = std::move(res);
                        });
  impl_->ioc.restart();
  impl_->ioc.run();
  return std::move(*out);
}

std::string daemon_client::resolve_run_id(const std::string& id_or_prefix) {
  if (id_or_prefix.size() == 36) return id_or_prefix;
  auto r = call("GET", "/v1/private/optimizations?page=1&size=100000");
  if (!r || r->status != 200) return {};
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  std::string found;
  for (const auto& o : j.value("content", nlohmann::json::array())) {
    auto id = o.value("id", std::string());
    if (id.rfind(id_or_prefix, 0) != 0) continue;
    if (!found.empty()) return {};  // ambiguous
    found = id;
  }
  return found;
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
