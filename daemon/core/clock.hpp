#pragma once
// Time as the engine and providers see it: the wall clock and a way to wait. Production uses
// engine/clock.hpp (system clock + steady_timer); tests use a fake whose sleep advances its own
// time and returns at once, so retry and budget logic runs deterministically without waiting.
#include <chrono>

#include <boost/asio/awaitable.hpp>

namespace optd::core {

class clock {
 public:
  virtual ~clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Waits `d` of this clock's time. Cancellation of the awaiting coroutine ends the wait early
  // with an exception (asio operation_aborted).
  virtual boost::asio::awaitable<void> sleep(std::chrono::milliseconds d) = 0;

  std::int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  }
};

}  // namespace optd::core
