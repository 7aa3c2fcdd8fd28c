#include "opik/dataset_reader.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "core/run_error.hpp"
#include "opik/headers.hpp"

namespace optd::opik {

namespace asio = boost::asio;

dataset_reader::dataset_reader(asio::any_io_executor ex, net::http_client& client, const config::opik_config& cfg,
                               core::retry_policy retry, int page_size)
    : ex_(std::move(ex)),
      client_(client),
      cfg_(cfg),
      retry_(retry),
      page_size_(page_size) {
  auto base = net::parse_url(cfg.url);
  if (!base) throw std::invalid_argument("opik.url is not a valid URL: " + cfg.url);
  base_ = *base;
  timeouts_.total = std::chrono::seconds(60);
}

asio::awaitable<net::http_response> dataset_reader::post(const std::string& target, const std::string& body,
                                                         const std::string& what, const std::optional<run_identity>& who) {
  net::http_request req;
  req.method = "POST";
  req.target = target;
  req.headers = opik_headers(cfg_, who);
  const auto& workspace = who && !who->workspace.empty() ? who->workspace : cfg_.workspace;
  req.body = body;
  std::string why;
  for (int attempt = 1;; ++attempt) {
    auto res = co_await client_.send(base_, req, timeouts_);
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) throw std::runtime_error(what + ": cancelled");
    if (res && res->status >= 200 && res->status < 300) co_return std::move(*res);
    if (res && res->status == 404)
      throw core::run_error("DatasetNotFoundError", what + ": Opik has no such dataset" +
                                (workspace.empty() ? std::string() : " in workspace '" + workspace + "'"));
    why = res ? "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300) : res.error().message();
    if ((res && !core::is_retryable_status(res->status)) || attempt >= retry_.max_attempts) break;
    asio::steady_timer wait(ex_);
    wait.expires_after(core::retry_delay(retry_, attempt, std::nullopt,
                                         std::uniform_real_distribution<double>(0, 1)(jitter_)));
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) throw std::runtime_error(what + ": cancelled");
  }
  throw core::run_error("OpikUnavailableError", what + ": " + why,
                        "gave up after " + std::to_string(retry_.max_attempts) + " attempts");
}

asio::awaitable<opik_dataset> dataset_reader::read(std::string name, std::string project_name,
                                                   std::optional<run_identity> who) {
  const std::string what = "reading dataset '" + name + "' from Opik";
  nlohmann::json ask = {{"dataset_name", name}};
  if (!project_name.empty()) ask["project_name"] = project_name;
  // Named arguments: GCC 12 mishandles temporaries inside a co_await expression.
  const std::string retrieve = "/v1/private/datasets/retrieve", stream = "/v1/private/datasets/items/stream";
  auto body = ask.dump();
  auto found = co_await post(retrieve, body, what, who);
  auto record = nlohmann::json::parse(found.body, nullptr, false);
  if (!record.is_object() || !record.contains("id") || !record["id"].is_string())
    throw std::runtime_error(what + ": Opik's answer has no dataset id");
  opik_dataset out;
  out.id = record["id"].get<std::string>();
  out.name = record.value("name", name);
  out.description = record.contains("description") && record["description"].is_string()
                        ? record["description"].get<std::string>() : "";

  ask["steam_limit"] = page_size_;  // sic: Opik's field name
  for (;;) {
    if (!out.items.empty()) ask["last_retrieved_id"] = out.items.back().id;
    body = ask.dump();
    auto page = co_await post(stream, body, what, who);
    std::size_t count = 0;
    for (std::size_t pos = 0; pos < page.body.size();) {
      auto end = page.body.find("\r\n", pos);
      if (end == std::string::npos) end = page.body.size();
      auto line = std::string_view(page.body).substr(pos, end - pos);
      pos = end + 2;
      if (line.find_first_not_of(" \t\n") == std::string_view::npos) continue;
      auto item = nlohmann::json::parse(line, nullptr, false);
      if (!item.is_object()) throw std::runtime_error(what + ": a stream line is not a JSON object");
      if (item.contains("code") && item.contains("message") && !item.contains("id"))  // Opik's in-stream error
        throw std::runtime_error(what + ": " + item.value("message", std::string("stream error")));
      if (!item.contains("id") || !item["id"].is_string()) throw std::runtime_error(what + ": an item has no id");
      auto id = item["id"].get<std::string>();
      auto data = item.contains("data") && item["data"].is_object() ? item["data"] : nlohmann::json::object();
      out.items.push_back({std::move(id), std::move(data)});
      ++count;
    }
    if (count < static_cast<std::size_t>(page_size_)) break;
  }
  if (out.items.empty()) throw core::run_error("EmptyDatasetError", what + ": the dataset has no items");
  co_return out;
}

}  // namespace optd::opik
