#pragma once
// optd's Prometheus metrics: one prometheus-cpp registry with every family optd exports, and the
// text exposition format for GET /metrics. Labels are bounded (provider, model, outcome, status);
// a run id appears only on the per-run gauges of active runs, which are removed when a run ends.
//
// Counters and gauges are prometheus-cpp's (atomic); the per-run bookkeeping and the collectors
// must be used from the event loop thread.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/price.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace optd::telemetry {

// The outcome label of an LLM request: ok, http_error, unavailable, timeout, bad_response, cancelled.
struct llm_observation {
  std::string_view provider, model, outcome;
  double seconds = 0;      // first attempt's start to the last response
  int retries = 0;         // attempts after the first
  int rate_limited = 0;    // 429 answers among the attempts
  core::token_usage tokens{};
  double cost_usd = 0;
};

class metrics {
 public:
  explicit metrics(std::string_view version);
  ~metrics();
  metrics(const metrics&) = delete;

  // Runs every collector, then renders the registry in the Prometheus text format (0.0.4).
  std::string scrape();
  // Called at each scrape, before rendering: for values read on demand (store counts, queue depths).
  void add_collector(std::function<void()> collect);

  // Zero series for a provider's counters, so that rates exist before its first retry or 429.
  void declare_provider(std::string_view provider);
  void llm_request(const llm_observation& o);
  void set_llm_in_flight(std::string_view provider, double n);
  void set_llm_waiting(std::string_view provider, double n);
  // A provider's rate limits as optd paces them (per minute, after its margin; `unit` requests or
  // tokens), and the seconds its attempts have waited for them in all.
  void set_llm_rate_limit(std::string_view provider, std::string_view model, std::string_view unit, double per_minute);
  void set_llm_rate_limit_wait(std::string_view provider, double seconds);
  // Attempts that ended without an HTTP answer so far (a counter, given as its running total).
  void set_llm_attempts_unanswered(std::string_view provider, double n);
  // A provider's daily budget, what was spent of it today, and whether its calls wait for tomorrow.
  void set_llm_daily_budget(std::string_view provider, double budget_usd, double spent_usd, bool exhausted);
  // Evaluations of running trials that are journaled and not yet answered.
  void set_evaluations_pending(double n);

  void trial_started();
  // outcome: completed, cancelled (stopped part way), failed (every evaluation failed)
  void trial_finished(std::string_view outcome);
  void store_write(std::chrono::nanoseconds took);
  void event_loop_lag(std::chrono::nanoseconds lag);
  void set_runs(std::string_view status, double n);
  // The Opik outbox: waiting messages, the age of the oldest, refused ones; and delivery errors
  // by reason (retried: 408/429/5xx or no connection; refused: any other 4xx).
  void set_outbox(double pending, double oldest_age_seconds, double dead);
  void outbox_delivery_error(std::string_view reason);

  // The Studio worker: jobs claimed off Opik's queue; jobs ended by outcome (completed, cancelled,
  // error: their run's status; refused: a job optd cannot run, failed upstream with error_info);
  // the queue's length; how long a claimed job had waited since Opik enqueued it; whether Redis
  // answers.
  void studio_job_claimed(double waited_seconds);
  void studio_job_ended(std::string_view outcome);
  void set_studio_queue_depth(double n);
  void set_studio_redis_up(bool up);  // 0 too on an optd without a Studio worker

  // Per-run gauges for a running run; end_run() removes them.
  void run_progress(const std::string& run_id, const std::string& name, int trials_done,
                    std::optional<double> best, double cost_usd);
  void end_run(const std::string& run_id);

 private:
  struct run_gauges;
  void collect_process();

  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::function<void()>> collectors_;
  prometheus::Family<prometheus::Counter>* llm_requests_;
  prometheus::Family<prometheus::Counter>* llm_retries_;
  prometheus::Family<prometheus::Counter>* llm_rate_limited_;
  prometheus::Family<prometheus::Counter>* llm_tokens_;
  prometheus::Family<prometheus::Counter>* llm_cost_;
  prometheus::Family<prometheus::Histogram>* llm_duration_;
  prometheus::Family<prometheus::Gauge>* llm_in_flight_;
  prometheus::Family<prometheus::Gauge>* llm_waiting_;
  prometheus::Family<prometheus::Gauge>* llm_rate_limit_;
  prometheus::Family<prometheus::Counter>* llm_rate_limit_wait_;
  prometheus::Family<prometheus::Counter>* llm_unanswered_;
  prometheus::Family<prometheus::Gauge>* llm_daily_budget_;
  prometheus::Family<prometheus::Gauge>* llm_daily_spent_;
  prometheus::Family<prometheus::Gauge>* llm_daily_exhausted_;
  prometheus::Gauge* evaluations_pending_;
  prometheus::Counter* trials_started_;
  prometheus::Family<prometheus::Counter>* trials_finished_;
  prometheus::Histogram* store_write_;
  prometheus::Histogram* loop_lag_;
  prometheus::Family<prometheus::Gauge>* runs_;
  prometheus::Gauge* outbox_pending_;
  prometheus::Gauge* outbox_age_;
  prometheus::Gauge* outbox_dead_;
  prometheus::Family<prometheus::Counter>* outbox_errors_;
  prometheus::Counter* studio_claimed_;
  prometheus::Family<prometheus::Counter>* studio_ended_;
  prometheus::Gauge* studio_queue_depth_;
  prometheus::Gauge* studio_redis_up_;
  prometheus::Histogram* studio_claim_wait_;
  prometheus::Family<prometheus::Gauge>* run_best_;
  prometheus::Family<prometheus::Gauge>* run_trials_;
  prometheus::Family<prometheus::Gauge>* run_cost_;
  prometheus::Counter* process_cpu_;
  double cpu_seen_ = 0;
  prometheus::Gauge* process_rss_;
  prometheus::Gauge* process_vsz_;
  prometheus::Gauge* process_fds_;
  prometheus::Gauge* process_max_fds_;
  prometheus::Gauge* process_start_;
  std::map<std::string, std::unique_ptr<run_gauges>> run_gauges_;
};

}  // namespace optd::telemetry
