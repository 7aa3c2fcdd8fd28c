#include "engine/async_semaphore.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace optd::engine {

namespace asio = boost::asio;

struct async_semaphore::waiter {
  explicit waiter(const asio::any_io_executor& ex) : timer(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  bool granted = false;
};

asio::awaitable<void> async_semaphore::acquire() {
  if (available_ > 0 && waiters_.empty()) {
    --available_;
    co_return;
  }
  auto w = std::make_shared<waiter>(co_await asio::this_coro::executor);
  waiters_.push_back(w);
  co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!w->granted) {
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), w), waiters_.end());
    throw boost::system::system_error(asio::error::operation_aborted);
  }
}

void async_semaphore::release() {
  if (waiters_.empty()) {
    ++available_;
    return;
  }
  auto w = std::move(waiters_.front());
  waiters_.pop_front();
  w->granted = true;  // the permit passes straight to the next waiter
  w->timer.cancel();
}

}  // namespace optd::engine
