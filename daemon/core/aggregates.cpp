#include "core/aggregates.hpp"

#include <algorithm>

namespace optd::core {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  if (values.size() % 2 == 1) return *mid;
  double upper = *mid;
  double lower = *std::max_element(values.begin(), mid);
  return (lower + upper) / 2;
}

optimization_aggregates compute_aggregates(const std::vector<trial_stats>& trials) {
  optimization_aggregates out;
  out.num_trials = static_cast<long long>(trials.size());
  if (trials.empty()) return out;

  auto earliest = std::min_element(trials.begin(), trials.end(), [](const auto& a, const auto& b) {
    return a.created_order < b.created_order;
  });
  auto mean = [](const trial_stats& t) { return t.evaluated_count > 0 ? t.score_sum / static_cast<double>(t.evaluated_count) : 0.0; };
  auto per_item_cost = [](const trial_stats& t) { return t.evaluated_count > 0 ? t.cost_usd / static_cast<double>(t.evaluated_count) : 0.0; };

  out.baseline_objective_score = mean(*earliest);
  out.baseline_duration = earliest->median_duration_s;
  out.baseline_cost = per_item_cost(*earliest);

  bool any_complete = std::any_of(trials.begin(), trials.end(), [&](const auto& t) {
    return t.evaluated_count >= earliest->evaluated_count;
  });
  const trial_stats* best = nullptr;
  for (const auto& t : trials) {
    if (any_complete && t.evaluated_count < earliest->evaluated_count) continue;
    if (best == nullptr || mean(t) > mean(*best) ||
        (mean(t) == mean(*best) && t.created_order < best->created_order))
      best = &t;
  }
  out.best_objective_score = mean(*best);
  out.best_duration = best->median_duration_s;
  out.best_cost = per_item_cost(*best);
  out.best_trial_id = best->id;
  return out;
}

}  // namespace optd::core
