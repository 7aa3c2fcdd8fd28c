#include "core/optimizer.hpp"

namespace optd::core {

std::string_view to_string(finish_reason r) noexcept {
  switch (r) {
    case finish_reason::max_trials: return "max_trials";
    case finish_reason::perfect_score: return "perfect_score";
    case finish_reason::no_improvement: return "no_improvement";
    case finish_reason::budget: return "budget";
    case finish_reason::cancelled: return "cancelled";
    case finish_reason::error: return "error";
  }
  return "error";
}

}  // namespace optd::core
