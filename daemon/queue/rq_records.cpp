#include "queue/rq_records.hpp"

#include <cstdio>
#include <ctime>

#include <boost/beast/core/detail/base64.hpp>

#include "net/zlib_codec.hpp"

namespace optd::queue {

namespace {

// RQ's defaults where Opik keeps them: a finished job's result lives 500 s, a failed one a day
// (Opik's RQ_WORKER_TTL_FAILURE); an execution 90 s past its last heartbeat.
constexpr int result_ttl_s = 500;
constexpr int failure_ttl_s = 86'400;
constexpr int heartbeat_ttl_s = 90;
// A running job's hash is kept this long past each heartbeat (Opik gives it a day from enqueue).
constexpr int running_job_ttl_s = 86'400;

std::string base64(std::string_view data) {
  std::string out(boost::beast::detail::base64::encoded_size(data.size()), '\0');
  out.resize(boost::beast::detail::base64::encode(out.data(), data.data(), data.size()));
  return out;
}

std::string float_seconds(std::int64_t unix_ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(unix_ms) / 1000.0);
  return buf;
}
std::string worker_key(const rq_worker& w) { return "rq:worker:" + w.name; }
std::string execution_key(const std::string& job_id, const std::string& execution) {
  return "rq:execution:" + job_id + ":" + execution;
}

std::vector<redis_command> transaction(std::vector<redis_command> commands) {
  commands.insert(commands.begin(), redis_command{"MULTI"});
  commands.push_back({"EXEC"});
  return commands;
}

// What ends a job either way: its execution and wip entry go, the worker is idle again, the
// claim is released.
void end_job(std::vector<redis_command>& c, const rq_worker& w, const std::string& job_id, const std::string& execution,
             bool ok) {
  c.push_back({"ZREM", "rq:wip:" + w.queue, job_id + ":" + execution});
  c.push_back({"DEL", execution_key(job_id, execution)});
  c.push_back({"ZREM", "rq:executions:" + job_id, execution});
  c.push_back({"HDEL", worker_key(w), "current_job"});
  c.push_back({"HINCRBY", worker_key(w), ok ? "successful_job_count" : "failed_job_count", "1"});
  c.push_back({"HSET", worker_key(w), "state", "idle"});
  c.push_back({"LREM", claims_key(w.name), "1", job_id});
}

}  // namespace

std::string rq_timestamp(std::int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>((unix_ms % 1000 + 1000) % 1000) * 1000);
  return buf;
}

std::vector<redis_command> rq_register(const rq_worker& w, std::int64_t now_ms) {
  auto ts = rq_timestamp(now_ms);
  return transaction({{"HSET", worker_key(w), "birth", ts, "last_heartbeat", ts, "queues", w.queue, "pid",
                       std::to_string(w.pid), "hostname", w.hostname, "version", w.version, "state", "idle"},
                      {"EXPIRE", worker_key(w), std::to_string(heartbeat_ttl_s)},
                      {"SADD", "rq:workers", worker_key(w)},
                      {"SADD", "rq:workers:" + w.queue, worker_key(w)}});
}

std::vector<redis_command> rq_worker_heartbeat(const rq_worker& w, std::int64_t now_ms, std::size_t busy_jobs) {
  return transaction({{"HSET", worker_key(w), "last_heartbeat", rq_timestamp(now_ms), "state", busy_jobs ? "busy" : "idle"},
                      {"EXPIRE", worker_key(w), std::to_string(heartbeat_ttl_s)},
                      {"SADD", "rq:workers", worker_key(w)},
                      {"SADD", "rq:workers:" + w.queue, worker_key(w)}});
}

std::vector<redis_command> rq_unregister(const rq_worker& w, std::int64_t now_ms) {
  return transaction({{"SREM", "rq:workers", worker_key(w)},
                      {"SREM", "rq:workers:" + w.queue, worker_key(w)},
                      {"HSET", worker_key(w), "death", rq_timestamp(now_ms), "state", "suspended"},
                      {"EXPIRE", worker_key(w), "60"}});
}

