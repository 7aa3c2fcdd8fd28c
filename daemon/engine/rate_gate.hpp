#pragma once
// A provider's rate limits, kept for all the runs of a process: each model of the provider has its
// own pace (providers limit per model), set by the config's limits and by what the provider's
// answers say, whichever is lower. An attempt is sent only when both the requests and the tokens
// per minute allow it: a GCRA pace at 99% of the limit (so a sliding window never sees more than
// the limit), the tokens estimated from the prompt's bytes at the ratio the answers' usage showed,
// plus max_tokens when set (providers count it against the limit). A 429 stops every attempt at
// the model until its Retry-After; an answer that says nothing is left, from a provider whose
// limit is not known, pauses them until its reset.
// Runs wait their turn round-robin (the requests' share_key), as for the provider's slots.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/rate_limit.hpp"
#include "engine/async_semaphore.hpp"

namespace optd::engine {

class rate_gate final : public core::call_pacer {
 public:
  using limits_of = std::function<core::rate_limits(std::string_view model)>;
  // `clock` must outlive the gate; `configured` gives the config's limits of a model.
  rate_gate(core::clock& clock, limits_of configured);
  ~rate_gate() override;

  boost::asio::awaitable<core::pace_ticket> admit(const core::chat_request& request) override;
  void settle(const core::chat_request& request, const core::pace_ticket& ticket,
              const core::attempt_outcome& outcome) override;

  // The limits in force for `model` (after the margin is taken off): what /metrics shows.
  core::rate_limits in_force(std::string_view model) const;
  // How long attempts have waited here, all models together.
  std::chrono::microseconds waited() const noexcept { return waited_; }
  // Attempts settled without an HTTP answer (timed out, connection refused or reset, aborted),
  // counted as they end: a provider that hangs shows here long before its calls end.
  std::uint64_t unanswered() const noexcept { return unanswered_; }
  // Each model paced so far, with the limits in force.
  void for_each(const std::function<void(const std::string& model, const core::rate_limits&)>& f) const;

  // The share of a limit optd paces at: the rest absorbs timer and network jitter.
  static constexpr double margin = 0.99;

 private:
  struct pace;
  pace& pace_of(std::string_view model);
  core::rate_limits in_force(const pace& p) const;

  core::clock& clock_;
  limits_of configured_;
  std::map<std::string, std::unique_ptr<pace>, std::less<>> paces_;
  std::chrono::microseconds waited_{0};
  std::uint64_t unanswered_ = 0;
};

}  // namespace optd::engine
