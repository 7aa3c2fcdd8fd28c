#include "core/run_status.hpp"

namespace optd::core {

std::string_view to_string(run_status s) noexcept {
  switch (s) {
    case run_status::initialized: return "initialized";
    case run_status::running: return "running";
    case run_status::completed: return "completed";
    case run_status::cancelled: return "cancelled";
    case run_status::error: return "error";
  }
  return "error";
}

std::optional<run_status> run_status_from_string(std::string_view s) noexcept {
  for (auto status : {run_status::initialized, run_status::running, run_status::completed, run_status::cancelled,
                      run_status::error})
    if (to_string(status) == s) return status;
  return std::nullopt;
}

std::optional<run_status> next_status(run_status from, run_event e) noexcept {
  if (is_final(from)) return std::nullopt;
  switch (e) {
    case run_event::start: return run_status::running;
    case run_event::suspend:
      if (from == run_status::running) return run_status::running;
      return std::nullopt;
    case run_event::complete:
      if (from == run_status::running) return run_status::completed;
      return std::nullopt;
    case run_event::cancel: return run_status::cancelled;
    case run_event::fail: return run_status::error;
  }
  return std::nullopt;
}

}  // namespace optd::core
