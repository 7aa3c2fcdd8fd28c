#include "telemetry/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace optd::telemetry {

namespace pm = prometheus;

struct metrics::run_gauges {
  pm::Labels labels;
  pm::Gauge* best;  // null until the run has a score
  pm::Gauge* trials;
  pm::Gauge* cost;
};

namespace {

// Seconds: LLM calls from milliseconds to minutes.
const pm::Histogram::BucketBoundaries llm_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
// Seconds: SQLite commits and event-loop stalls, from tens of microseconds up.
const pm::Histogram::BucketBoundaries fast_buckets{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                   0.005,   0.01,   0.025,   0.05,   0.1,   0.25, 1};

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

metrics::metrics(std::string_view version) : registry_(std::make_shared<pm::Registry>()) {
  auto& r = *registry_;
  pm::BuildGauge().Name("optd_build_info").Help("optd's version; always 1").Register(r)
      .Add({{"version", std::string(version)}}).Set(1);
  llm_requests_ = &pm::BuildCounter().Name("optd_llm_requests_total")
                       .Help("LLM requests by provider, model and outcome (retries inside one request count once)")
                       .Register(r);
  llm_retries_ = &pm::BuildCounter().Name("optd_llm_retries_total").Help("LLM request attempts after the first").Register(r);
  llm_rate_limited_ = &pm::BuildCounter().Name("optd_llm_rate_limited_total")
                           .Help("429 (rate limited) answers from LLM providers").Register(r);
  llm_tokens_ = &pm::BuildCounter().Name("optd_llm_tokens_total")
                     .Help("Tokens by provider, model and direction (prompt = in, completion = out)").Register(r);
  llm_cost_ = &pm::BuildCounter().Name("optd_llm_cost_usd_total")
                   .Help("Estimated spend on LLM calls in US dollars, from the configured prices").Register(r);
  llm_duration_ = &pm::BuildHistogram().Name("optd_llm_request_duration_seconds")
                       .Help("LLM request latency including retries").Register(r);
  llm_in_flight_ = &pm::BuildGauge().Name("optd_llm_requests_in_flight").Help("LLM requests holding a provider slot").Register(r);
  llm_waiting_ = &pm::BuildGauge().Name("optd_llm_requests_waiting")
                      .Help("Evaluations queued for a provider slot").Register(r);
  llm_rate_limit_ = &pm::BuildGauge().Name("optd_llm_rate_limit_per_minute")
                         .Help("A provider's rate limit per model as optd paces it (configured or learned from "
                               "its answers, whichever is lower, less optd's margin), by unit: requests, tokens")
                         .Register(r);
  llm_rate_limit_wait_ = &pm::BuildCounter().Name("optd_llm_rate_limit_wait_seconds_total")
                              .Help("Time LLM request attempts waited for a provider's rate limits").Register(r);
  llm_unanswered_ = &pm::BuildCounter().Name("optd_llm_attempts_unanswered_total")
                        .Help("LLM request attempts that ended without an HTTP answer (timed out, connection "
                              "refused or reset, aborted), counted as each ends, not when its call does")
                        .Register(r);
  llm_daily_budget_ = &pm::BuildGauge().Name("optd_llm_daily_budget_usd")
                          .Help("A provider's daily_budget_usd, for all runs together (UTC days)").Register(r);
  llm_daily_spent_ = &pm::BuildGauge().Name("optd_llm_daily_spent_usd")
                         .Help("Spent today (UTC) at a provider with a daily budget, from the configured prices")
                         .Register(r);
  llm_daily_exhausted_ = &pm::BuildGauge().Name("optd_llm_daily_budget_exhausted")
                             .Help("1 while a provider's calls wait for the next day: its daily budget is spent")
                             .Register(r);
  evaluations_pending_ = &pm::BuildGauge().Name("optd_evaluations_pending")
                              .Help("Evaluations of running trials journaled and not yet answered (in flight, "
                                    "waiting for a slot, or not yet started)")
                              .Register(r).Add({});
  trials_started_ = &pm::BuildCounter().Name("optd_trials_started_total").Help("Trials started").Register(r).Add({});
  trials_finished_ = &pm::BuildCounter().Name("optd_trials_finished_total").Help("Trials finished, by outcome").Register(r);
  store_write_ = &pm::BuildHistogram().Name("optd_store_write_duration_seconds")
                      .Help("Journal writes (one transaction each)").Register(r).Add({}, fast_buckets);
  loop_lag_ = &pm::BuildHistogram().Name("optd_event_loop_lag_seconds")
                   .Help("How late the event loop's heartbeat timer fired (a busy or blocked loop)")
                   .Register(r).Add({}, fast_buckets);
  outbox_pending_ = &pm::BuildGauge().Name("optd_outbox_messages").Help("Writes to Opik waiting in the outbox")
                         .Register(r).Add({});
  outbox_age_ = &pm::BuildGauge().Name("optd_outbox_oldest_age_seconds")
                     .Help("Age of the oldest write waiting for Opik (delivery lag)").Register(r).Add({});
  outbox_dead_ = &pm::BuildGauge().Name("optd_outbox_refused_messages")
                      .Help("Writes Opik refused (4xx), kept aside in the outbox").Register(r).Add({});
  outbox_errors_ = &pm::BuildCounter().Name("optd_outbox_delivery_errors_total")
                        .Help("Failed deliveries to Opik, by reason (retried or refused)").Register(r);
  for (const char* reason : {"retried", "refused"}) outbox_errors_->Add({{"reason", reason}});  // rates from zero
  studio_claimed_ = &pm::BuildCounter().Name("optd_studio_jobs_claimed_total")
                         .Help("Studio jobs this worker claimed off Opik's Redis queue").Register(r).Add({});
  studio_ended_ = &pm::BuildCounter().Name("optd_studio_jobs_finished_total")
                       .Help("Studio jobs this worker ended, by outcome (completed, cancelled, error, refused)")
                       .Register(r);
  for (const char* outcome : {"completed", "cancelled", "error", "refused"}) studio_ended_->Add({{"outcome", outcome}});
  studio_queue_depth_ = &pm::BuildGauge().Name("optd_studio_queue_depth")
                             .Help("Jobs waiting in Opik's Studio queue, as last read").Register(r).Add({});
  studio_redis_up_ = &pm::BuildGauge().Name("optd_studio_redis_up")
                          .Help("1 when the Studio worker's Redis answers, else 0").Register(r).Add({});
  studio_claim_wait_ = &pm::BuildHistogram().Name("optd_studio_claim_latency_seconds")
                            .Help("How long a Studio job waited in the queue, from Opik's enqueue to this claim")
                            .Register(r).Add({}, pm::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                                 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600});
  runs_ = &pm::BuildGauge().Name("optd_runs").Help("Runs in the store by status").Register(r);
  run_best_ = &pm::BuildGauge().Name("optd_run_best_score").Help("Best objective score of each active run").Register(r);
  run_trials_ = &pm::BuildGauge().Name("optd_run_trials").Help("Trials done by each active run").Register(r);
  run_cost_ = &pm::BuildGauge().Name("optd_run_cost_usd").Help("Spend of each active run in US dollars").Register(r);
  process_cpu_ = &pm::BuildCounter().Name("process_cpu_seconds_total").Help("User and system CPU time of optd")
                      .Register(r).Add({});
  process_rss_ = &pm::BuildGauge().Name("process_resident_memory_bytes").Help("Resident memory").Register(r).Add({});
  process_vsz_ = &pm::BuildGauge().Name("process_virtual_memory_bytes").Help("Virtual memory").Register(r).Add({});
  process_fds_ = &pm::BuildGauge().Name("process_open_fds").Help("Open file descriptors").Register(r).Add({});
  process_max_fds_ = &pm::BuildGauge().Name("process_max_fds").Help("Limit on open file descriptors").Register(r).Add({});
  process_start_ = &pm::BuildGauge().Name("process_start_time_seconds")
                        .Help("Start time of optd, seconds since the Unix epoch").Register(r).Add({});
  process_start_->Set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

metrics::~metrics() = default;

void metrics::add_collector(std::function<void()> collect) { collectors_.push_back(std::move(collect)); }

std::string metrics::scrape() {
  for (const auto& c : collectors_) c();
  collect_process();
  std::ostringstream out;
  pm::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

void metrics::collect_process() {
  // /proc/self/stat fields 14-15 (utime, stime, ticks) and 23-24 (vsize bytes, rss pages).
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto after = text.rfind(')');  // the command name may hold spaces
  if (after != std::string::npos) {
    std::istringstream fields(text.substr(after + 2));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
    if (f.size() > 22) {
      double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      if (cpu > cpu_seen_) process_cpu_->Increment(cpu - cpu_seen_);
      cpu_seen_ = std::max(cpu, cpu_seen_);
      process_vsz_->Set(std::stod(f[20]));
      process_rss_->Set(std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE)));
    }
  }
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++fds;
    closedir(d);
    fds -= 3;  // ".", ".." and the directory's own descriptor
  }
  process_fds_->Set(fds);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) process_max_fds_->Set(static_cast<double>(lim.rlim_cur));
}

