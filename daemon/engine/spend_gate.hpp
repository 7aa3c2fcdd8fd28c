#pragma once
// Where a call's cost is held before it is sent and settled when it ends: a run's max_cost_usd
// (budget_gate) and a provider's daily budget (daily_budget) are both spend gates, which
// budgeted_provider puts in front of a provider.
#include <boost/asio/awaitable.hpp>

#include "core/llm.hpp"

namespace optd::engine {

class spend_gate {
 public:
  virtual ~spend_gate() = default;
  // Holds `usd`, the worst case of `request`, as soon as it fits. False when the call must not be
  // sent: refusal() is what it ends with (errc::cancelled when the caller was cancelled while it
  // waited, or when the run must stop).
  virtual boost::asio::awaitable<bool> hold(double usd, const core::chat_request& request) = 0;
  // The call that held `held` ended having cost `actual` (0 when it failed unanswered).
  virtual void settle(double held, double actual) = 0;
  virtual core::llm_error refusal() const = 0;
};

}  // namespace optd::engine