std::vector<redis_command> rq_job_started(const rq_worker& w, const std::string& job_id, const std::string& execution,
                                          std::int64_t now_ms) {
  auto ts = rq_timestamp(now_ms);
  auto f = float_seconds(now_ms);
  auto now_s = now_ms / 1000;
  return transaction({{"HSET", job_key(job_id), "status", "started", "started_at", ts, "last_heartbeat", ts, "worker_name",
                       w.name},
                      {"EXPIRE", job_key(job_id), std::to_string(running_job_ttl_s)},
                      {"HSET", execution_key(job_id, execution), "id", execution, "created_at", f, "last_heartbeat", f},
                      {"EXPIRE", execution_key(job_id, execution), std::to_string(heartbeat_ttl_s)},
                      {"ZADD", "rq:executions:" + job_id, std::to_string(now_s + heartbeat_ttl_s + 60), execution},
                      {"EXPIRE", "rq:executions:" + job_id, std::to_string(heartbeat_ttl_s + 60)},
                      {"ZADD", "rq:wip:" + w.queue, std::to_string(now_s + heartbeat_ttl_s), job_id + ":" + execution},
                      {"HSET", worker_key(w), "state", "busy", "current_job", job_id, "current_job_working_time", "0"}});
}

std::vector<redis_command> rq_job_heartbeat(const rq_worker& w, const std::string& job_id, const std::string& execution,
                                            std::int64_t now_ms) {
  auto now_s = now_ms / 1000;
  return transaction({{"ZADD", "rq:wip:" + w.queue, "XX", std::to_string(now_s + heartbeat_ttl_s), job_id + ":" + execution},
                      {"HSET", execution_key(job_id, execution), "last_heartbeat", float_seconds(now_ms)},
                      {"EXPIRE", execution_key(job_id, execution), std::to_string(heartbeat_ttl_s)},
                      {"ZADD", "rq:executions:" + job_id, std::to_string(now_s + heartbeat_ttl_s + 60), execution},
                      {"EXPIRE", "rq:executions:" + job_id, std::to_string(heartbeat_ttl_s + 60)},
                      {"HSET", job_key(job_id), "last_heartbeat", rq_timestamp(now_ms)},
                      {"EXPIRE", job_key(job_id), std::to_string(running_job_ttl_s)}});
}

std::vector<redis_command> rq_job_finished(const rq_worker& w, const std::string& job_id, const std::string& execution,
                                           std::int64_t now_ms, const std::string& return_json) {
  auto ttl = std::to_string(result_ttl_s);
  std::vector<redis_command> c = {
      {"HSET", job_key(job_id), "status", "finished", "ended_at", rq_timestamp(now_ms)},
      {"XADD", "rq:results:" + job_id, "MAXLEN", "~", "10", "*", "type", "1", "worker_name", w.name, "return_value",
       base64(return_json)},
      {"EXPIRE", "rq:results:" + job_id, ttl},
      {"ZADD", "rq:finished:" + w.queue, std::to_string(now_ms / 1000 + result_ttl_s), job_id},
      {"EXPIRE", job_key(job_id), ttl}};
  end_job(c, w, job_id, execution, true);
  return transaction(std::move(c));
}

std::vector<redis_command> rq_job_failed(const rq_worker& w, const std::string& job_id, const std::string& execution,
                                         std::int64_t now_ms, const std::string& text) {
  auto ttl = std::to_string(failure_ttl_s);
  auto compressed = net::deflate(text, net::zlib_format::zlib);
  std::vector<redis_command> c = {
      {"HSET", job_key(job_id), "status", "failed", "ended_at", rq_timestamp(now_ms), "exc_info", compressed},
      {"ZADD", "rq:failed:" + w.queue, std::to_string(now_ms / 1000 + failure_ttl_s), job_id},
      {"EXPIRE", job_key(job_id), ttl},
      {"XADD", "rq:results:" + job_id, "MAXLEN", "~", "10", "*", "type", "2", "worker_name", w.name, "exc_string",
       base64(compressed)},
      {"EXPIRE", "rq:results:" + job_id, ttl}};
  end_job(c, w, job_id, execution, false);
  return transaction(std::move(c));
}

}  // namespace optd::queue
