#pragma once
// Budget and sampling decisions of a run. Pure.
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/optimizer.hpp"
#include "core/run_spec.hpp"

namespace optd::core {

struct budget_usage {
  int trials_done = 0;
  double spent_usd = 0;
  std::chrono::milliseconds elapsed{0};
  bool cancel_requested = false;
  bool cost_cap_reached = false;  // a call's worst-case cost did not fit in max_cost_usd (spend_ledger)
};

// Why the run must stop now, if it must: cancellation first, then duration, then cost. Trial
// counting is the optimizer's (it sees trials_left()).
std::optional<finish_reason> budget_stop(const run_limits& limits, const budget_usage& usage) noexcept;

// The dataset positions one run evaluates: all of them when n_samples is 0 or covers the set,
// else a seeded random subset, in dataset order. The same seed gives the same sample.
std::vector<std::size_t> sample_positions(std::size_t n_items, int n_samples, std::uint64_t seed);

}  // namespace optd::core
