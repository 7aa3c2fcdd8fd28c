#include "sim_server.hpp"

#include <cmath>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace optd::sim {

namespace asio = boost::asio;
using namespace std::chrono;

namespace {

net::http_response json_response(unsigned status, const nlohmann::json& body) {
  return {status, {{"Content-Type", "application/json"}}, body.dump()};
}

net::http_response error_response(unsigned status, std::string message, std::string type) {
  return json_response(status, {{"error", {{"message", std::move(message)}, {"type", std::move(type)}}}});
}

}  // namespace

sim_server::sim_server(asio::any_io_executor ex, server_config config)
    : ex_(std::move(ex)), config_(config), fault_rng_(config.fault_seed) {}

nlohmann::json sim_server::stats_json() const {
  const auto& s = stats_;
  return {{"requests", s.requests},         {"completions", s.completions},
          {"reasoning_completions", s.reasoning}, {"judge_completions", s.judge}, {"rate_limited", s.rate_limited},
          {"faults", {{"failed", s.failed}, {"reset", s.reset}, {"hung", s.hung}, {"malformed", s.malformed}}},
          {"bad_requests", s.bad_requests},
          {"tokens", {{"prompt", s.prompt_tokens}, {"completion", s.completion_tokens}}},
          {"in_flight", s.in_flight},       {"max_in_flight", s.max_in_flight},
          {"duplicate_completions", s.duplicate_completions}};
}

std::optional<net::http_response> sim_server::rate_limit(std::int64_t tokens) {
  if (config_.rpm <= 0 && config_.tpm <= 0) return std::nullopt;
  auto now = steady_clock::now();
  if (now - window_start_ >= minutes(1)) {
    window_start_ = now;
    window_requests_ = window_tokens_ = 0;
  }
  bool over_requests = config_.rpm > 0 && window_requests_ + 1 > config_.rpm;
  bool over_tokens = config_.tpm > 0 && window_tokens_ + tokens > config_.tpm;
  auto reset_ms = duration_cast<milliseconds>(window_start_ + minutes(1) - now).count();
  std::vector<net::http_header> headers{
      {"x-ratelimit-limit-requests", std::to_string(config_.rpm)},
      {"x-ratelimit-remaining-requests", std::to_string(std::max(0LL, config_.rpm - window_requests_))},
      {"x-ratelimit-reset-requests", std::to_string(reset_ms) + "ms"},
      {"x-ratelimit-limit-tokens", std::to_string(config_.tpm)},
      {"x-ratelimit-remaining-tokens", std::to_string(std::max(0LL, config_.tpm - window_tokens_))},
      {"x-ratelimit-reset-tokens", std::to_string(reset_ms) + "ms"}};
  if (!over_requests && !over_tokens) {
    ++window_requests_;
    window_tokens_ += tokens;
    return std::nullopt;
  }
  ++stats_.rate_limited;
  auto res = error_response(429, over_requests ? "Rate limit reached for requests" : "Rate limit reached for tokens",
                            "rate_limit_exceeded");
  headers.push_back({"Retry-After", std::to_string((reset_ms + 999) / 1000)});
  headers.push_back({"retry-after-ms", std::to_string(reset_ms)});
  res.headers.insert(res.headers.end(), headers.begin(), headers.end());
  return res;
}

