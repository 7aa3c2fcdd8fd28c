#pragma once
// Evaluates candidate prompts on items of a run's sample, one experiment (a trial, to optd) per
// call of run(), several at once: renders each item's messages, journals every evaluation as
// pending in one transaction, then calls the provider, scores each answer, and completes its row.
// Failed calls are stored with their error and left out of the experiment's mean. Evaluations not
// started when the run must stop (cancel, restart, a spent budget) stay pending.
//
// The run's max_concurrency is one pool of slots shared by every experiment in flight, served in
// turn; a slot is held from the request until the answer is committed, so at any moment at most
// max_concurrency answers are not yet in the journal: after a crash, at most those are asked
// again. Completions are group-committed: those that arrive in the same turn of the event loop,
// from any experiment, share one transaction, and an evaluation is counted (its experiment's
// `done` callback) only once its row is committed.
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "core/evaluation_metric.hpp"
#include "core/optimizer.hpp"
#include "core/objective.hpp"
#include "engine/async_semaphore.hpp"
#include "engine/judge_journal.hpp"
#include "engine/run_environment.hpp"
#include "engine/task_group.hpp"

namespace optd::engine {

struct trial_outcome {
  core::evaluation_result result;
  store::trial_record record;
};

class trial_runner {
 public:
  using evaluation_done = std::function<void(const store::evaluation_record&)>;

  trial_runner(run_environment& env, const core::run_spec& spec, const std::vector<core::dataset_item>& sample,
               std::vector<std::unique_ptr<core::evaluation_metric>> metrics, core::llm_provider& provider,
               core::model_price price, std::string run_id);
  ~trial_runner();

  // Evaluates `prompt` on the sample items at `positions`, in that order, as the experiment
  // `trial` (its id, number, type, candidate and metadata set). With `journaled`, the trial is in
  // the journal already (a resumed run): its evaluations there are reused and only those still
  // pending are requested again; otherwise it is inserted.
  boost::asio::awaitable<trial_outcome> run(store::trial_record trial, bool journaled, const core::prompt_messages& prompt,
                                            const std::vector<std::size_t>& positions, const evaluation_done& done);

  // Cancels the evaluations in flight; they stay pending in the store.
  void cancel();
  // Starts no new evaluation; those in flight finish and are stored (a drain before a restart).
  void stop_new_work() noexcept { draining_ = true; }
  // Asked before each request: once it holds (a budget is spent), no new evaluation starts.
  void stop_when(std::function<bool()> stop) { stop_ = std::move(stop); }
  // Hears of each judge call that serves the whole run (judge_journal), to count it in the run.
  void on_shared_judge_call(std::function<void(const store::llm_call_record&)> f) { judges_.on_shared_call(std::move(f)); }

 private:
  struct slot;
  struct execution;
  boost::asio::awaitable<void> worker(execution& x);
  void commit();
  // A journal write, timed for the store write latency metric.
  template <typename Write>
  void timed_write(Write write);
  // The metrics' results into the row (scores, objective, completed).
  void record_scores(slot& s, std::vector<core::metric_result> results);
  // Scores an answered evaluation with every metric, the judges through the journal.
  boost::asio::awaitable<void> judge(slot& s);
  // Adds the row to the next group commit and waits for it; `done` hears of it then (none for an
  // answer that waits for its judges).
  boost::asio::awaitable<void> journal(store::evaluation_record& row, const evaluation_done* done);
  void restore_scores(slot& s);

  run_environment& env_;
  const core::run_spec& spec_;
  const std::vector<core::dataset_item>& sample_;
  std::vector<std::unique_ptr<core::evaluation_metric>> metrics_;
  core::llm_provider& provider_;
  core::model_price price_;
  std::string run_id_;
  async_semaphore slots_;                // the run's max_concurrency, across its experiments
  core::objective objective_;
  judge_journal judges_;
  bool judged_ = false;                  // some metric asks a model
  std::list<task_group*> in_flight_;     // each running experiment's workers
  bool cancelled_ = false;
  bool draining_ = false;
  std::vector<std::pair<const store::evaluation_record*, const evaluation_done*>> uncommitted_;
  std::unique_ptr<boost::asio::steady_timer> committed_;  // cancelled after each commit: wakes waiting workers
  bool commit_scheduled_ = false;
  std::exception_ptr commit_error_;  // a failed journal write: every experiment in flight ends with it
  std::function<bool()> stop_;
};

}  // namespace optd::engine
