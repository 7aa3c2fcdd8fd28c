#include "core/spend_ledger.hpp"

#include <algorithm>

namespace optd::core {

double worst_case_cost_usd(const chat_request& request, const model_price& price) noexcept {
  return cost_usd(price, {prompt_bytes(request), max_tokens_of(request).value_or(assumed_max_tokens)});
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
