#include "plugins/optimizers/gepa_state.hpp"

#include <algorithm>
#include <numeric>

namespace optd::plugins {

int gepa_pool::add(gepa_program p) {
  p.aggregate = p.scores.empty() ? 0.0
                                 : std::accumulate(p.scores.begin(), p.scores.end(), 0.0) / static_cast<double>(p.scores.size());
  int index = static_cast<int>(programs_.size());
  if (fronts_.empty()) {
    fronts_.resize(p.scores.size());
    front_best_.assign(p.scores.size(), -1.0);
  }
  for (std::size_t i = 0; i < p.scores.size() && i < fronts_.size(); ++i) {
    if (p.scores[i] > front_best_[i]) {
      front_best_[i] = p.scores[i];
      fronts_[i] = {index};
    } else if (p.scores[i] == front_best_[i]) {
      fronts_[i].insert(index);
    }
  }
  programs_.push_back(std::move(p));
  return index;
}

std::vector<int> gepa_pool::non_dominated(const std::vector<std::set<int>>& fronts) const {
  std::set<int> in_fronts;
  for (const auto& f : fronts) in_fronts.insert(f.begin(), f.end());
  std::vector<int> order(in_fronts.begin(), in_fronts.end());
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return at(a).aggregate < at(b).aggregate; });
  std::set<int> removed;
  for (bool found = true; found;) {
    found = false;
    for (int y : order) {
      if (removed.count(y)) continue;
      bool dominated = true;  // every front holding y holds another program still in
      for (const auto& f : fronts) {
        if (!f.count(y)) continue;
        bool other = std::any_of(f.begin(), f.end(), [&](int x) { return x != y && !removed.count(x); });
        if (!other) {
          dominated = false;
          break;
        }
      }
      if (dominated) {
        removed.insert(y);
        found = true;
        break;  // and start over, lowest aggregate first
      }
    }
  }
  std::vector<int> out;
  for (int y : in_fronts)
    if (!removed.count(y)) out.push_back(y);
  return out;
}

std::vector<int> gepa_pool::non_dominated() const { return non_dominated(fronts_); }

int gepa_pool::current_best() const {
  int best = 0;
  for (int i = 1; i < static_cast<int>(programs_.size()); ++i)
    if (at(i).aggregate > at(best).aggregate) best = i;
  return best;
}

int gepa_pool::select(gepa_selection how, std::mt19937_64& rng) const {
  auto pareto = [&](const std::vector<std::set<int>>& fronts) {
    auto keep = non_dominated(fronts);
    std::vector<int> weighted;  // a program once per item it leads on
    for (const auto& f : fronts)
      for (int x : f)
        if (std::find(keep.begin(), keep.end(), x) != keep.end()) weighted.push_back(x);
    return weighted.empty() ? current_best() : weighted[draw(rng, weighted.size())];
  };
  switch (how) {
    case gepa_selection::current_best: return current_best();
    case gepa_selection::epsilon_greedy:
      if (draw_unit(rng) < 0.1) return static_cast<int>(draw(rng, programs_.size()));
      return current_best();
    case gepa_selection::top_k_pareto: {
      std::vector<int> order(programs_.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return at(a).aggregate > at(b).aggregate; });
      order.resize(std::min<std::size_t>(order.size(), 5));
      std::vector<std::set<int>> fronts;
      for (const auto& f : fronts_) {
        std::set<int> kept;
        for (int x : f)
          if (std::find(order.begin(), order.end(), x) != order.end()) kept.insert(x);
        if (!kept.empty()) fronts.push_back(std::move(kept));
      }
      return pareto(fronts);
    }
    case gepa_selection::pareto: break;
  }
  return pareto(fronts_);
}

void epoch_sampler::reshuffle(std::mt19937_64& rng) {
  shuffled_.resize(n_);
  std::iota(shuffled_.begin(), shuffled_.end(), std::size_t{0});
  shuffle(shuffled_, rng);
  auto count = [&](std::size_t id) {
    if (freq_[id]++ == 0) first_seen_.push_back(id);
  };
  for (auto id : shuffled_) count(id);
  // Pad to a multiple of b with the least used items; among equals, the one first seen last.
  while (b_ > 0 && shuffled_.size() % b_ != 0) {
    std::size_t pick = first_seen_.front();
    for (auto id : first_seen_)
      if (freq_[id] <= freq_[pick]) pick = id;
    shuffled_.push_back(pick);
    count(pick);
  }
}

std::vector<std::size_t> epoch_sampler::next(std::size_t iteration, std::mt19937_64& rng) {
  auto base = iteration * b_;
  long long epoch = epoch_ == -1 ? 0 : static_cast<long long>(base / std::max<std::size_t>(shuffled_.size(), 1));
  if (epoch > epoch_ || shuffled_.empty()) {
    epoch_ = epoch;
    reshuffle(rng);
  }
  base %= shuffled_.size();
  return {shuffled_.begin() + static_cast<std::ptrdiff_t>(base),
          shuffled_.begin() + static_cast<std::ptrdiff_t>(std::min(base + b_, shuffled_.size()))};
}

std::size_t studio_minibatch_size(std::size_t n, int max_trials) {
  if (n == 0) return 1;
  auto fifth = (n + 4) / 5;  // ⌈0.2·n⌉
  auto budget = std::max<std::size_t>(1, static_cast<std::size_t>(std::max(0, max_trials)) * n / 10);
  return std::max<std::size_t>(1, std::min({n, std::max<std::size_t>(5, fifth), std::size_t{25}, budget}));
}

}  // namespace optd::plugins
