#pragma once
// A run's spend_ledger on the event loop: a call whose worst case fits only once the calls in
// flight have settled waits for them (they settle at their real cost, usually far below their
// worst case), instead of stopping the run while money is left.
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include "core/spend_ledger.hpp"
#include "engine/spend_gate.hpp"

namespace optd::engine {

// Waits until woken. False when the waiting coroutine was cancelled meanwhile. The timer is made on first use, on the waiter's executor; it never
// expires by itself: wake() cancels it, and every waiter asks again.
class settle_signal {
 public:
  boost::asio::awaitable<bool> wait();
  void wake() {
    if (timer_) timer_->cancel();
  }

 private:
  std::optional<boost::asio::steady_timer> timer_;
};

class budget_gate final : public spend_gate {
 public:
  explicit budget_gate(std::optional<double> cap_usd) : ledger_(cap_usd) {}

  // Holds `usd` as soon as it fits; false when it never will (ledger().refused()) or when the
  // caller is cancelled while it waits.
  boost::asio::awaitable<bool> hold(double usd, const core::chat_request& request) override;
  void settle(double held, double actual) override {
    ledger_.settle(held, actual);
    settled_.wake();
  }
  core::llm_error refusal() const override {
    return {core::errc::cancelled,
            ledger_.refused() ? "max_cost_usd: the budget left cannot pay for this call" : "cancelled", 0, 0};
  }

  core::spend_ledger& ledger() noexcept { return ledger_; }
  const core::spend_ledger& ledger() const noexcept { return ledger_; }

 private:
  core::spend_ledger ledger_;
  settle_signal settled_;
};

}  // namespace optd::engine
