#pragma once
// Baseline and best of a run, computed the way Opik's backend computes an optimization's
// read-only aggregates (reference/opik-studio.md §3.5), so optd's own numbers and Opik's agree.
#include <optional>
#include <string>
#include <vector>

namespace optd::core {

// One trial (an Opik experiment of type "trial") as the aggregation sees it.
struct trial_stats {
  std::string id;
  long long created_order = 0;   // earlier trials have smaller values
  double score_sum = 0;          // sum over evaluated items of the objective score
  long long evaluated_count = 0; // items scored
  double median_duration_s = 0;  // p50 of per-item durations
  double cost_usd = 0;           // sum of the trial's LLM cost
};

struct optimization_aggregates {
  long long num_trials = 0;
  std::optional<double> baseline_objective_score;
  std::optional<double> best_objective_score;
  std::optional<double> baseline_duration;
  std::optional<double> best_duration;
  std::optional<double> baseline_cost;  // per evaluated item
  std::optional<double> best_cost;      // per evaluated item
  std::string best_trial_id;
};

// Baseline: the earliest trial. Best: highest mean score among trials that evaluated at least as
// many items as the baseline (all trials if none did); ties go to the earliest.
optimization_aggregates compute_aggregates(const std::vector<trial_stats>& trials);

// p50 as Opik's ClickHouse quantile computes it for small sets: the middle value, or the mean of
// the two middle values. Empty input gives 0.
double median(std::vector<double> values);

}  // namespace optd::core
