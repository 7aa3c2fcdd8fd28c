#pragma once
// A run's spend_ledger on the event loop: a call whose worst case fits only once the calls in
// flight have settled waits for them (they settle at their real cost, usually far below their
// worst case), instead of stopping the run while money is left.
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/spend_ledger.hpp"

namespace optd::engine {

class budget_gate {
 public:
  explicit budget_gate(std::optional<double> cap_usd) : ledger_(cap_usd) {}

  // Holds `usd` as soon as it fits; false when it never will (ledger().refused()) or when the
  // caller is cancelled while it waits.
  boost::asio::awaitable<bool> hold(double usd) {
    for (;;) {
      switch (ledger_.reserve(usd)) {
        case core::spend_ledger::reservation::held: co_return true;
        case core::spend_ledger::reservation::refused: co_return false;
        case core::spend_ledger::reservation::wait: break;
      }
      if (!settled_)
        settled_.emplace(co_await boost::asio::this_coro::executor, boost::asio::steady_timer::time_point::max());
      co_await settled_->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));  // woken by settle()
      auto state = co_await boost::asio::this_coro::cancellation_state;
      if (state.cancelled() != boost::asio::cancellation_type::none) co_return false;
    }
  }
  void settle(double held, double actual) {
    ledger_.settle(held, actual);
    if (settled_) settled_->cancel();  // every waiter asks again
  }

  core::spend_ledger& ledger() noexcept { return ledger_; }
  const core::spend_ledger& ledger() const noexcept { return ledger_; }

 private:
  core::spend_ledger ledger_;
  std::optional<boost::asio::steady_timer> settled_;  // never expires: cancelled to wake the waiters
};

}  // namespace optd::engine
