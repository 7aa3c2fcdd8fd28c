#include "core/budget.hpp"

#include <gtest/gtest.h>

namespace optd::core {
namespace {

using std::chrono::milliseconds;

TEST(budget, stops_on_cancel_then_duration_then_cost) {
  run_limits l;
  l.max_duration = milliseconds(1000);
  l.max_cost_usd = 0.5;
  EXPECT_EQ(budget_stop(l, {1, 0.1, milliseconds(10), false}), std::nullopt);
  EXPECT_EQ(budget_stop(l, {1, 0.1, milliseconds(1000), false}), finish_reason::budget);
  EXPECT_EQ(budget_stop(l, {1, 0.5, milliseconds(10), false}), finish_reason::budget);
  EXPECT_EQ(budget_stop(l, {1, 0.9, milliseconds(5000), true}), finish_reason::cancelled);
  EXPECT_EQ(budget_stop(run_limits{}, {100, 1e9, milliseconds(1'000'000'000), false}), std::nullopt);
}

TEST(budget, sample_is_everything_by_default) {
  EXPECT_EQ(sample_positions(4, 0, 1), (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_EQ(sample_positions(4, 10, 1), (std::vector<std::size_t>{0, 1, 2, 3}));
}

TEST(budget, sample_is_seeded_sorted_and_distinct) {
  auto a = sample_positions(100, 10, 42);
  EXPECT_EQ(a, sample_positions(100, 10, 42));
  EXPECT_NE(a, sample_positions(100, 10, 43));
  ASSERT_EQ(a.size(), 10u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::adjacent_find(a.begin(), a.end()), a.end());
}

}  // namespace
}  // namespace optd::core