void metrics::declare_provider(std::string_view provider) {
  pm::Labels l{{"provider", std::string(provider)}};
  llm_retries_->Add(l);
  llm_rate_limited_->Add(l);
  llm_in_flight_->Add(l);
  llm_waiting_->Add(l);
  llm_rate_limit_wait_->Add(l);
  llm_unanswered_->Add(l);
}

void metrics::llm_request(const llm_observation& o) {
  pm::Labels pmodel{{"provider", std::string(o.provider)}, {"model", std::string(o.model)}};
  auto with = [&](const char* k, std::string_view v) {
    auto l = pmodel;
    l.emplace(k, std::string(v));
    return l;
  };
  llm_requests_->Add(with("outcome", o.outcome)).Increment();
  if (o.retries > 0) llm_retries_->Add({{"provider", std::string(o.provider)}}).Increment(o.retries);
  if (o.rate_limited > 0) llm_rate_limited_->Add({{"provider", std::string(o.provider)}}).Increment(o.rate_limited);
  llm_tokens_->Add(with("direction", "prompt")).Increment(static_cast<double>(o.tokens.prompt_tokens));
  llm_tokens_->Add(with("direction", "completion")).Increment(static_cast<double>(o.tokens.completion_tokens));
  llm_cost_->Add(pmodel).Increment(o.cost_usd);
  llm_duration_->Add(pmodel, llm_buckets).Observe(o.seconds);
}

