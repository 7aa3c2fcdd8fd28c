#pragma once
// A counting semaphore for coroutines on one executor, fair between keys: waiters queue per key
// (optd's keys are run ids) and a freed permit goes to the keys in turn, round-robin, FIFO within
// a key. So each busy run gets an equal share of a provider's slots however many requests it
// queues: one busy run cannot starve the others. Waiters with the same key (or no key) are plain
// FIFO.
//
// Not thread-safe. A waiter whose coroutine is cancelled leaves its queue and gets
// operation_aborted thrown.
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace optd::engine {

class async_semaphore {
 public:
  explicit async_semaphore(std::size_t permits) : available_(permits) {}
  boost::asio::awaitable<void> acquire(std::string_view key = {});
  void release();
  std::size_t waiting() const noexcept { return waiting_; }
  std::size_t available() const noexcept { return available_; }

 private:
  struct waiter;
  std::size_t available_;
  std::size_t waiting_ = 0;
  std::map<std::string, std::deque<std::shared_ptr<waiter>>, std::less<>> queues_;
  std::deque<std::string> turn_;  // keys with waiters, in the order they are served
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
