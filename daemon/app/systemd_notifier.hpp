#pragma once
// The systemd notify protocol (sd_notify from libsystemd): READY, STATUS, WATCHDOG, RELOADING
// and STOPPING to $NOTIFY_SOCKET. Without NOTIFY_SOCKET (not started by systemd) every call does
// nothing, so optd serve runs the same by hand.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace optd::app {

class systemd_notifier {
 public:
  void ready(std::string_view status);
  void status(std::string_view status);
  void watchdog();
  void reloading();  // …then ready() when the new config is in place
  void stopping();

  // WatchdogSec= as systemd passed it (WATCHDOG_USEC for this process); nullopt when off.
  static std::optional<std::chrono::microseconds> watchdog_interval();

 private:
  void send(const std::string& message);
  std::string last_status_;
};

}  // namespace optd::app
