#include "engine/rate_gate.hpp"

#include <algorithm>
#include <cmath>

#include "core/llm.hpp"

namespace optd::engine {

using namespace std::chrono;
using time_point = system_clock::time_point;

namespace {

// How far an attempt may be sent from its moment and keep the pace's schedule, early or late:
// waits are whole milliseconds and timers fire late, and without it each would slow the pace.
// Any 60 attempts in a row still span 60 intervals less 2 tolerances: at 99% of 60 a second,
// 1,006 ms, so a 1 s window never holds 61.
constexpr microseconds tolerance = milliseconds(2);

constexpr milliseconds max_pause = minutes(1);

// The time `units` take at `per_minute`.
microseconds interval(double per_minute, double units) {
  return microseconds(static_cast<long long>(std::ceil(units * 60e6 / per_minute)));
}

std::optional<double> lower(std::optional<double> a, std::optional<double> b) {
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

}  // namespace

struct rate_gate::pace {
  async_semaphore turn{1};  // one attempt at a time waits for its moment; runs take turns
  core::rate_limits configured, learned;
  time_point next_request{}, next_tokens{};  // GCRA's theoretical arrival times
  time_point paused_until{};
  std::optional<double> tokens_per_byte;  // what the answers' usage showed

  double estimate_prompt(const core::chat_request& r) const {
    // Until an answer tells, a token is taken as 4 bytes (English text with OpenAI's tokenizers).
    return static_cast<double>(core::prompt_bytes(r)) * tokens_per_byte.value_or(0.25);
  }
};

rate_gate::rate_gate(core::clock& clock, limits_of configured) : clock_(clock), configured_(std::move(configured)) {}

rate_gate::~rate_gate() = default;

rate_gate::pace& rate_gate::pace_of(std::string_view model) {
  auto it = paces_.find(model);
  if (it == paces_.end()) {
    it = paces_.emplace(std::string(model), std::make_unique<pace>()).first;
    it->second->configured = configured_ ? configured_(model) : core::rate_limits{};
  }
  return *it->second;
}

core::rate_limits rate_gate::in_force(const pace& p) const {
  core::rate_limits l{lower(p.configured.requests_per_minute, p.learned.requests_per_minute),
                      lower(p.configured.tokens_per_minute, p.learned.tokens_per_minute)};
  if (l.requests_per_minute) *l.requests_per_minute *= margin;
  if (l.tokens_per_minute) *l.tokens_per_minute *= margin;
  return l;
}

core::rate_limits rate_gate::in_force(std::string_view model) const {
  auto it = paces_.find(model);
  return it == paces_.end() ? core::rate_limits{} : in_force(*it->second);
}

void rate_gate::for_each(const std::function<void(const std::string&, const core::rate_limits&)>& f) const {
  for (const auto& [model, p] : paces_) f(model, in_force(*p));
}

boost::asio::awaitable<core::pace_ticket> rate_gate::admit(const core::chat_request& request) {
  auto& p = pace_of(request.model);
  co_await p.turn.acquire(request.share_key);
  semaphore_permit permit(p.turn);
  const double tokens = p.estimate_prompt(request) + static_cast<double>(core::max_tokens_of(request).value_or(0));
  const auto started = clock_.now();
  for (;;) {
    // Asked again after each wait: a 429 or a newly learned limit may have moved the moment.
    auto limits = in_force(p);
    auto ready = p.paused_until;
    if (limits.requests_per_minute) ready = std::max(ready, p.next_request - tolerance);
    if (limits.tokens_per_minute) ready = std::max(ready, p.next_tokens - tolerance);
    auto now = clock_.now();
    if (ready <= now) {
      if (limits.requests_per_minute)
        p.next_request = std::max(p.next_request, now - tolerance) + interval(*limits.requests_per_minute, 1);
      if (limits.tokens_per_minute)
        p.next_tokens = std::max(p.next_tokens, now - tolerance) + interval(*limits.tokens_per_minute, tokens);
      break;
    }
    co_await clock_.sleep(ceil<milliseconds>(ready - now));
  }
  waited_ += duration_cast<microseconds>(clock_.now() - started);
  co_return core::pace_ticket{tokens};
}

void rate_gate::settle(const core::chat_request& request, const core::pace_ticket& ticket,
                       const core::attempt_outcome& outcome) {
  if (outcome.http_status == 0) ++unanswered_;
  auto& p = pace_of(request.model);
  const auto& facts = outcome.facts;
  if (facts.limit_requests && *facts.limit_requests > 0) p.learned.requests_per_minute = facts.limit_requests;
  if (facts.limit_tokens && *facts.limit_tokens > 0) p.learned.tokens_per_minute = facts.limit_tokens;
  auto limits = in_force(p);
  auto now = clock_.now();

  if (outcome.usage && outcome.usage->prompt_tokens > 0) {
    // The estimate was off by what the provider counted: the pace makes up for it, and the
    // ratio learned makes the next estimates closer.
    double estimated = ticket.tokens - static_cast<double>(core::max_tokens_of(request).value_or(0));
    double actual = static_cast<double>(outcome.usage->prompt_tokens);
    if (limits.tokens_per_minute) {
      auto off = interval(*limits.tokens_per_minute, std::abs(actual - estimated));
      p.next_tokens += actual > estimated ? off : -off;
    }
    double ratio = actual / static_cast<double>(std::max<std::int64_t>(1, core::prompt_bytes(request)));
    p.tokens_per_byte = p.tokens_per_byte ? 0.8 * *p.tokens_per_byte + 0.2 * ratio : ratio;
  }

  // At most a minute (the limits are per minute): a wild Retry-After must not stall every run at
  // this model for a day; the provider's retry policy caps its own wait the same way.
  auto pause = [&](milliseconds d) { p.paused_until = std::max(p.paused_until, now + std::min(d, max_pause)); };
  if (outcome.http_status == 429) {
    // The server's wish first; else when the exhausted limit resets; else a second.
    auto wait = outcome.retry_after;
    if (!wait && facts.remaining_requests == 0.0) wait = facts.reset_requests;
    if (!wait && facts.remaining_tokens == 0.0) wait = facts.reset_tokens;
    pause(wait.value_or(seconds(1)));
    return;
  }
  // Nothing left, though the answer came, and no pace known to keep to (Azure may send only
  // what is left): the next attempt would be refused until the reset. At a known pace this is
  // the edge of a sliding window, which the pace already keeps to.
  if (facts.remaining_requests == 0.0 && !limits.requests_per_minute)
    pause(facts.reset_requests.value_or(seconds(1)));
  if (facts.remaining_tokens == 0.0 && !limits.tokens_per_minute) pause(facts.reset_tokens.value_or(seconds(1)));
}

}  // namespace optd::engine
