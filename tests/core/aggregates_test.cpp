#include "core/aggregates.hpp"

#include <gtest/gtest.h>

namespace optd::core {
namespace {

// One experiment: id, order, mean objective, items, p50 seconds, cost.
trial_stats trial(std::string id, long long order, std::optional<double> score, long long items, double p50 = 1,
                  double cost = 0) {
  trial_stats t;
  t.id = std::move(id);
  t.created_order = order;
  t.score = score;
  t.trace_count = items;
  t.median_duration_s = p50;
  t.cost_usd = cost;
  return t;
}

TEST(aggregates, empty_has_no_scores) {
  auto a = compute_aggregates({});
  EXPECT_EQ(a.num_trials, 0);
  EXPECT_FALSE(a.baseline_objective_score);
  EXPECT_FALSE(a.best_objective_score);
}

TEST(aggregates, baseline_is_the_earliest_trial_and_best_the_highest_mean) {
  auto a = compute_aggregates({trial("b", 2, 0.8, 10, 1.5, 0.02), trial("a", 1, 0.4, 10, 1.0, 0.01),
                               trial("c", 3, 0.6, 10, 2.0, 0.03)});
  EXPECT_EQ(a.num_trials, 3);
  EXPECT_DOUBLE_EQ(*a.baseline_objective_score, 0.4);
  EXPECT_DOUBLE_EQ(*a.baseline_duration, 1.0);
  EXPECT_DOUBLE_EQ(*a.baseline_cost, 0.001);
  EXPECT_EQ(a.baseline_trial_id, "a");
  EXPECT_DOUBLE_EQ(*a.best_objective_score, 0.8);
  EXPECT_DOUBLE_EQ(*a.best_duration, 1.5);
  EXPECT_DOUBLE_EQ(*a.best_cost, 0.002);
  EXPECT_EQ(a.best_trial_id, "b");
}

TEST(aggregates, best_only_among_trials_as_complete_as_the_baseline) {
  // "x" scored perfectly on 3 items only; the baseline saw 10, so "x" cannot be best.
  auto a = compute_aggregates({trial("base", 1, 0.5, 10), trial("x", 2, 1.0, 3), trial("y", 3, 0.7, 10)});
  EXPECT_EQ(a.best_trial_id, "y");
  EXPECT_DOUBLE_EQ(*a.best_objective_score, 0.7);
}

TEST(aggregates, ties_go_to_the_earliest) {
  auto a = compute_aggregates({trial("base", 1, 0.5, 10), trial("late", 3, 0.9, 10), trial("early", 2, 0.9, 10)});
  EXPECT_EQ(a.best_trial_id, "early");
}

TEST(aggregates, screenings_count_as_trials_but_never_win_nor_set_the_baseline) {
  auto screening = trial("mini", 1, 1.0, 20);  // earliest and perfect, but a mini-batch
  screening.screening = true;
  auto a = compute_aggregates({screening, trial("base", 2, 0.3, 10), trial("cand", 3, 0.6, 10)});
  EXPECT_EQ(a.num_trials, 3);
  EXPECT_EQ(a.baseline_trial_id, "base");
  EXPECT_DOUBLE_EQ(*a.baseline_objective_score, 0.3);
  EXPECT_EQ(a.best_trial_id, "cand");
}

TEST(aggregates, experiments_of_one_candidate_are_pooled_by_item_count) {
  // Candidate "c1" was evaluated twice: 0.9 on 4 items (p50 2 s, $0.04), then 0.4 on 6 (p50 1 s, $0.02).
  // Pooled: score (0.9·4 + 0.4·6) / 10 = 0.6, p50 (2·4 + 1·6) / 10 = 1.4 s, cost $0.06 / 10 items.
  auto first = trial("c1a", 2, 0.9, 4, 2.0, 0.04), second = trial("c1b", 3, 0.4, 6, 1.0, 0.02);
  first.candidate_id = second.candidate_id = "c1";
  auto a = compute_aggregates({trial("base", 1, 0.5, 10), first, second});
  EXPECT_EQ(a.num_trials, 3);
  EXPECT_EQ(a.best_trial_id, "c1a");  // 10 items together: complete, where neither alone is
  EXPECT_DOUBLE_EQ(*a.best_objective_score, 0.6);
  EXPECT_DOUBLE_EQ(*a.best_duration, 1.4);
  EXPECT_DOUBLE_EQ(*a.best_cost, 0.006);
}

TEST(aggregates, an_unscored_candidate_is_no_best_and_an_unscored_baseline_has_no_score) {
  auto a = compute_aggregates({trial("base", 1, std::nullopt, 10), trial("x", 2, 0.2, 10)});
  EXPECT_EQ(a.baseline_trial_id, "base");
  EXPECT_FALSE(a.baseline_objective_score);
  EXPECT_EQ(a.best_trial_id, "x");
  EXPECT_DOUBLE_EQ(*a.best_objective_score, 0.2);
}

TEST(aggregates, median_of_odd_and_even_sets) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({}), 0);
}

TEST(aggregates, percentiles_lie_between_the_two_nearest_ranks) {
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(i);  // unsorted on purpose
  EXPECT_DOUBLE_EQ(percentile(hundred, 0.5), 50.5);
  EXPECT_DOUBLE_EQ(percentile(hundred, 0.9), 90.1);
  EXPECT_DOUBLE_EQ(percentile(hundred, 0.99), 99.01);
  EXPECT_DOUBLE_EQ(percentile(hundred, 1.0), 100);
  EXPECT_DOUBLE_EQ(percentile({7}, 0.99), 7);
  EXPECT_DOUBLE_EQ(percentile({}, 0.5), 0);
}

}  // namespace
}  // namespace optd::core
