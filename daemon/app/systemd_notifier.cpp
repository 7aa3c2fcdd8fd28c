#include "app/systemd_notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace optd::app {

void systemd_notifier::send(const std::string& message) { sd_notify(0, message.c_str()); }

void systemd_notifier::ready(std::string_view status) {
  last_status_ = status;
  send("READY=1\nSTATUS=" + last_status_);
}

void systemd_notifier::status(std::string_view status) {
  if (status == last_status_) return;  // one datagram per change, not per heartbeat
  last_status_ = status;
  send("STATUS=" + last_status_);
}

void systemd_notifier::watchdog() { send("WATCHDOG=1"); }

void systemd_notifier::reloading() {
  // MONOTONIC_USEC lets systemd (Type=notify-reload, v253+) match this to the reload it asked for.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void systemd_notifier::stopping() { send("STOPPING=1"); }

std::optional<std::chrono::microseconds> systemd_notifier::watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
  return std::nullopt;
}

}  // namespace optd::app
