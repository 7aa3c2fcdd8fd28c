#pragma once
// optd as a worker of Opik's Studio queue (reference/studio-worker.md): when a run slot is free it
// moves one job id off rq:queue:{queue} into its own claims list (BLMOVE: atomic, so among any
// number of workers each job goes to exactly one), reads the job, journals the claim in the store
// and hands the job to `start`, which submits its run (recorded in Opik through the outbox as
// every run is) or records it as failed with Opik's error_info. While its jobs run it
//   - renews its lease (optd:worker:{name}, expiring after `lease`) and RQ's heartbeats;
//   - polls the jobs' cancel keys (opik:cancel:{id}) and cancels their runs;
//   - appends their runs' log lines to opik:logs:{workspace_id}:{id}, where Opik's backend
//     collects a Studio run's log for its UI;
//   - puts back on the queue the claims of workers whose lease expired (they died).
// When a run ends its job is finished or failed in RQ's records and its claim released. A worker
// that restarts finds its claims in its store and in Redis, and resumes their runs from their
// journals; a claim Redis no longer lists as its own (another worker took it over) is not resumed.
//
// Redis unreachable: runs in flight go on (their cancel-in-Opik watch and recording do not need
// Redis); claiming, logs and RQ's records wait and catch up when it answers again.
//
// Use from the event loop thread.
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/daemon_config.hpp"
#include "core/clock.hpp"
#include "core/run_error.hpp"
#include "engine/run_manager.hpp"
#include "opik/headers.hpp"
#include "queue/redis_connection.hpp"
#include "queue/rq_job.hpp"
#include "queue/rq_records.hpp"
#include "store/store.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace optd::queue {

struct studio_worker_context {
  engine::run_manager& runs;
  store::store& db;
  core::clock& clock;
  const telemetry::logger& log;
  telemetry::metrics* metrics = nullptr;
  // Submits the job's run; or, when it cannot run (a problem of the job itself, or of its config),
  // records it as ended in error — in the store and in Opik, with error_info typed as Opik's
  // worker types it — and returns that error.
  std::function<std::optional<core::run_error>(const parsed_job& job)> start;
  // Resumes a claimed job's run from its journal after a restart (unless it is already running).
  std::function<void(const std::string& run_id)> resume;
  // Ends a run in the store only (not in Opik): its job was taken over by another worker.
  std::function<void(const std::string& run_id, const std::string& why)> abandon;
  std::string version;  // optd's, for RQ's worker record
  int max_concurrent_runs = 4;
};

class studio_worker {
 public:
  studio_worker(boost::asio::any_io_executor ex, studio_worker_context ctx, config::studio_worker_config cfg);
  ~studio_worker();

  // Connects (retrying until Redis answers), recovers this worker's claims, then claims jobs.
  void start();
  // Claims no more and lets go of Redis; the claimed jobs' runs go on or are suspended by their
  // owner, and their claims stay this worker's (resumed at its next start).
  void stop();

  // The run manager says a run's executor ended (engine::run_manager::on_run_ended).
  void run_ended(const std::string& run_id);
  // The store's runs that are this worker's claimed jobs: the daemon leaves them to the worker.
  static bool is_claimed_run(store::store& db, const std::string& run_id);
  // optd-{host name}-{8 hex digits of the state directory}: the same across restarts of one
  // daemon, different for two daemons of one host.
  static std::string default_name(const std::string& state_dir);

  const std::string& name() const noexcept { return cfg_.name; }
  // Whom a claimed job's run is in Opik (its workspace, and its user's key on Opik's cloud);
  // nullopt for a run that is no claimed job of this worker.
  std::optional<opik::run_identity> identity(const std::string& run_id) const;

 private:
  struct job {
    store::studio_job_record record;
    bool finishing = false;  // its RQ records are being written: nothing else erases it meanwhile
  };
  boost::asio::awaitable<void> connect();  // cmd_, registered, with a lease
  boost::asio::awaitable<void> recover();
  boost::asio::awaitable<void> claim_loop();
  boost::asio::awaitable<void> claimed(redis_connection& conn, std::string job_id);
  boost::asio::awaitable<void> upkeep_loop();
  boost::asio::awaitable<void> upkeep();
  boost::asio::awaitable<void> reap();
  boost::asio::awaitable<void> tick_loop();
  boost::asio::awaitable<void> flush_logs(std::string run_id);
  boost::asio::awaitable<void> finish(std::string run_id);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);
  boost::asio::awaitable<void> farewell();  // leaves RQ's registries
  void ended(job& j);   // its run is over: RQ's records are to be written
  void lost(const std::string& run_id);  // its claim was taken over: its run stops here
  bool slot_free() const;
  void redis_state(bool up, const std::string& why = {});
  std::string short_id(const std::string& id) const { return id.substr(0, 8); }

  boost::asio::any_io_executor ex_;
  studio_worker_context ctx_;
  config::studio_worker_config cfg_;
  rq_worker rq_;
  std::unique_ptr<redis_connection> cmd_;       // commands
  std::unique_ptr<redis_connection> blocking_;  // BLMOVE only
  std::map<std::string, job> jobs_;             // by run (optimization) id
  std::set<std::string> released_;              // runs of lost claims, still stopping
  std::set<std::string> unstarted_;             // job ids claimed, not started: Redis failed meanwhile
  boost::asio::steady_timer slot_;              // cancelled when a slot may have come free
  std::array<boost::asio::cancellation_signal, 3> stops_;  // the upkeep, claim and tick loops
  bool stopped_ = false;
  bool redis_up_ = true;  // as last seen: its changes are logged once
  bool recovered_ = false;
};

}  // namespace optd::queue
