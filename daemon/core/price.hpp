#pragma once
// What a model costs, in USD per million tokens, and the cost of one call.
#include <cstdint>

namespace optd::core {

struct model_price {
  double input_per_million = 0;
  double output_per_million = 0;
};

struct token_usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total() const noexcept { return prompt_tokens + completion_tokens; }
};

inline double cost_usd(const model_price& price, const token_usage& usage) noexcept {
  return (static_cast<double>(usage.prompt_tokens) * price.input_per_million +
          static_cast<double>(usage.completion_tokens) * price.output_per_million) / 1e6;
}

}  // namespace optd::core
