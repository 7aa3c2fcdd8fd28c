#include "core/spend_ledger.hpp"

#include <algorithm>

namespace optd::core {

double worst_case_cost_usd(const chat_request& request, const model_price& price) noexcept {
  std::int64_t prompt = 0;
  for (const auto& m : request.messages) prompt += static_cast<std::int64_t>(m.content.size()) + 8;
  std::int64_t completion = assumed_max_tokens;
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    auto it = request.parameters.find(key);
    if (it != request.parameters.end() && it->is_number_integer() && it->get<std::int64_t>() > 0) {
      completion = it->get<std::int64_t>();
      break;
    }
  }
  return cost_usd(price, {prompt, completion});
}

spend_ledger::reservation spend_ledger::reserve(double usd) noexcept {
  if (cap_ && spent_ + usd > *cap_) {
    if (!refused_) refused_usd_ = usd;
    refused_ = true;
    return reservation::refused;
  }
  if (cap_ && spent_ + held_ + usd > *cap_) return reservation::wait;
  held_ += usd;
  return reservation::held;
}

void spend_ledger::settle(double reserved, double actual) noexcept {
  held_ = std::max(0.0, held_ - reserved);
  spent_ += actual;
}

}  // namespace optd::core
