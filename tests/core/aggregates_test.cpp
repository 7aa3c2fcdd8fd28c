#include "core/aggregates.hpp"

#include <gtest/gtest.h>

namespace optd::core {
namespace {

TEST(aggregates, empty_has_no_scores) {
  auto a = compute_aggregates({});
  EXPECT_EQ(a.num_trials, 0);
  EXPECT_FALSE(a.baseline_objective_score);
  EXPECT_FALSE(a.best_objective_score);
}

TEST(aggregates, baseline_is_the_earliest_trial_and_best_the_highest_mean) {
  std::vector<trial_stats> t{{"b", 2, 8.0, 10, 1.5, 0.02}, {"a", 1, 4.0, 10, 1.0, 0.01}, {"c", 3, 6.0, 10, 2.0, 0.03}};
  auto a = compute_aggregates(t);
  EXPECT_EQ(a.num_trials, 3);
  EXPECT_DOUBLE_EQ(*a.baseline_objective_score, 0.4);
  EXPECT_DOUBLE_EQ(*a.baseline_duration, 1.0);
  EXPECT_DOUBLE_EQ(*a.baseline_cost, 0.001);
  EXPECT_DOUBLE_EQ(*a.best_objective_score, 0.8);
  EXPECT_DOUBLE_EQ(*a.best_duration, 1.5);
  EXPECT_DOUBLE_EQ(*a.best_cost, 0.002);
  EXPECT_EQ(a.best_trial_id, "b");
}

TEST(aggregates, best_only_among_trials_as_complete_as_the_baseline) {
  // "x" scored perfectly on 3 items only; the baseline saw 10, so "x" cannot be best.
  std::vector<trial_stats> t{{"base", 1, 5.0, 10, 1, 0}, {"x", 2, 3.0, 3, 1, 0}, {"y", 3, 7.0, 10, 1, 0}};
  auto a = compute_aggregates(t);
  EXPECT_EQ(a.best_trial_id, "y");
  EXPECT_DOUBLE_EQ(*a.best_objective_score, 0.7);
}

TEST(aggregates, ties_go_to_the_earliest) {
  std::vector<trial_stats> t{{"base", 1, 5.0, 10, 1, 0}, {"late", 3, 9.0, 10, 1, 0}, {"early", 2, 9.0, 10, 1, 0}};
  EXPECT_EQ(compute_aggregates(t).best_trial_id, "early");
}

TEST(aggregates, median_of_odd_and_even_sets) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({}), 0);
}

}  // namespace
}  // namespace optd::core
