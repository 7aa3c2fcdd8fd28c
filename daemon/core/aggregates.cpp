#include "core/aggregates.hpp"

#include <algorithm>
#include <map>

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

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  auto rank = p * static_cast<double>(values.size() - 1);
  auto lo = values.begin() + static_cast<std::ptrdiff_t>(rank);
  std::nth_element(values.begin(), lo, values.end());
  double low = *lo;
  if (lo + 1 == values.end()) return low;
  double high = *std::min_element(lo + 1, values.end());  // the next rank: the least above `lo`
  return low + (high - low) * (rank - static_cast<double>(lo - values.begin()));
}

namespace {

struct candidate {
  std::string first_trial_id;
  long long earliest = 0;
  long long evaluated = 0;
  double score_weighted = 0, duration_weighted = 0, cost = 0;
  long long score_weight = 0, duration_weight = 0;

  std::optional<double> score() const {
    return score_weight > 0 ? std::optional<double>(score_weighted / static_cast<double>(score_weight)) : std::nullopt;
  }
  std::optional<double> duration() const {
    return duration_weight > 0 ? std::optional<double>(duration_weighted / static_cast<double>(duration_weight))
                               : std::nullopt;
  }
  std::optional<double> cost_per_item() const {
    return evaluated > 0 ? std::optional<double>(cost / static_cast<double>(evaluated)) : std::nullopt;
  }
};

}  // namespace

optimization_aggregates compute_aggregates(const std::vector<trial_stats>& trials) {
  optimization_aggregates out;
  out.num_trials = static_cast<long long>(trials.size());

  std::map<std::string, candidate> by_key;
  for (const auto& t : trials) {
    if (t.screening) continue;
    auto [it, fresh] = by_key.try_emplace(t.candidate_id.empty() ? "experiment:" + t.id : "candidate:" + t.candidate_id);
    auto& c = it->second;
    if (fresh || t.created_order < c.earliest) {
      c.earliest = t.created_order;
      c.first_trial_id = t.id;
    }
    c.evaluated += t.trace_count;
    c.cost += t.cost_usd;
    if (t.score) {
      c.score_weighted += *t.score * static_cast<double>(t.trace_count);
      c.score_weight += t.trace_count;
    }
    if (t.median_duration_s) {
      c.duration_weighted += *t.median_duration_s * static_cast<double>(t.trace_count);
      c.duration_weight += t.trace_count;
    }
  }
  if (by_key.empty()) return out;

  std::vector<const candidate*> candidates;
  for (const auto& [key, c] : by_key) candidates.push_back(&c);
  std::sort(candidates.begin(), candidates.end(), [](const auto* a, const auto* b) { return a->earliest < b->earliest; });

  const auto& baseline = *candidates.front();
  out.baseline_objective_score = baseline.score();
  out.baseline_duration = baseline.duration();
  out.baseline_cost = baseline.cost_per_item();
  out.baseline_trial_id = baseline.first_trial_id;

  // A candidate that saw fewer items than a full evaluation (the baseline's) holds a partial
  // average: it may not win. The baseline itself always qualifies.
  auto complete = [&](const candidate& c) { return baseline.evaluated == 0 || c.evaluated >= baseline.evaluated; };
  const candidate* best = nullptr;
  for (const auto* c : candidates) {  // earliest first, so a tie keeps the earlier one
    if (!c->score() || !complete(*c)) continue;
    if (best == nullptr || *c->score() > *best->score()) best = c;
  }
  if (best == nullptr) return out;
  out.best_objective_score = best->score();
  out.best_duration = best->duration();
  out.best_cost = best->cost_per_item();
  out.best_trial_id = best->first_trial_id;
  return out;
}

}  // namespace optd::core
