#pragma once
// How a run's metrics make its objective, as Opik's MultiMetricObjective makes it: one metric is
// its own objective; several give Σ wᵢ·sᵢ with their weights as given (not normalized: weights
// that do not sum to 1 move the objective off the 0..1 scale), or 1/n each when none has a
// weight. A metric that failed on an item counts 0 there. Pure.
#include <optional>
#include <vector>

#include "core/evaluation_metric.hpp"
#include "core/run_spec.hpp"

namespace optd::core {

class objective {
 public:
  explicit objective(const std::vector<metric_spec>& metrics);
  double combine(const std::vector<metric_result>& scores) const;
  const std::vector<double>& weights() const noexcept { return weights_; }

 private:
  std::vector<double> weights_;
};

}  // namespace optd::core
