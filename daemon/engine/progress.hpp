#pragma once
// A run's progress as people watch it, and its one-line rendering for terminals.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/price.hpp"
#include "core/run_status.hpp"

namespace optd::engine {

struct run_progress {
  std::string run_id;
  std::string name;
  core::run_status status = core::run_status::initialized;
  int trials_done = 0;      // experiments finished (trials, mini-batches, mutations)
  int max_trials = 0;
  int evals_done = 0;       // of the experiments in flight
  int evals_in_trial = 0;
  // The optimizer's own budget when it is not trials (GEPA: metric calls): how much is spent.
  double budget_used = 0;
  double budget_total = 0;
  std::string budget_unit;
  std::optional<double> baseline;
  std::optional<double> best;
  double cost_usd = 0;
  core::token_usage tokens;
  std::int64_t llm_calls = 0;
  std::int64_t failed_calls = 0;
  std::chrono::milliseconds elapsed{0};
  std::optional<std::chrono::milliseconds> eta;
};

// "[#####-----] trial 3/10 · 12/20 evals · best 0.62 (baseline 0.41) · $0.0012 · 00:12 · ETA 00:30";
// with a budget of the optimizer's own, "trial 7 · 120/400 metric calls · …" and the bar by it.
// `width` is the bar's width in cells.
std::string render_progress(const run_progress& p, int width = 20);

// `line` cut to fewer than `columns` characters (UTF-8 code points, "…" where it was cut), so
// that a bar redrawn in place with "\r" never wraps onto a second line; as it is when it fits or
// when `columns` is not known (0).
std::string fit_to_columns(const std::string& line, int columns);
// The width of the terminal on `fd`, else $COLUMNS, else 0 (not known).
int terminal_columns(int fd);

// The wire form of progress (optd's /api/optd/runs/{id}/progress and its event stream), and back.
nlohmann::json to_json(const run_progress& p);
run_progress progress_from_json(const nlohmann::json& j);

// "1m05s", "2.5s", "84ms": durations for people.
std::string human_duration(std::chrono::milliseconds d);

}  // namespace optd::engine