net::http_response sim_server::completions(const net::http_request& request) {
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("messages") || !body["messages"].is_array()) {
    ++stats_.bad_requests;
    return error_response(400, "body must be a JSON object with a messages array", "invalid_request_error");
  }
  std::vector<sim_message> messages;
  std::int64_t prompt_tokens = 0;
  for (const auto& m : body["messages"]) {
    if (!m.is_object() || !m.contains("content") || !m["content"].is_string()) {
      ++stats_.bad_requests;
      return error_response(400, "each message needs a string content", "invalid_request_error");
    }
    messages.push_back({m.value("role", "user"), m["content"].get<std::string>()});
    prompt_tokens += count_tokens(messages.back().content) + 4;
  }
  if (auto limited = rate_limit(prompt_tokens)) return *limited;

  double temperature = body.contains("temperature") && body["temperature"].is_number() ? body["temperature"].get<double>() : 0;
  auto options = config_.model;
  if (body.contains("seed") && body["seed"].is_number_integer()) options.seed ^= body["seed"].get<std::uint64_t>();
  sim_request asked{std::move(messages), temperature, body.value("response_format", nlohmann::json())};
  bool reasoning = is_reasoning_request(asked), judge = is_judge_request(asked);
  auto text = respond(asked, options);
  auto completion_tokens = count_tokens(text);
  if (!answered_.insert(fnv1a(request.body)).second) ++stats_.duplicate_completions;
  ++stats_.completions;
  if (reasoning) ++stats_.reasoning;
  if (judge) ++stats_.judge;
  stats_.prompt_tokens += static_cast<std::uint64_t>(prompt_tokens);
  stats_.completion_tokens += static_cast<std::uint64_t>(completion_tokens);
  nlohmann::json choice = {{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}, {"finish_reason", "stop"}};
  if (config_.logprobs && body.value("logprobs", false)) {
    auto top = body.contains("top_logprobs") && body["top_logprobs"].is_number_integer() ? body["top_logprobs"].get<int>() : 0;
    auto content = nlohmann::json::array();
    for (const auto& t : answer_logprobs(asked, text, std::clamp(top, 0, 20))) {
      auto alternatives = nlohmann::json::array();
      for (const auto& [token, logprob] : t.top) alternatives.push_back({{"token", token}, {"logprob", logprob}});
      content.push_back({{"token", t.token}, {"logprob", t.logprob}, {"top_logprobs", alternatives}});
    }
    choice["logprobs"] = {{"content", content}};
  }
  return json_response(
      200, {{"id", "chatcmpl-sim-" + std::to_string(stats_.completions)},
            {"object", "chat.completion"},
            {"created", 0},
            {"model", body.value("model", "sim")},
            {"choices", nlohmann::json::array({choice})},
            {"usage", {{"prompt_tokens", prompt_tokens},
                       {"completion_tokens", completion_tokens},
                       {"total_tokens", prompt_tokens + completion_tokens}}}});
}

void sim_server::stop() {
  stopped_ = true;
  for (auto* t : waits_) t->cancel();
}

asio::awaitable<net::http_response> sim_server::handle(net::http_request request) {
  ++stats_.requests;
  auto path = request.target.substr(0, request.target.find('?'));
  if (request.method == "GET" && path == "/stats") co_return json_response(200, stats_json());
  if (request.method == "POST" && path == "/stats/reset") {
    stats_ = {};
    answered_.clear();
    co_return json_response(200, stats_json());
  }
  if (request.method == "GET" && (path == "/v1/models" || path == "/models"))
    co_return json_response(200, {{"object", "list"}, {"data", {{{"id", "sim"}, {"object", "model"}}}}});
  bool chat = path == "/v1/chat/completions" || path == "/chat/completions" || path == "/v1/private/chat/completions" ||
              path == "/api/v1/private/chat/completions";
  if (!chat || request.method != "POST") co_return error_response(404, "no route for " + path, "not_found");

  ++stats_.in_flight;
  stats_.max_in_flight = std::max(stats_.max_in_flight, stats_.in_flight);
  struct in_flight_guard {
    server_stats& s;
    ~in_flight_guard() { --s.in_flight; }
  } guard{stats_};

  std::uniform_real_distribution<double> u(0, 1);
  double delay_ms = config_.latency_ms;
  if (config_.latency_sigma > 0 && delay_ms > 0)
    delay_ms = std::lognormal_distribution<double>(std::log(delay_ms), config_.latency_sigma)(fault_rng_);
  double roll = u(fault_rng_);
  if (roll < config_.hang_rate) {
    ++stats_.hung;
    delay_ms = 3'600'000;
  }
  if (delay_ms > 0 && !stopped_) {
    asio::steady_timer timer(ex_, microseconds(static_cast<long long>(delay_ms * 1000)));
    waits_.insert(&timer);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    waits_.erase(&timer);
  }
  if (stopped_) {
    net::http_response r;
    r.reset_connection = true;
    co_return r;
  }
  roll -= config_.hang_rate;
  if (roll >= 0 && roll < config_.fail_rate) {
    ++stats_.failed;
    co_return error_response(503, "simulated overload", "server_error");
  }
  roll -= config_.fail_rate;
  if (roll >= 0 && roll < config_.reset_rate) {
    ++stats_.reset;
    net::http_response r;
    r.reset_connection = true;
    co_return r;
  }
  roll -= config_.reset_rate;
  if (roll >= 0 && roll < config_.malformed_rate) {
    ++stats_.malformed;
    co_return net::http_response{200, {{"Content-Type", "application/json"}}, R"({"choices":[{"message":{"content":)"};
  }
  co_return completions(request);
}

}  // namespace optd::sim
