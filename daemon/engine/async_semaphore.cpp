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

asio::awaitable<void> async_semaphore::acquire(std::string_view key) {
  if (available_ > 0 && waiting_ == 0) {
    --available_;
    co_return;
  }
  auto w = std::make_shared<waiter>(co_await asio::this_coro::executor);
  auto it = queues_.find(key);
  if (it == queues_.end()) {
    it = queues_.emplace(std::string(key), std::deque<std::shared_ptr<waiter>>{}).first;
    turn_.push_back(it->first);
  }
  it->second.push_back(w);
  ++waiting_;
  co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!w->granted) {
    auto q = queues_.find(key);
    q->second.erase(std::remove(q->second.begin(), q->second.end(), w), q->second.end());
    --waiting_;
    if (q->second.empty()) {
      turn_.erase(std::find(turn_.begin(), turn_.end(), q->first));
      queues_.erase(q);
    }
    throw boost::system::system_error(asio::error::operation_aborted);
  }
}

void async_semaphore::release() {
  if (waiting_ == 0) {
    ++available_;
    return;
  }
  auto key = std::move(turn_.front());
  turn_.pop_front();
  auto q = queues_.find(key);
  auto w = std::move(q->second.front());
  q->second.pop_front();
  --waiting_;
  if (q->second.empty()) queues_.erase(q);
  else turn_.push_back(std::move(key));  // its next waiter waits for the other keys' turns
  w->granted = true;  // the permit passes straight to the waiter
  w->timer.cancel();
}

}  // namespace optd::engine
