#pragma once
// Provider rate limits: what a config sets, what a provider's answer says about them, and the
// contract of a pacer that sends each attempt only when the limits allow it.
//
// Providers say their limits on every answer. OpenAI: x-ratelimit-{limit,remaining,reset}-
// {requests,tokens}, the reset as a duration ("1s", "6m0s", "20ms"); Azure OpenAI the same names,
// often only the remaining ones; Anthropic: anthropic-ratelimit-{requests,tokens,input-tokens}-
// {limit,remaining,reset}, the reset as an RFC 3339 time. A 429 adds Retry-After (seconds or an
// HTTP date) or retry-after-ms.
#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "core/price.hpp"

namespace optd::core {

struct chat_request;

// Per-minute limits of one model at one provider; unset: unknown (or none).
struct rate_limits {
  std::optional<double> requests_per_minute;
  std::optional<double> tokens_per_minute;
};

// What one answer's headers say. The limits are per minute; resets are relative to the answer.
struct rate_limit_facts {
  std::optional<double> limit_requests, limit_tokens;
  std::optional<double> remaining_requests, remaining_tokens;
  std::optional<std::chrono::milliseconds> reset_requests, reset_tokens;

  bool empty() const noexcept {
    return !limit_requests && !limit_tokens && !remaining_requests && !remaining_tokens;
  }
};

// "1s", "6m0s", "1h2m3.5s", "20ms", "0.5s" (OpenAI's durations); a bare number is seconds.
std::optional<std::chrono::milliseconds> parse_reset_duration(std::string_view text);

// The facts in an answer's headers, OpenAI's or Anthropic's names. `header` looks a header up
// case-insensitively ("" when absent); `now_unix_ms` resolves Anthropic's reset times.
rate_limit_facts parse_rate_limit_facts(const std::function<std::string_view(std::string_view)>& header,
                                        std::int64_t now_unix_ms);

// What a pacer reserved for one attempt, handed back when the attempt is settled.
struct pace_ticket {
  double tokens = 0;  // the estimate it was admitted with
};

// How one attempt went, for the pacer to learn from.
struct attempt_outcome {
  unsigned http_status = 0;  // 0: no answer (connection failed, timed out)
  rate_limit_facts facts;
  std::optional<std::chrono::milliseconds> retry_after;  // the server's wish on a refusal (paced on a 429)
  std::optional<token_usage> usage;                      // a completion's
};

// Paces the attempts of a provider's calls so they stay within its rate limits. Each attempt
// (first or retry) awaits admit() before it is sent and is settled after with what it got.
// Must be used from the event loop thread; cancellation of the awaiting coroutine ends admit()
// with an exception and reserves nothing.
class call_pacer {
 public:
  virtual ~call_pacer() = default;
  virtual boost::asio::awaitable<pace_ticket> admit(const chat_request& request) = 0;
  virtual void settle(const chat_request& request, const pace_ticket& ticket, const attempt_outcome& outcome) = 0;
};

}  // namespace optd::core
