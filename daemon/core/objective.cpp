#include "core/objective.hpp"

#include <algorithm>

namespace optd::core {

objective::objective(const std::vector<metric_spec>& metrics) {
  bool any = std::any_of(metrics.begin(), metrics.end(), [](const auto& m) { return m.weight.has_value(); });
  for (const auto& m : metrics)
    weights_.push_back(metrics.size() == 1 ? 1.0 : any ? m.weight.value_or(1.0) : 1.0 / static_cast<double>(metrics.size()));
}

double objective::combine(const std::vector<metric_result>& scores) const {
  double sum = 0;
  for (std::size_t i = 0; i < scores.size() && i < weights_.size(); ++i)
    sum += scores[i].failed ? 0.0 : weights_[i] * scores[i].value;
  return sum;
}

}  // namespace optd::core
