#pragma once
// The daemon's runs: a queue in front of at most `max_concurrent_runs` executors. Every run is
// recorded as `initialized` when it is submitted, so it can be read and cancelled before it
// starts. All runs share the providers (and so their concurrency limits).
//
// Use from the event loop thread. Runs are spawned on the manager's executor; stop() cancels them
// all and wait_idle() returns when none is left. A run whose submission needs preparing (a dataset
// to fetch) takes its slot while it is prepared, and stays `initialized` until it starts.
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/evaluation_metric.hpp"
#include "core/optimizer.hpp"
#include "engine/progress_hub.hpp"
#include "engine/run_environment.hpp"

namespace optd::engine {

class run_executor;

struct run_submission {
  std::string id;  // UUID v7
  core::run_spec spec;
  std::vector<core::dataset_item> dataset;
  std::unique_ptr<core::optimizer> optimizer;
  std::vector<std::unique_ptr<core::evaluation_metric>> metrics;
  std::string metadata_json = "{}";
  std::string studio_config_json;
  std::string source;    // the config text as submitted, kept to resume from
  bool resumed = false;  // already recorded: a run optd is resuming after a stop or a crash
  // Set when the run still needs something fetched as it starts (its dataset, from Opik): it
  // completes this submission (spec, dataset, optimizer, metrics) and throws when it cannot, which
  // fails the run with that message. It holds a run slot while it works; cancellation (a stop)
  // reaches it through the coroutine's cancellation slot.
  std::function<boost::asio::awaitable<void>(run_submission&)> prepare;
};

// The run's first record, as it is stored when it is submitted (initialized), naming the
// process that executes it ("optd serve", "optd run"): the next owner of the store finds it there.
store::run_record submitted_record(const run_submission& s, std::int64_t now_ms, std::string executor);

enum class cancel_result { cancelled, not_found, already_finished };

class run_manager {
 public:
  run_manager(boost::asio::any_io_executor ex, run_environment& env, int max_concurrent_runs);
  ~run_manager();

  // Records the run as initialized (unless it is being resumed) and queues it; it starts as soon
  // as a slot is free.
  void submit(run_submission s);

  // Cancels a queued or running run.
  cancel_result cancel(const std::string& id);

  // Stops a run's work at once and leaves it live in the store, unfinished, recording nothing
  // more: another process owns it now (a Studio job taken over by another worker).
  void release(const std::string& id);

  // Deletes a run and its records; a running one is cancelled first and deleted when it ends.
  void remove(const std::string& id);

  bool active(const std::string& id) const;
  // A new limit (config reload): more runs start at once if it grew; none is stopped if it shrank.
  void set_max_running(int n);
  // Called when a run stopped because the store could not be written (store::unavailable): the
  // run is left live in the store, for the caller to resume once the store takes writes again.
  void on_store_unavailable(std::function<void(const std::string& run_id)> f) { store_unavailable_ = std::move(f); }
  // Called when a run's executor has ended and its slot is free: it finished, or it stopped for a
  // suspend or a store failure (its record in the store tells which).
  void on_run_ended(std::function<void(const std::string& run_id)> f) { run_ended_ = std::move(f); }
  // Live progress of the running runs, for watchers. Closed by stop() and suspend().
  progress_hub& progress() noexcept { return hub_; }
  // The progress of a running run; nullopt when it is queued or not running.
  std::optional<run_progress> live_progress(const std::string& id) const;
  std::size_t running() const noexcept { return running_.size(); }
  std::vector<std::string> running_ids() const;
  struct summary {
    std::size_t running = 0, queued = 0;
    int trials = 0;       // done by the running runs
    double cost_usd = 0;  // spent by the running runs
    int evaluations_pending = 0;  // of their current trials, not yet answered
  };
  summary totals() const;
  std::size_t queued() const noexcept { return queue_.size() + preparing_.size(); }

  // Cancels every queued and running run (queued ones are recorded as cancelled).
  void stop();
  // Before a restart: queued runs stay queued in the store, running ones start no new work (with
  // `now`, their calls in flight are aborted too). Every run stays live, to be resumed.
  void suspend(bool now);
  boost::asio::awaitable<void> wait_idle();

 private:
  void start_next();
  struct preparing_run;
  void launch(run_submission s, std::exception_ptr start_error = nullptr);
  boost::asio::awaitable<void> prepare(preparing_run& p);
  void prepared(const std::string& id);  // launches it, unless it was dropped meanwhile
  void idle_check();
  void published(const run_progress& p);  // to watchers and metrics

  boost::asio::any_io_executor ex_;
  run_environment& env_;
  std::size_t max_running_;
  std::deque<run_submission> queue_;
  std::map<std::string, std::unique_ptr<run_executor>> running_;
  struct preparing_run {
    run_submission s;
    boost::asio::cancellation_signal stop;
    std::exception_ptr error;  // what prepare threw: the run fails with it
    bool dropped = false;  // cancelled or suspended meanwhile: not launched when prepared
  };
  std::map<std::string, std::unique_ptr<preparing_run>> preparing_;
  std::map<std::string, bool> delete_when_done_;
  std::function<void(const std::string&)> store_unavailable_;
  std::function<void(const std::string&)> run_ended_;
  boost::asio::steady_timer idle_;
  progress_hub hub_;
};

}  // namespace optd::engine
