#include "engine/budget_gate.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace optd::engine {

namespace asio = boost::asio;

asio::awaitable<bool> settle_signal::wait() {
  if (!timer_) timer_.emplace(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() == asio::cancellation_type::none;
}

asio::awaitable<bool> budget_gate::hold(double usd, const core::chat_request&) {
  // Ifs, not a switch: GCC 12 built the switch form of this loop (co_return in its cases, the wait
  // after it) into a coroutine that crashed in the engine's max_cost_usd tests.
  for (;;) {
    auto reserved = ledger_.reserve(usd);
    if (reserved == core::spend_ledger::reservation::held) co_return true;
    if (reserved == core::spend_ledger::reservation::refused) co_return false;
    if (!co_await settled_.wait()) co_return false;
  }
}

}  // namespace optd::engine
