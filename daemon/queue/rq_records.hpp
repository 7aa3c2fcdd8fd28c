#pragma once
// The records Python RQ keeps in Redis for its jobs and workers (rq 2.6, the version Opik pins),
// written by optd as a worker of the same queue would write them, so that `rq info`,
// rq-dashboard and Python workers sharing the queue see a coherent worker; and optd's own keys,
// which tell live workers from dead ones. Each function returns one MULTI … EXEC: a group lands
// whole or not at all. Opik itself reads none of these (it learns a run's status by REST).
//
// Timestamps in hashes are RQ's "%Y-%m-%dT%H:%M:%S.%fZ" (UTC, six fraction digits); registry
// scores are whole epoch seconds; execution hashes hold float epoch seconds.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "queue/redis_connection.hpp"

namespace optd::queue {

// optd's keys: the set of workers, each one's lease (a key that expires unless renewed) and the
// list its claims are moved into, atomically, off the queue.
inline const std::string workers_key = "optd:workers";
inline std::string lease_key(const std::string& worker) { return "optd:worker:" + worker; }
inline std::string claims_key(const std::string& worker) { return "optd:claims:" + worker; }
// Opik's keys: the queue (a list of job ids), a job's hash, a run's cancel flag.
inline std::string queue_key(const std::string& queue) { return "rq:queue:" + queue; }
inline std::string job_key(const std::string& job_id) { return "rq:job:" + job_id; }
inline std::string cancel_key(const std::string& optimization_id) { return "opik:cancel:" + optimization_id; }

std::string rq_timestamp(std::int64_t unix_ms);

struct rq_worker {
  std::string name;
  std::string queue;
  std::string hostname;
  long pid = 0;
  std::string version;  // optd's
};

// The worker joins RQ's registries (state idle), and renews them with its heartbeat.
std::vector<redis_command> rq_register(const rq_worker& w, std::int64_t now_ms);
std::vector<redis_command> rq_worker_heartbeat(const rq_worker& w, std::int64_t now_ms, std::size_t busy_jobs);
// The worker leaves RQ's registries (at a clean stop).
std::vector<redis_command> rq_unregister(const rq_worker& w, std::int64_t now_ms);

// A claimed job starts: status started, its execution and its place in the queue's wip registry.
std::vector<redis_command> rq_job_started(const rq_worker& w, const std::string& job_id, const std::string& execution,
                                          std::int64_t now_ms);
// While it runs (at least every 30 s): the execution and the wip entry stay alive, and the job's
// hash outlives its 1-day TTL as long as the run goes on.
std::vector<redis_command> rq_job_heartbeat(const rq_worker& w, const std::string& job_id, const std::string& execution,
                                            std::int64_t now_ms);
// It ended: `finished` with `return_json` (as Opik's job returns: success, optimization_id, …), or
// `failed` with a text for exc_info. Either also releases optd's claim (LREM from the claims list).
std::vector<redis_command> rq_job_finished(const rq_worker& w, const std::string& job_id, const std::string& execution,
                                           std::int64_t now_ms, const std::string& return_json);
std::vector<redis_command> rq_job_failed(const rq_worker& w, const std::string& job_id, const std::string& execution,
                                         std::int64_t now_ms, const std::string& text);

}  // namespace optd::queue
