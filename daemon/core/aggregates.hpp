#pragma once
// An optimization's read-only aggregates, computed the way Opik's backend computes them at read
// time (its OptimizationDAO; reference/opik-studio.md §3.5), so optd's numbers and Opik's agree.
#include <optional>
#include <string>
#include <vector>

namespace optd::core {

// One experiment of an optimization (a trial, to optd) as the aggregation sees it.
struct trial_stats {
  std::string id;
  std::string candidate_id;        // experiments of one candidate are pooled; empty: its own candidate
  bool screening = false;          // type mini-batch or mutation: a trial, never a candidate
  long long created_order = 0;     // earlier experiments have smaller values
  std::optional<double> score;     // mean objective over the items that have one
  long long trace_count = 0;       // items evaluated (with a trace), failed ones included
  std::optional<double> median_duration_s;  // p50 of the items' durations
  double cost_usd = 0;             // the items' LLM cost
};

struct optimization_aggregates {
  long long num_trials = 0;
  std::optional<double> baseline_objective_score;
  std::optional<double> best_objective_score;
  std::optional<double> baseline_duration;
  std::optional<double> best_duration;
  std::optional<double> baseline_cost;  // per evaluated item
  std::optional<double> best_cost;      // per evaluated item
  // The earliest experiment of the best candidate and of the baseline; empty when there is none.
  std::string best_trial_id;
  std::string baseline_trial_id;
};

// Candidates are the experiments that are no screening, pooled by candidate_id: score and duration
// weighted by item count over the experiments that have them, cost per item. Baseline: the
// earliest candidate. Best: the highest score among the candidates that evaluated at least as many
// items as the baseline (any, if the baseline evaluated none); ties go to the earliest. Every
// experiment counts in num_trials.
optimization_aggregates compute_aggregates(const std::vector<trial_stats>& trials);

// p50 as Opik's ClickHouse quantile computes it for small sets: the middle value, or the mean of
// the two middle values. Empty input gives 0.
double median(std::vector<double> values);

// The p-th quantile (0 ≤ p ≤ 1) between the two nearest ranks, as Opik's experiment durations
// show it; 0 for no values. Linear in the number of values (a selection, not a sort).
double percentile(std::vector<double> values, double p);

}  // namespace optd::core
