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

// The prompt tokens of a chat body as completions() counts them; 0 for a body it will refuse.
std::int64_t prompt_tokens_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) return 0;
  std::int64_t tokens = 0;
  for (const auto& m : j["messages"])
    if (m.is_object() && m.contains("content") && m["content"].is_string())
      tokens += count_tokens(m["content"].get<std::string>()) + 4;
  return tokens;
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
          {"duplicate_completions", s.duplicate_completions},
          {"accepted", s.accepted},
          {"accepting_s", s.first_request && s.last_accepted ? duration<double>(*s.last_accepted - *s.first_request).count() : 0.0},
          {"busy_s", s.first_request && s.last_answer ? duration<double>(*s.last_answer - *s.first_request).count() : 0.0}};
}

std::optional<net::http_response> sim_server::rate_limit(std::int64_t tokens, std::vector<net::http_header>& headers) {
  if (config_.rpm <= 0 && config_.tpm <= 0) return std::nullopt;
  const auto now = steady_clock::now();
  const auto window = config_.rate_window;
  while (!window_.empty() && window_.front().at + window <= now) {
    window_tokens_ -= window_.front().tokens;
    window_.pop_front();
  }
  // Each per-minute limit scaled to the window, at least one request (or prompt) per window.
  auto scaled = [&](long long per_minute) {
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(per_minute) *
                                                               duration<double>(window).count() / 60.0));
  };
  const std::int64_t max_requests = config_.rpm > 0 ? scaled(config_.rpm) : 0;
  const std::int64_t max_tokens = config_.tpm > 0 ? scaled(config_.tpm) : 0;
  bool over_requests = max_requests > 0 && static_cast<std::int64_t>(window_.size()) + 1 > max_requests;
  bool over_tokens = max_tokens > 0 && window_tokens_ + tokens > max_tokens && !window_.empty();
  if (!over_requests && !over_tokens) {
    window_.push_back({now, tokens});
    window_tokens_ += tokens;
  }
  // OpenAI's names: the limits per minute, what is left in the window, and the time until the
  // window is back to its full allowance (its newest request leaves it).
  auto ms = [](steady_clock::duration d) { return std::max<long long>(0, duration_cast<milliseconds>(d).count()); };
  auto reset = window_.empty() ? 0 : ms(window_.back().at + window - now);
  auto add = [&](const char* unit, long long limit, std::int64_t left) {
    if (limit <= 0) return;
    headers.push_back({std::string("x-ratelimit-limit-") + unit, std::to_string(limit)});
    headers.push_back({std::string("x-ratelimit-remaining-") + unit, std::to_string(std::max<std::int64_t>(0, left))});
    headers.push_back({std::string("x-ratelimit-reset-") + unit, std::to_string(reset) + "ms"});
  };
  add("requests", config_.rpm, max_requests - static_cast<std::int64_t>(window_.size()));
  add("tokens", config_.tpm, max_tokens - window_tokens_);
  if (!over_requests && !over_tokens) return std::nullopt;

  // When the request would fit: once enough of the oldest have left the window.
  auto fits = now;
  std::int64_t requests = static_cast<std::int64_t>(window_.size()), held = window_tokens_;
  for (const auto& a : window_) {
    bool ok = (max_requests == 0 || requests + 1 <= max_requests) && (max_tokens == 0 || held + tokens <= max_tokens);
    if (ok) break;
    fits = a.at + window;
    --requests;
    held -= a.tokens;
  }
  ++stats_.rate_limited;
  auto res = error_response(429, over_requests ? "Rate limit reached for requests" : "Rate limit reached for tokens",
                            "rate_limit_exceeded");
  auto wait = ms(fits - now) + 1;
  headers.push_back({"Retry-After", std::to_string((wait + 999) / 1000)});
  headers.push_back({"retry-after-ms", std::to_string(wait)});
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

  if (!stats_.first_request) stats_.first_request = steady_clock::now();
  std::vector<net::http_header> limits;
  if (auto limited = rate_limit(prompt_tokens_of(request.body), limits)) co_return *limited;
  ++stats_.accepted;
  stats_.last_accepted = steady_clock::now();
  auto with_limits = [&](net::http_response r) {
    stats_.last_answer = steady_clock::now();
    r.headers.insert(r.headers.end(), limits.begin(), limits.end());
    return r;
  };

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
    co_return with_limits(error_response(503, "simulated overload", "server_error"));
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
    co_return with_limits({200, {{"Content-Type", "application/json"}}, R"({"choices":[{"message":{"content":)"});
  }
  co_return with_limits(completions(request));
}

}  // namespace optd::sim
