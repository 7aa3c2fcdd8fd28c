#pragma once
// The optimizer plugin interface. An optimizer is a coroutine that proposes candidate prompts and
// awaits their scores through an optimizer_context; the engine owns evaluation, concurrency,
// budgets, storage, recording and cancellation. An optimizer is then a strategy over results
// (Pareto fronts, acceptance rules, populations), unit-tested with a scripted context
// (tests/support/scripted_context.hpp) and no sockets.
//
// Replay. A run that stopped (a crash, a restart) is resumed by running its optimizer again from
// the start against the journal: what the journal holds is answered at once, as it was answered
// before, and only the rest is asked. For that to reproduce the run exactly, an optimizer
//   - draws randomness only from ctx.rng() (seeded by the run), never from a clock or a device;
//   - decides only from its settings and what the context returned (results, replies, counts);
//   - does concurrent work only through evaluate_all() and reason_all(), never through
//     coroutines of its own, so that what it sees never depends on which answer came first.
// The journal matches an evaluation by its content (type, prompt and items) and by how many times
// the same content was asked before, and a reasoning call by its request and the same count; so
// a resumed run finds its answers whatever numbers its experiments get.
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/evaluation_metric.hpp"
#include "core/llm.hpp"
#include "core/run_spec.hpp"

namespace optd::core {

// Opik's experiment types. Screenings (mini-batch, mutation) count as trials in num_trials but
// never set the baseline or the best (core/aggregates.hpp).
enum class experiment_type { trial, mini_batch, mutation };
std::string_view to_string(experiment_type t) noexcept;  // "trial", "mini-batch", "mutation"
std::optional<experiment_type> experiment_type_from_string(std::string_view s) noexcept;

struct candidate {
  candidate() = default;
  candidate(prompt_messages m, std::string o, std::vector<std::string> parents = {}, int s = 0)
      : messages(std::move(m)), origin(std::move(o)), parent_ids(std::move(parents)), step(s) {}

  prompt_messages messages;
  std::string origin;                   // for people: "baseline", "round 2 rewrite 1", …
  std::vector<std::string> parent_ids;  // candidate ids it was made from; none for the seed
  int step = 0;                         // step_index: 0 for the seed, a child's parents' highest + 1

  // The candidate_id: a pure function of the messages, so that one prompt is one candidate
  // however often and however it is evaluated (Opik pools a candidate's trials by it).
  std::string id() const;
};

struct evaluation_request {
  core::candidate candidate;
  // Items of the run's sample, in the order the results come back; empty: the whole sample.
  std::vector<std::string> item_ids;
  experiment_type type = experiment_type::trial;
  // Merged into the experiment's metadata (`configuration` into its configuration).
  nlohmann::json metadata = nlohmann::json::object();
};

struct item_result {
  const dataset_item* item = nullptr;  // in the run's sample, which outlives every result
  std::string output;
  std::vector<metric_score> scores;  // one per metric of the run, in its order
  double objective = 0;              // the metrics combined; 0 when failed
  bool failed = false;
  std::string error;                 // why it failed: the call, or the rendering of the prompt
  token_usage tokens;
  double cost_usd = 0;
  std::chrono::microseconds latency{0};

  // "metric: reason; metric: reason", or "evaluation failed: <error>".
  std::string reason() const;
};

struct evaluation_result {
  int number = 0;  // the experiment's number in the run; the baseline is 1
  std::string experiment_id;
  std::string candidate_id;
  experiment_type type = experiment_type::trial;
  std::optional<double> score;    // mean objective of the scored items; none when none was
  std::vector<item_result> items;  // as the request named them
  int failed = 0;                  // items that could not be scored
  bool cancelled = false;          // the run stopped before every item was answered

  // Every item was tried and none could be scored (a cancelled evaluation is not "all failed").
  bool all_failed() const noexcept {
    return !cancelled && !items.empty() && failed == static_cast<int>(items.size());
  }
  // Sum of the items' objectives, a failed item counting 0: GEPA's comparisons on a mini-batch.
  double sum() const noexcept;
};

// The failure that ends a run whose evaluation could score nothing (Opik's
// AllEvaluationsFailedError): each distinct error with how often it came.
[[noreturn]] void throw_all_failed(const evaluation_result& r);

// What a run has asked for so far, the baseline included. Counted when asked, so that they are
// the same in a replay.
struct run_counts {
  int trials = 0;
  int mini_batches = 0;
  int mutations = 0;
  long long item_evaluations = 0;  // (candidate, item) pairs: GEPA's "metric calls"
  int reasoning_calls = 0;
  int experiments() const noexcept { return trials + mini_batches + mutations; }
};

enum class finish_reason {
  completed, max_trials, perfect_score, no_improvement, reflection_budget, budget, cancelled, error
};
std::string_view to_string(finish_reason r) noexcept;

class optimizer_context {
 public:
  virtual ~optimizer_context() = default;

  // The run's items (a seeded sample when n_samples is set), in dataset order.
  virtual const std::vector<dataset_item>& sample() const noexcept = 0;
  // Evaluates each request as one experiment, all at once: their items share the run's
  // max_concurrency and the provider's fair share. Results come back in the requests' order.
  // Once the run must stop (should_stop), nothing new is started: results come back cancelled.
  virtual boost::asio::awaitable<std::vector<evaluation_result>> evaluate_all(std::vector<evaluation_request> requests) = 0;
  // Asks the reasoning model, all at once; each call is journaled, costed and traced like a task
  // call. Once the run must stop, calls fail with errc::cancelled instead of being sent.
  virtual boost::asio::awaitable<std::vector<completion_result>> reason_all(std::vector<chat_request> requests) = 0;
  virtual const run_counts& counts() const noexcept = 0;
  virtual const run_limits& limits() const noexcept = 0;
  // True once the run must stop: cancellation, a restart, max_duration or max_cost_usd.
  virtual bool should_stop() const noexcept = 0;
  virtual std::mt19937_64& rng() noexcept = 0;
  virtual void log(std::string_view line) = 0;
  // How much of the optimizer's own budget is spent, for progress ("metric calls", 120 of 400).
  // Without it progress counts trials against limits.max_trials.
  virtual void report_budget(double used, double total, std::string_view unit) = 0;

  boost::asio::awaitable<evaluation_result> evaluate(evaluation_request request);
  boost::asio::awaitable<completion_result> reason(chat_request request);
  // Trials (type trial) the optimizer may still ask for under limits.max_trials.
  int trials_left() const noexcept { return limits().max_trials - counts().trials; }
};

struct optimizer_outcome {
  finish_reason reason = finish_reason::completed;
  std::string detail;
};

// Evaluates `c` as a trial of the whole sample, and ends the run (throw_all_failed) when none of
// its items could be scored: what every optimizer does with its baseline.
boost::asio::awaitable<evaluation_result> evaluate_or_fail(optimizer_context& ctx, candidate c);

// What an optimizer returns when the run must stop (should_stop(), or a cancelled result): the
// engine then records why (cancelled, max_duration or max_cost_usd), or keeps the run live for a
// restart.
inline optimizer_outcome stopped() { return {finish_reason::budget, "the run stopped"}; }

class optimizer {
 public:
  virtual ~optimizer() = default;
  // `baseline` is the run's prompt; every optimizer evaluates it first, as a trial of the whole
  // sample, and ends the run with throw_all_failed when nothing of it could be scored.
  virtual boost::asio::awaitable<optimizer_outcome> run(optimizer_context& ctx, candidate baseline) = 0;
};

}  // namespace optd::core
