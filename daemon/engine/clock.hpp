#pragma once
// The production clock: system time, and waits on an Asio steady_timer.
#include "core/clock.hpp"

namespace optd::engine {

class real_clock final : public core::clock {
 public:
  std::chrono::system_clock::time_point now() const override { return std::chrono::system_clock::now(); }
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d) override;
};

}  // namespace optd::engine
