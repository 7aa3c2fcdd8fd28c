#include "plugins/providers/openai_compatible.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

namespace optd::plugins {

namespace asio = boost::asio;
using namespace std::chrono;

namespace {

struct attempt_failure {
  core::llm_error error;
  bool retryable = false;
  std::optional<milliseconds> server_hint;
};

std::string error_text(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  std::string msg;
  if (j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    msg = e.is_object() && e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>()
                                                                               : e.dump();
  } else if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    msg = j["message"].get<std::string>();
  } else {
    msg = body;
  }
  if (msg.size() > 300) msg = msg.substr(0, 300) + "…";
  return msg;
}

std::optional<core::completion> parse_completion(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return std::nullopt;
  const auto& choice = j["choices"][0];
  if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object()) return std::nullopt;
  const auto& content = choice["message"].value("content", nlohmann::json());
  if (!content.is_string() && !content.is_null()) return std::nullopt;
  core::completion c;
  c.text = content.is_string() ? content.get<std::string>() : std::string();
  if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
    c.finish_reason = choice["finish_reason"].get<std::string>();
  if (j.contains("usage") && j["usage"].is_object()) {
    const auto& u = j["usage"];
    c.usage.prompt_tokens = u.value("prompt_tokens", std::int64_t{0});
    c.usage.completion_tokens = u.value("completion_tokens", std::int64_t{0});
  }
  return c;
}

}  // namespace

openai_compatible::openai_compatible(net::http_client& client, core::clock& clock, openai_compatible_settings settings,
                                     std::uint64_t jitter_seed)
    : client_(client), clock_(clock), settings_(std::move(settings)), jitter_(jitter_seed) {}

std::string openai_compatible::request_body(const core::chat_request& request) {
  auto body = core::to_json(request);
  body["stream"] = false;
  return body.dump();
}

asio::awaitable<core::completion_result> openai_compatible::complete(const core::chat_request& request) {
  net::http_request http;
  http.method = "POST";
  http.target = settings_.path;
  http.headers = settings_.headers;
  http.headers.push_back({"Content-Type", "application/json"});
  http.body = request_body(request);

  const auto started = steady_clock::now();
  const auto deadline = clock_.now() + settings_.timeouts.total;
  const int max_attempts = std::max(1, settings_.retry.max_attempts);
  for (int attempt = 1;; ++attempt) {
    auto timeouts = settings_.timeouts;
    timeouts.total = duration_cast<milliseconds>(deadline - clock_.now());
    if (timeouts.total.count() <= 0)
      co_return core::llm_error{core::errc::provider_timeout, "call exceeded its overall timeout", 0, attempt - 1};

    auto sent = co_await client_.send(settings_.base, http, timeouts);
    attempt_failure failure;
    if (!sent) {
      const auto& ec = sent.error();
      if (ec == asio::error::operation_aborted)
        co_return core::llm_error{core::errc::cancelled, "cancelled", 0, attempt};
      bool timeout = ec == boost::beast::error::timeout;
      failure.error = {timeout ? core::errc::provider_timeout : core::errc::provider_unavailable,
                       (timeout ? "timed out: " : "connection failed: ") + ec.message(), 0, attempt};
      failure.retryable = ec != core::errc::invalid_argument;
    } else if (sent->status >= 200 && sent->status < 300) {
      if (auto c = parse_completion(sent->body)) {
        c->attempts = attempt;
        c->latency = duration_cast<microseconds>(steady_clock::now() - started);
        co_return std::move(*c);
      }
      failure.error = {core::errc::provider_bad_response, "response is not a chat completion", sent->status, attempt};
      failure.retryable = true;
    } else {
      failure.error = {core::is_retryable_status(sent->status) ? core::errc::provider_unavailable
                                                               : core::errc::provider_http_error,
                       "HTTP " + std::to_string(sent->status) + ": " + error_text(sent->body), sent->status, attempt};
      failure.retryable = core::is_retryable_status(sent->status);
      auto now_s = duration_cast<seconds>(clock_.now().time_since_epoch()).count();
      failure.server_hint = core::parse_retry_after(sent->header("retry-after"), sent->header("retry-after-ms"), now_s);
    }
    if (!failure.retryable || attempt >= max_attempts) co_return failure.error;

    double u = std::uniform_real_distribution<double>(0, 1)(jitter_);
    auto delay = core::retry_delay(settings_.retry, attempt, failure.server_hint, u);
    if (clock_.now() + delay >= deadline) co_return failure.error;
    co_await clock_.sleep(delay);
  }
}

}  // namespace optd::plugins
