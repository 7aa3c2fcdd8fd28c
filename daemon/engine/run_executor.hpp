#pragma once
// Drives one run: records it, samples the dataset, and hands the optimizer an optimizer_context
// whose evaluate_all() runs experiments (trials, mini-batches, mutations; several at once) and
// whose reason_all() calls the reasoning model; keeps baseline and best as Opik computes them,
// enforces the budgets, and records how the run ended.
//
// Use from the event loop thread. run() returns the final run record; it throws only for
// infrastructure failures (the store), after trying to record the run as `error`. A failure that
// ends the run (a core::run_error, or any other exception) is recorded with Opik's error_info.
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>

#include "core/optimizer.hpp"
#include "engine/budget_gate.hpp"
#include "engine/budgeted_provider.hpp"
#include "engine/progress.hpp"
#include "engine/run_environment.hpp"
#include "engine/trial_runner.hpp"

namespace optd::engine {

class run_executor final : private core::optimizer_context {
 public:
  using progress_sink = std::function<void(const run_progress&)>;

  // `optimizer` and `metrics` come from plugins/registry; the dataset items carry stored ids.
  run_executor(run_environment& env, core::run_spec spec, std::vector<core::dataset_item> dataset,
               std::unique_ptr<core::optimizer> optimizer, std::vector<std::unique_ptr<core::evaluation_metric>> metrics,
               std::string run_id, progress_sink sink = {});
  ~run_executor() override;

  // Runs it to its end and records that. Throws store::unavailable when the store cannot be
  // written (at any point): the run is then left live in the store, as a crash would leave it.
  boost::asio::awaitable<store::run_record> run();

  // Stops the run as soon as possible: no new evaluation starts, those in flight are cancelled
  // (their rows stay pending), and the run is recorded as cancelled.
  void cancel();

  // Stops the run for a restart: no new evaluation starts; with `now`, those in flight are
  // aborted too (they stay pending). The run stays `running` in the store, to be resumed.
  void suspend(bool now);

  const run_progress& progress() const noexcept { return progress_; }

  // Before run(): the run could not be prepared (its dataset could not be read). run() records it
  // as started and then as `error` with this failure, so recorders see both.
  void fail_at_start(std::exception_ptr error) { start_error_ = std::move(error); }

 private:
  struct planned_trial;
  const std::vector<core::dataset_item>& sample() const noexcept override { return sample_; }
  boost::asio::awaitable<std::vector<core::evaluation_result>> evaluate_all(
      std::vector<core::evaluation_request> requests) override;
  boost::asio::awaitable<std::vector<core::completion_result>> reason_all(std::vector<core::chat_request> requests) override;
  const core::run_counts& counts() const noexcept override { return counts_; }
  const core::run_limits& limits() const noexcept override { return spec_.limits; }
  bool should_stop() const noexcept override;
  std::mt19937_64& rng() noexcept override { return rng_; }
  void log(std::string_view line) override;
  void report_budget(double used, double total, std::string_view unit) override;

  // The experiment a request becomes: its record (found in the journal on a resume) and items.
  planned_trial plan(core::evaluation_request& request);
  boost::asio::awaitable<void> run_trial(planned_trial& p);
  // One reasoning call the journal does not have: sent, journaled as soon as it is answered, and
  // counted; `out` stays empty when the call is cancelled.
  boost::asio::awaitable<void> ask(store::llm_call_record& call, const core::chat_request& request,
                                   std::optional<core::completion_result>& out);
  void count_call(const store::llm_call_record& call);
  void evaluation_done(const store::evaluation_record& e);
  void update_aggregates();
  void publish();
  // Records `failure` as the run's error and its error_info: type, message, and a traceback-like
  // account of where the run was.
  void record_failure(std::exception_ptr failure);

  // The run's view of a provider: with a max_cost_usd, every call holds its worst-case cost in
  // budget_ first; without one, the provider itself.
  core::llm_provider* budgeted(std::string_view provider_name);

  run_environment& env_;
  core::run_spec spec_;
  budget_gate budget_;         // max_cost_usd, held before each call
  std::map<std::string, std::unique_ptr<budgeted_provider>, std::less<>> budgeted_;
  run_environment run_env_;    // env_, its providers budgeted: what trials and judges call through
  std::vector<core::dataset_item> sample_;
  std::unordered_map<std::string, std::size_t> position_of_;  // item id → position in sample_
  std::unique_ptr<core::optimizer> optimizer_;
  std::unique_ptr<trial_runner> trials_;
  trial_runner::evaluation_done on_done_;
  std::vector<store::trial_record> trial_records_;  // finished ones
  store::run_record record_;
  run_progress progress_;
  progress_sink sink_;
  std::mt19937_64 rng_;
  std::chrono::system_clock::time_point started_;
  core::llm_provider* reasoning_provider_ = nullptr;
  std::string reasoning_provider_name_;
  core::run_counts counts_;
  int last_number_ = 0;                        // the highest trial number given out
  int journal_last_number_ = 0;                // the highest the journal had when the run (re)started
  std::map<std::string, int> trials_asked_;    // request key → times asked, to find the journal's
  std::map<std::string, int> reasoning_seen_;  // request → times asked, to replay the journal in order
  std::list<task_group*> reasoning_calls_;     // in flight, to cancel
  int trials_in_flight_ = 0;
  bool cancel_requested_ = false;
  bool suspend_requested_ = false;
  std::exception_ptr start_error_;
  std::string stage_ = "before its first trial";  // where the run is, for an error's account
};

}  // namespace optd::engine
