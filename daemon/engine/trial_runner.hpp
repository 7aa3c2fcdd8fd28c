#pragma once
// Evaluates one candidate prompt on a run's sample: renders each item's messages, journals every
// evaluation as pending in one transaction, then calls the provider for up to max_concurrency
// items at once, scores each answer, and completes its row. Failed calls are stored with their
// error and left out of the trial's mean (the trial then counts fewer evaluated items).
// Completions are group-committed: those that arrive in the same turn of the event loop share one
// transaction, and an evaluation is counted (the `done` callback) only once its row is committed.
// A worker sends its next request only after its answer is committed, so at any moment at most
// max_concurrency answers are not yet in the journal: after a crash, at most those are asked again.
#include <functional>
#include <memory>
#include <vector>

#include "core/evaluation_metric.hpp"
#include "core/optimizer.hpp"
#include "engine/run_environment.hpp"
#include "engine/task_group.hpp"

#include <boost/asio/steady_timer.hpp>

namespace optd::engine {

struct trial_outcome {
  core::trial_result result;
  store::trial_record record;
  bool cancelled = false;
};

class trial_runner {
 public:
  using evaluation_done = std::function<void(const store::evaluation_record&)>;

  trial_runner(run_environment& env, const core::run_spec& spec, std::vector<core::dataset_item> sample,
               std::vector<std::unique_ptr<core::evaluation_metric>> metrics, core::llm_provider& provider,
               core::model_price price, std::string run_id);

  // `id` is the trial's (its Opik experiment's); a trial the journal has already keeps its own.
  boost::asio::awaitable<trial_outcome> run(int number, std::string id, const core::candidate& candidate,
                                            const evaluation_done& done);

  // Cancels the evaluations in flight; they stay pending in the store.
  void cancel();
  // Starts no new evaluation; those in flight finish and are stored (a drain before a restart).
  void stop_new_work() noexcept { draining_ = true; }

  std::size_t sample_size() const noexcept { return sample_.size(); }

 private:
  struct slot;
  boost::asio::awaitable<void> worker(std::vector<slot>& slots, std::size_t& next);
  void commit();
  // A journal write, timed for the store write latency metric.
  template <typename Write>
  void timed_write(Write write);
  void score(slot& s, const core::completion& c);
  void restore_scores(slot& s);

  run_environment& env_;
  const core::run_spec& spec_;
  std::vector<core::dataset_item> sample_;
  std::vector<std::unique_ptr<core::evaluation_metric>> metrics_;
  double weight_sum_ = 0;
  core::llm_provider& provider_;
  core::model_price price_;
  std::string run_id_;
  task_group* in_flight_ = nullptr;
  bool cancelled_ = false;
  bool draining_ = false;
  std::vector<const store::evaluation_record*> uncommitted_;
  std::unique_ptr<boost::asio::steady_timer> committed_;  // cancelled after each commit: wakes waiting workers
  bool commit_scheduled_ = false;
  const evaluation_done* done_ = nullptr;
};

}  // namespace optd::engine
