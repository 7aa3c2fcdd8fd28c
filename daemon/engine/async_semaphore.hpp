#pragma once
// A counting semaphore for coroutines on one executor: acquire() waits in FIFO order. Used to
// cap concurrent calls per provider. Not thread-safe. A waiter whose coroutine is cancelled
// leaves the queue and gets operation_aborted thrown.
#include <cstddef>
#include <deque>
#include <memory>

#include <boost/asio/awaitable.hpp>

namespace optd::engine {

class async_semaphore {
 public:
  explicit async_semaphore(std::size_t permits) : available_(permits) {}
  boost::asio::awaitable<void> acquire();
  void release();
  std::size_t waiting() const noexcept { return waiters_.size(); }
  std::size_t available() const noexcept { return available_; }

 private:
  struct waiter;
  std::size_t available_;
  std::deque<std::shared_ptr<waiter>> waiters_;
};

// Holds a permit for the scope it lives in.
class semaphore_permit {
 public:
  explicit semaphore_permit(async_semaphore& s) : s_(&s) {}
  semaphore_permit(const semaphore_permit&) = delete;
  ~semaphore_permit() { s_->release(); }

 private:
  async_semaphore* s_;
};

}  // namespace optd::engine
