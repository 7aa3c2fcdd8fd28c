#pragma once
// Child coroutines that can be cancelled together and awaited together. Each child gets its own
// cancellation signal; cancel() emits terminal cancellation to all of them. wait() returns when
// every child has finished and rethrows the first exception a child threw (other than a
// cancellation). Not thread-safe: use from the executor's thread.
#include <exception>
#include <list>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace optd::engine {

class task_group {
 public:
  explicit task_group(boost::asio::any_io_executor ex) : ex_(ex), done_(ex) {}
  task_group(const task_group&) = delete;

  void spawn(boost::asio::awaitable<void> task) {
    auto sig = signals_.emplace(signals_.end());
    ++running_;
    boost::asio::co_spawn(ex_, std::move(task),
                          // The signal is not erased here: co_spawn still uses its slot while the
                          // handler runs. wait() clears the list once every child is gone.
                          boost::asio::bind_cancellation_slot(sig->slot(), [this](std::exception_ptr e) {
                            if (e && !first_error_ && !is_cancellation(e)) first_error_ = e;
                            if (--running_ == 0) done_.cancel();
                          }));
  }

  void cancel() {
    if (running_ == 0) return;
    for (auto& s : signals_) s.emit(boost::asio::cancellation_type::terminal);
  }

  boost::asio::awaitable<void> wait() {
    while (running_ > 0) {
      done_.expires_at(boost::asio::steady_timer::time_point::max());
      co_await done_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    signals_.clear();
    if (first_error_) std::rethrow_exception(std::exchange(first_error_, nullptr));
  }

  std::size_t running() const noexcept { return running_; }

  static bool is_cancellation(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const boost::system::system_error& err) {
      return err.code() == boost::asio::error::operation_aborted;
    } catch (...) {
      return false;
    }
  }

 private:
  boost::asio::any_io_executor ex_;
  boost::asio::steady_timer done_;
  std::list<boost::asio::cancellation_signal> signals_;
  std::size_t running_ = 0;
  std::exception_ptr first_error_;
};

}  // namespace optd::engine
