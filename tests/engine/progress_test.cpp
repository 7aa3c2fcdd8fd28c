#include "engine/progress.hpp"

#include <gtest/gtest.h>

namespace optd::engine {
namespace {

run_progress midway() {
  run_progress p;
  p.trials_done = 3;
  p.max_trials = 10;
  p.evals_done = 12;
  p.evals_in_trial = 20;
  p.baseline = 0.024957;
  p.best = 0.6196;
  p.cost_usd = 0.00125;
  p.elapsed = std::chrono::milliseconds(65'400);
  p.eta = std::chrono::milliseconds(152'000);
  return p;
}

TEST(progress, the_line_shows_scores_rounded_as_the_summary_rounds_them) {
  // 0.024957 is 0.025 to three places: cutting the digits off would say 0.024.
  // Three trials done and the fourth 12/20 done: 3.6 trials of 10 fill 4 cells of 10.
  EXPECT_EQ(render_progress(midway(), 10),
            "[####------] trial 4/10 · 12/20 evals · best 0.620 (baseline 0.025) · $0.0013 · 1m05s · ETA 2m32s");
}

TEST(progress, between_trials_the_line_counts_finished_trials) {
  auto p = midway();
  p.evals_done = p.evals_in_trial;
  EXPECT_EQ(render_progress(p, 10).rfind("[###-------] trial 3/10 · 20/20 evals ·", 0), 0u);
}

TEST(progress, a_run_without_scores_yet_shows_dashes_and_no_eta) {
  run_progress p;
  p.max_trials = 4;
  EXPECT_EQ(render_progress(p, 4), "[----] trial 0/4 · 0/0 evals · best - (baseline -) · $0.0000 · 0ms");
}

TEST(progress, an_optimizer_with_a_budget_of_its_own_fills_the_bar_by_it) {
  auto p = midway();  // GEPA: seven experiments so far, a budget of metric calls
  p.trials_done = 7;
  p.budget_used = 120;
  p.budget_total = 400;
  p.budget_unit = "metric calls";
  EXPECT_EQ(render_progress(p, 10),
            "[###-------] trial 8 · 120/400 metric calls · 12/20 evals · best 0.620 (baseline 0.025) · $0.0013 · 1m05s · "
            "ETA 2m32s");
  auto back = progress_from_json(to_json(p));
  EXPECT_EQ(render_progress(back), render_progress(p));
}

TEST(progress, durations_read_as_people_say_them) {
  using std::chrono::milliseconds;
  EXPECT_EQ(human_duration(milliseconds(84)), "84ms");
  EXPECT_EQ(human_duration(milliseconds(2'540)), "2.5s");
  EXPECT_EQ(human_duration(milliseconds(65'400)), "1m05s");
  EXPECT_EQ(human_duration(milliseconds(7'384'000)), "2h03m");
}

TEST(progress, the_wire_form_reads_back_the_same) {
  auto p = midway();
  auto back = progress_from_json(to_json(p));
  EXPECT_EQ(render_progress(back), render_progress(p));
  EXPECT_EQ(back.eta, p.eta);
}

TEST(progress, a_bar_is_cut_to_fit_the_terminal_so_redrawing_it_never_wraps) {
  EXPECT_EQ(fit_to_columns("abc", 4), "abc");
  EXPECT_EQ(fit_to_columns("abcdef", 4), "ab…");
  EXPECT_EQ(fit_to_columns("a·b·c", 4), "a·…");  // characters, not bytes: '·' is two
  EXPECT_EQ(fit_to_columns("abcdef", 0), "abcdef");  // width not known
  auto line = render_progress(midway(), 24);
  auto fitted = fit_to_columns(line, 60);
  std::size_t cells = 0;
  for (char c : fitted) cells += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  EXPECT_LT(cells, 60u);
  EXPECT_EQ(fitted.substr(0, 30), line.substr(0, 30));
}

}  // namespace
}  // namespace optd::engine
