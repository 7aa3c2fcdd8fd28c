#pragma once
// A run's status, as Opik names them: initialized, running, completed, cancelled, error.
#include <string_view>

namespace optd::core {

// A status no run leaves: completed, cancelled or error.
inline bool is_final_status(std::string_view status) {
  return status == "completed" || status == "cancelled" || status == "error";
}

inline bool is_status(std::string_view status) {
  return status == "initialized" || status == "running" || is_final_status(status);
}

}  // namespace optd::core
