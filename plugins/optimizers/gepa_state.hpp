#pragma once
// GEPA's search state as gepa 0.1.1 keeps it (reference/optimizers.md §2.4–2.8): the pool of
// candidates with their scores on every validation item, the per-item Pareto front, the
// candidate selection strategies, and the epoch-shuffled mini-batch sampler. Pure: randomness
// comes from the caller's generator, so a run replays the same choices.
#include <cstddef>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/run_spec.hpp"
#include "plugins/optimizers/draws.hpp"

namespace optd::plugins {

struct gepa_program {
  core::prompt_messages prompt;
  std::vector<int> parents;    // pool indices; none for the seed, two for a merge
  std::vector<double> scores;  // per validation item, in the sample's order
  double aggregate = 0;        // their mean
  std::size_t next_component = 0;  // round-robin over the optimizable messages
  int step = 0;
};

enum class gepa_selection { pareto, current_best, epsilon_greedy, top_k_pareto };

class gepa_pool {
 public:
  // Appends `p` (its aggregate computed here) and updates the fronts; returns its index.
  int add(gepa_program p);
  const std::vector<gepa_program>& programs() const noexcept { return programs_; }
  const gepa_program& at(int i) const { return programs_.at(static_cast<std::size_t>(i)); }
  // The message to rewrite next when `i` is the parent, round-robin over `n` messages; moves on.
  std::size_t take_component(int i, std::size_t n) {
    auto& p = programs_.at(static_cast<std::size_t>(i));
    return p.next_component++ % n;
  }

  // For each validation item, the programs with the best score on it (ties kept).
  const std::vector<std::set<int>>& fronts() const noexcept { return fronts_; }
  // The programs left after removing, lowest aggregate first, each one whose every front also
  // holds another program still in: those that lead somewhere alone.
  std::vector<int> non_dominated() const;
  // The first program with the highest aggregate.
  int current_best() const;
  // A parent for the next mutation: `pareto` draws among the non-dominated programs, each as
  // often as the number of items it leads on; `epsilon_greedy` is a uniform draw one time in ten,
  // else current_best; `top_k_pareto` is pareto among the 5 best by aggregate.
  int select(gepa_selection how, std::mt19937_64& rng) const;

 private:
  std::vector<int> non_dominated(const std::vector<std::set<int>>& fronts) const;
  std::vector<gepa_program> programs_;
  std::vector<std::set<int>> fronts_;
  std::vector<double> front_best_;
};

// gepa's EpochShuffledBatchSampler: at iteration i the window [i·b, i·b + b) of a shuffled list of
// the items, padded to a multiple of b with the least often used ones; reshuffled every epoch.
class epoch_sampler {
 public:
  epoch_sampler(std::size_t n_items, std::size_t batch) : n_(n_items), b_(batch), freq_(n_items, 0) {}
  std::vector<std::size_t> next(std::size_t iteration, std::mt19937_64& rng);

 private:
  void reshuffle(std::mt19937_64& rng);
  std::size_t n_, b_;
  std::vector<std::size_t> shuffled_;
  std::vector<std::size_t> freq_;
  std::vector<std::size_t> first_seen_;  // items in the order their count first grew
  long long epoch_ = -1;
};

// Opik Studio's reflection mini-batch size for n sampled items and max_trials:
// max(1, min(n, max(5, ⌈0.2·n⌉), 25, max(1, ⌊max_trials·n / 10⌋))).
std::size_t studio_minibatch_size(std::size_t n, int max_trials);

}  // namespace optd::plugins
