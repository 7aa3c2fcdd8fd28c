#include "core/budget.hpp"

#include <algorithm>
#include <numeric>
#include <random>

namespace optd::core {

std::optional<finish_reason> budget_stop(const run_limits& limits, const budget_usage& usage) noexcept {
  if (usage.cancel_requested) return finish_reason::cancelled;
  if (limits.max_duration && usage.elapsed >= *limits.max_duration) return finish_reason::budget;
  if (limits.max_cost_usd && (usage.spent_usd >= *limits.max_cost_usd || usage.cost_cap_reached))
    return finish_reason::budget;
  return std::nullopt;
}

std::vector<std::size_t> sample_positions(std::size_t n_items, int n_samples, std::uint64_t seed) {
  std::vector<std::size_t> all(n_items);
  std::iota(all.begin(), all.end(), std::size_t{0});
  if (n_samples <= 0 || static_cast<std::size_t>(n_samples) >= n_items) return all;
  std::mt19937_64 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<std::size_t>(n_samples));
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace optd::core