void metrics::set_llm_in_flight(std::string_view provider, double n) {
  llm_in_flight_->Add({{"provider", std::string(provider)}}).Set(n);
}
void metrics::set_evaluations_pending(double n) { evaluations_pending_->Set(n); }

void metrics::set_llm_waiting(std::string_view provider, double n) {
  llm_waiting_->Add({{"provider", std::string(provider)}}).Set(n);
}

void metrics::set_llm_rate_limit(std::string_view provider, std::string_view model, std::string_view unit,
                                 double per_minute) {
  llm_rate_limit_->Add({{"provider", std::string(provider)}, {"model", std::string(model)}, {"unit", std::string(unit)}})
      .Set(per_minute);
}

namespace {
// A counter kept elsewhere as a running total: raised to it (counters never go down).
void raise_to(pm::Counter& c, double total) {
  if (total > c.Value()) c.Increment(total - c.Value());
}
}  // namespace

void metrics::set_llm_rate_limit_wait(std::string_view provider, double seconds) {
  raise_to(llm_rate_limit_wait_->Add({{"provider", std::string(provider)}}), seconds);
}

void metrics::set_llm_attempts_unanswered(std::string_view provider, double n) {
  raise_to(llm_unanswered_->Add({{"provider", std::string(provider)}}), n);
}

void metrics::set_llm_daily_budget(std::string_view provider, double budget_usd, double spent_usd, bool exhausted) {
  pm::Labels l{{"provider", std::string(provider)}};
  llm_daily_budget_->Add(l).Set(budget_usd);
  llm_daily_spent_->Add(l).Set(spent_usd);
  llm_daily_exhausted_->Add(l).Set(exhausted ? 1 : 0);
}

void metrics::trial_started() { trials_started_->Increment(); }
void metrics::trial_finished(std::string_view outcome) {
  trials_finished_->Add({{"outcome", std::string(outcome)}}).Increment();
}
void metrics::store_write(std::chrono::nanoseconds took) { store_write_->Observe(seconds(took)); }
void metrics::event_loop_lag(std::chrono::nanoseconds lag) { loop_lag_->Observe(seconds(lag)); }
void metrics::set_outbox(double pending, double oldest_age_seconds, double dead) {
  outbox_pending_->Set(pending);
  outbox_age_->Set(oldest_age_seconds);
  outbox_dead_->Set(dead);
}

void metrics::studio_job_claimed(double waited_seconds) {
  studio_claimed_->Increment();
  studio_claim_wait_->Observe(std::max(0.0, waited_seconds));
}
void metrics::studio_job_ended(std::string_view outcome) { studio_ended_->Add({{"outcome", std::string(outcome)}}).Increment(); }
void metrics::set_studio_queue_depth(double n) { studio_queue_depth_->Set(n); }
void metrics::set_studio_redis_up(bool up) { studio_redis_up_->Set(up ? 1 : 0); }

void metrics::outbox_delivery_error(std::string_view reason) {
  outbox_errors_->Add({{"reason", std::string(reason)}}).Increment();
}

void metrics::set_runs(std::string_view status, double n) { runs_->Add({{"status", std::string(status)}}).Set(n); }

void metrics::run_progress(const std::string& run_id, const std::string& name, int trials_done,
                           std::optional<double> best, double cost_usd) {
  auto& g = run_gauges_[run_id];
  if (!g) {
    pm::Labels l{{"run_id", run_id}, {"name", name}};
    g = std::make_unique<run_gauges>(run_gauges{l, nullptr, &run_trials_->Add(l), &run_cost_->Add(l)});
  }
  if (best && !g->best) g->best = &run_best_->Add(g->labels);
  if (best) g->best->Set(*best);
  g->trials->Set(trials_done);
  g->cost->Set(cost_usd);
}

void metrics::end_run(const std::string& run_id) {
  auto it = run_gauges_.find(run_id);
  if (it == run_gauges_.end()) return;
  if (it->second->best) run_best_->Remove(it->second->best);
  run_trials_->Remove(it->second->trials);
  run_cost_->Remove(it->second->cost);
  run_gauges_.erase(it);
}

}  // namespace optd::telemetry
