#include "core/run_status.hpp"

#include <gtest/gtest.h>

namespace optd::core {
namespace {

constexpr run_status all[] = {run_status::initialized, run_status::running, run_status::completed,
                              run_status::cancelled, run_status::error};

TEST(run_status, names_are_opiks_and_read_back) {
  EXPECT_EQ(to_string(run_status::initialized), "initialized");
  EXPECT_EQ(to_string(run_status::cancelled), "cancelled");
  for (auto s : all) EXPECT_EQ(run_status_from_string(to_string(s)), s);
  EXPECT_EQ(run_status_from_string("CANCELLED"), std::nullopt);
  EXPECT_EQ(run_status_from_string("done"), std::nullopt);
}

TEST(run_status, a_run_goes_from_queued_to_running_to_an_end) {
  EXPECT_EQ(next_status(run_status::initialized, run_event::start), run_status::running);
  EXPECT_EQ(next_status(run_status::running, run_event::start), run_status::running);  // resumed
  EXPECT_EQ(next_status(run_status::running, run_event::complete), run_status::completed);
  EXPECT_EQ(next_status(run_status::running, run_event::cancel), run_status::cancelled);
  EXPECT_EQ(next_status(run_status::running, run_event::fail), run_status::error);
  EXPECT_EQ(next_status(run_status::running, run_event::suspend), run_status::running);
}

TEST(run_status, a_queued_run_can_be_cancelled_or_fail_but_not_complete) {
  EXPECT_EQ(next_status(run_status::initialized, run_event::cancel), run_status::cancelled);
  EXPECT_EQ(next_status(run_status::initialized, run_event::fail), run_status::error);
  EXPECT_EQ(next_status(run_status::initialized, run_event::complete), std::nullopt);
  EXPECT_EQ(next_status(run_status::initialized, run_event::suspend), std::nullopt);
}

TEST(run_status, a_final_status_takes_no_event) {
  for (auto s : all) {
    EXPECT_EQ(is_final(s), s != run_status::initialized && s != run_status::running);
    if (!is_final(s)) continue;
    for (auto e : {run_event::start, run_event::suspend, run_event::complete, run_event::cancel, run_event::fail})
      EXPECT_EQ(next_status(s, e), std::nullopt) << to_string(s);
  }
}

}  // namespace
}  // namespace optd::core
