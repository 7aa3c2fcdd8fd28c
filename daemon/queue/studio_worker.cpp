#include "queue/studio_worker.hpp"

#include <unistd.h>

#include <random>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "core/digest.hpp"
#include "core/iso8601.hpp"
#include "core/run_status.hpp"
#include "engine/supervised.hpp"

namespace optd::queue {

namespace asio = boost::asio;
using telemetry::priority;

namespace {

const std::string lost_reason = "its Studio job was taken over by another worker while this one's lease had expired";

// Blocks this long per BLMOVE, so that a full worker or a stop is noticed soon after.
constexpr int claim_block_s = 1;
// How long a Redis that does not answer is left before the next try.
constexpr std::chrono::milliseconds redis_retry{1'000};
// Opik's worker keeps a run's log in Redis for a day (OPTSTUDIO_LOG_REDIS_TTL).
constexpr int log_ttl_s = 86'400;

std::string random_hex(std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n, '0');
  for (auto& c : out) c = digits[rng() % 16];
  return out;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::map<std::string, std::string> hash_of(const redis_reply& r) {
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) out[r.elements[i].str] = r.elements[i + 1].str;
  return out;
}

// The first error reply of a pipeline, inside MULTI … EXEC too (there it fails that command only:
// the others of the group are done); empty when none. Bookkeeping that Redis refuses (a key of
// another type left by someone else) is told, not retried: the job goes on either way.
std::string first_error(const std::vector<redis_reply>& replies) {
  for (const auto& r : replies) {
    if (r.is_error()) return r.str;
    for (const auto& e : r.elements)
      if (e.is_error()) return e.str;
  }
  return {};
}

}  // namespace

studio_worker::studio_worker(asio::any_io_executor ex, studio_worker_context ctx, config::studio_worker_config cfg)
    : ex_(ex), ctx_(std::move(ctx)), cfg_(std::move(cfg)), slot_(ex) {
  if (cfg_.max_jobs <= 0) cfg_.max_jobs = ctx_.max_concurrent_runs;
  rq_.name = cfg_.name;
  rq_.queue = cfg_.queue;
  rq_.hostname = host_name();
  rq_.pid = static_cast<long>(getpid());
  rq_.version = "optd " + ctx_.version;
}

studio_worker::~studio_worker() {
  // Not stop(): nothing may be left running that uses this object.
  stopped_ = true;
  for (auto& s : stops_) s.emit(asio::cancellation_type::terminal);
  if (blocking_) blocking_->close();
  if (cmd_) cmd_->close();
}

std::string studio_worker::default_name(const std::string& state_dir) {
  auto host = host_name();
  for (auto& c : host)
    if (c == ':' || c == ' ') c = '-';
  return "optd-" + host + "-" + core::digest_hex(core::fnv1a(state_dir)).substr(0, 8);
}

bool studio_worker::is_claimed_run(store::store& db, const std::string& run_id) {
  auto job = db.studio_job_of_run(run_id);
  return job && job->state == "claimed";
}

void studio_worker::start() {
  auto report = [this](const std::string& why) { ctx_.log(priority::error, "studio worker: " + why); };
  auto stopped = [this] { return stopped_; };
  std::size_t next = 0;  // a signal's slot holds one handler: one signal per coroutine
  auto spawn = [&](std::string name, std::function<asio::awaitable<void>()> body) {
    asio::co_spawn(ex_, engine::supervised(std::move(name), std::move(body), stopped, report),
                   asio::bind_cancellation_slot(stops_.at(next++).slot(), [](std::exception_ptr) {}));
  };
  ctx_.log(priority::notice, "studio worker " + cfg_.name + ": taking jobs of Opik's queue " + cfg_.queue + " from Redis at " +
                                 cfg_.redis.host + ":" + std::to_string(cfg_.redis.port) + ", " +
                                 std::to_string(cfg_.max_jobs) + " at once");
  if (ctx_.metrics) ctx_.metrics->set_studio_redis_up(false);
  // One coroutine owns the connections' setup and the upkeep; the other two start once it has
  // recovered this worker's claims, and go on through Redis outages on their own.
  spawn("studio worker upkeep", [this] { return upkeep_loop(); });
  spawn("studio worker claims", [this] { return claim_loop(); });
  spawn("studio worker cancels and logs", [this] { return tick_loop(); });
}

void studio_worker::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& s : stops_) s.emit(asio::cancellation_type::terminal);
  slot_.cancel();
  bool registered = cmd_ && cmd_->connected();
  if (blocking_) blocking_->close();
  if (cmd_) cmd_->close();
  // RQ's registries lose the worker now rather than when its record expires; its lease and claims
  // stay, for its next start. On a connection of its own (the loops' was closed with them), and
  // for at most a second: the drain does not wait for Redis.
  if (registered) asio::co_spawn(ex_, farewell(), asio::detached);
}

asio::awaitable<void> studio_worker::farewell() {
  try {
    auto c = co_await redis_connection::connect(ex_, cfg_.redis, std::chrono::seconds(1));
    co_await c->pipeline(rq_unregister(rq_, ctx_.clock.now_ms()), std::chrono::seconds(1));
  } catch (const redis_error&) {
  }
}

asio::awaitable<void> studio_worker::sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(ex_, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

void studio_worker::redis_state(bool up, const std::string& why) {
  if (ctx_.metrics) ctx_.metrics->set_studio_redis_up(up);
  if (up == redis_up_) return;
  redis_up_ = up;
  if (up) ctx_.log(priority::notice, "studio worker: Redis answers again; claiming resumes");
  else ctx_.log(priority::warning, "studio worker: " + why + "; running jobs go on, claiming waits for Redis");
}

bool studio_worker::slot_free() const {
  std::size_t mine = 0;
  for (const auto& [id, j] : jobs_)
    if (j.record.state == "claimed") ++mine;
  return mine < static_cast<std::size_t>(cfg_.max_jobs) &&
         ctx_.runs.running() + ctx_.runs.queued() < static_cast<std::size_t>(ctx_.max_concurrent_runs);
}

// The command connection, registered and holding the lease; made again after a failure.
asio::awaitable<void> studio_worker::connect() {
  if (cmd_ && cmd_->connected()) co_return;
  if (cmd_) redis_state(false, "lost the connection to Redis at " + cmd_->server());  // closed by Redis (a restart)
  cmd_.reset();
  auto c = co_await redis_connection::connect(ex_, cfg_.redis);
  auto now = ctx_.clock.now_ms();
  auto commands = rq_register(rq_, now);
  commands.push_back({"SET", lease_key(cfg_.name), std::to_string(rq_.pid), "PX", std::to_string(cfg_.lease.count())});
  commands.push_back({"SADD", workers_key, cfg_.name});
  if (auto e = first_error(co_await c->pipeline(std::move(commands))); !e.empty())
    ctx_.log(priority::warning, "studio worker: Redis refused part of registering the worker: " + e);
  cmd_ = std::move(c);
  redis_state(true);
}

// After a start: the claims the store and Redis know of. A claim both have goes on (its run is
// resumed from its journal); one only the store has was taken over by another worker while this
// one was away past its lease; one only Redis has (or whose run never started) was claimed just
// before a crash, and is read again from its job.
asio::awaitable<void> studio_worker::recover() {
  auto listed = co_await cmd_->command(make_command("LRANGE", claims_key(cfg_.name), "0", "-1"));
  std::set<std::string> in_redis;
  for (const auto& e : listed.elements) in_redis.insert(e.str);
  std::set<std::string> started;
  for (auto& rec : ctx_.db.unfinished_studio_jobs()) {
    if (rec.state == "claimed" && in_redis.count(rec.job_id) && !ctx_.db.find_run(rec.run_id)) continue;
    started.insert(rec.job_id);
    if (rec.state == "claimed" && !in_redis.count(rec.job_id)) {
      ctx_.log.run(priority::warning, rec.run_id,
                   "studio job " + rec.job_id + " was taken over by another worker while this one was away; not resuming it");
      ctx_.abandon(rec.run_id, lost_reason);
      rec.state = "done";
      ctx_.db.save_studio_job(rec);
      continue;
    }
    auto& j = jobs_[rec.run_id];
    j.record = rec;
    if (rec.state == "claimed") {
      ctx_.log.run(priority::notice, rec.run_id, "resuming studio job " + rec.job_id);
      ctx_.resume(rec.run_id);
      if (auto r = ctx_.db.find_run(rec.run_id); r && core::is_final(r->status) && !ctx_.runs.active(rec.run_id))
        ended(j);
    }
  }
  recovered_ = true;
  for (const auto& id : in_redis)
    if (!started.count(id)) co_await claimed(*cmd_, id);
  for (auto& [id, j] : jobs_)
    if (j.record.state == "ended") asio::co_spawn(ex_, finish(id), asio::detached);
}

asio::awaitable<void> studio_worker::upkeep_loop() {
  const auto period = std::max<std::chrono::milliseconds>(cfg_.lease / 4, std::chrono::milliseconds(200));
  while (!stopped_) {
    try {
      co_await connect();
      if (!recovered_) {
        co_await recover();
        slot_.cancel();
      }
      co_await upkeep();
      co_await reap();
    } catch (const redis_error& e) {
      if (cmd_) cmd_->close();
      redis_state(false, e.what());
    }
    co_await sleep(redis_up_ ? period : redis_retry);
  }
}

// The lease and RQ's heartbeats, the queue's depth; and what is owed: records of ended jobs whose
// writing failed, runs that ended without the run manager saying so (cancelled before they started).
asio::awaitable<void> studio_worker::upkeep() {
  auto now = ctx_.clock.now_ms();
  std::size_t busy = 0;
  for (const auto& [id, j] : jobs_) busy += j.record.state == "claimed";
  std::vector<redis_command> c;
  std::vector<std::string> running;  // whose claims are checked: still in this worker's list?
  for (const auto& [id, j] : jobs_)
    if (j.record.state == "claimed") {
      running.push_back(id);
      c.push_back(make_command("LPOS", claims_key(cfg_.name), j.record.job_id));
    }
  c.push_back({"SET", lease_key(cfg_.name), std::to_string(rq_.pid), "PX", std::to_string(cfg_.lease.count())});
  c.push_back({"SADD", workers_key, cfg_.name});
  c.push_back({"LLEN", queue_key(cfg_.queue)});
  for (auto& x : rq_worker_heartbeat(rq_, now, busy)) c.push_back(std::move(x));
  for (const auto& [id, j] : jobs_)
    if (j.record.state == "claimed")
      for (auto& x : rq_job_heartbeat(rq_, j.record.job_id, j.record.execution, now)) c.push_back(std::move(x));
  auto replies = co_await cmd_->pipeline(std::move(c));
  if (ctx_.metrics) ctx_.metrics->set_studio_queue_depth(static_cast<double>(replies[running.size() + 2].integer));
  // A claim gone from the list was put back on the queue by another worker: this one's lease had
  // expired (the process stopped, or cut off from Redis, for longer than the lease). Its run
  // stops here and is left to the worker that took the job.
  for (std::size_t i = 0; i < running.size(); ++i)
    if (replies[i].is_nil()) lost(running[i]);

  std::vector<std::string> owed;
  for (auto& [id, j] : jobs_) {
    if (j.record.state == "claimed" && !ctx_.runs.active(id))
      if (auto r = ctx_.db.find_run(id); r && core::is_final(r->status)) ended(j);
    if (j.record.state == "ended" && !j.finishing) owed.push_back(id);
  }
  for (auto& id : owed) co_await finish(id);
  ctx_.db.forget_delivered_studio_keys();
  // Jobs claimed when Redis failed before they started: they are in this worker's list.
  for (auto unstarted = unstarted_; const auto& id : unstarted) {
    co_await claimed(*cmd_, id);
    unstarted_.erase(id);
  }
}

// Claims of dead workers (no lease) go back to the head of the queue, one LMOVE at a time: each is
// atomic, so two workers reaping the same list never move one job twice.
asio::awaitable<void> studio_worker::reap() {
  auto members = co_await cmd_->command(make_command("SMEMBERS", workers_key));
  for (const auto& m : members.elements) {
    if (m.str == cfg_.name) continue;
    auto alive = co_await cmd_->command(make_command("EXISTS", lease_key(m.str)));
    if (alive.integer) continue;
    int moved = 0;
    for (;;) {
      auto r = co_await cmd_->command(make_command("LMOVE", claims_key(m.str), queue_key(cfg_.queue), "RIGHT", "LEFT"));
      if (r.is_nil() || r.is_error()) break;
      ++moved;
    }
    if (moved)
      ctx_.log(priority::warning, "studio worker: worker " + m.str + " let its lease expire (it died); put its " +
                                      std::to_string(moved) + " claimed jobs back on the queue");
    co_await cmd_->command(make_command("SREM", workers_key, m.str));
  }
}

asio::awaitable<void> studio_worker::claim_loop() {
  while (!stopped_) {
    if (!recovered_ || !slot_free()) {
      slot_.expires_after(std::chrono::seconds(1));  // also rechecked a second later, whatever frees a slot
      co_await slot_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    bool failed = false;
    std::string moved;  // a job id BLMOVE gave, until it is started
    try {
      if (!blocking_ || !blocking_->connected()) {
        blocking_.reset();
        blocking_ = co_await redis_connection::connect(ex_, cfg_.redis);
      }
      auto r = co_await blocking_->command(make_command("BLMOVE", queue_key(cfg_.queue), claims_key(cfg_.name), "LEFT", "RIGHT",
                                            std::to_string(claim_block_s)),
                                           std::chrono::seconds(claim_block_s + 5));
      if (r.is_error()) throw redis_error("BLMOVE (Redis 6.2 or later is needed): " + r.str);
      redis_state(true);
      if (!r.is_nil()) {
        moved = r.str;
        co_await claimed(*blocking_, r.str);
        moved.clear();
      }
    } catch (const redis_error& e) {
      if (!moved.empty()) unstarted_.insert(moved);  // in this worker's list: the upkeep starts it
      if (blocking_) blocking_->close();
      redis_state(false, e.what());
      failed = true;
    }
    if (failed && !stopped_) co_await sleep(redis_retry);
  }
}

// A job id is in this worker's claims list: read the job, journal the claim, mark it started in
// RQ's records, and start its run (or fail it, when it cannot run).
asio::awaitable<void> studio_worker::claimed(redis_connection& conn, std::string job_id) {
  auto fields = co_await conn.command(make_command("HGETALL", job_key(job_id)));
  auto parsed = parse_studio_job(job_id, hash_of(fields));
  auto now = ctx_.clock.now_ms();
  if (ctx_.metrics)
    ctx_.metrics->studio_job_claimed(parsed.job.enqueued_ms ? static_cast<double>(now - parsed.job.enqueued_ms) / 1000.0 : 0.0);
  if (fields.elements.empty()) {  // expired before it was taken: nothing to run, nothing to report
    ctx_.log(priority::warning, "studio worker: job " + job_id + " has no hash (expired); dropped");
    co_await conn.command(make_command("LREM", claims_key(cfg_.name), "1", job_id));
    co_return;
  }
  job j;
  auto& rec = j.record;
  rec.job_id = job_id;
  rec.run_id = parsed.job.optimization_id;
  rec.queue = cfg_.queue;
  rec.execution = random_hex(32);
  rec.workspace_id = parsed.job.workspace_id;
  rec.workspace_name = parsed.job.workspace_name;
  rec.api_key = parsed.job.opik_api_key.reveal();
  rec.claimed_ms = now;
  ctx_.db.save_studio_job(rec);
  if (auto e = first_error(co_await conn.pipeline(rq_job_started(rq_, job_id, rec.execution, now))); !e.empty())
    ctx_.log(priority::warning, "studio worker: job " + job_id + ": Redis refused part of RQ's start records: " + e);

  std::optional<core::run_error> refused;
  auto existing = rec.run_id.empty() ? std::nullopt : ctx_.db.find_run(rec.run_id);
  bool cancelled = false;
  if (parsed.ok()) {  // cancelled while it waited in the queue: Opik has it cancelled already
    auto flag = co_await conn.command(make_command("GETDEL", cancel_key(rec.run_id)));
    cancelled = !flag.is_nil() && !flag.is_error();
  }
  if (cancelled) {
    ctx_.log(priority::notice, "studio worker: job " + job_id + " (optimization " + rec.run_id +
                                   ") was cancelled while queued; not run");
    rec.state = "ended";
    rec.outcome = "finished";
    ctx_.db.save_studio_job(rec);
    if (ctx_.metrics) ctx_.metrics->studio_job_ended("cancelled");
    jobs_["job:" + job_id] = std::move(j);
    co_await finish("job:" + job_id);
    co_return;
  }
  if (parsed.ok() && existing && existing->id == rec.run_id) {
    // Its run is known here already: this worker ran it before the job came back to the queue
    // (a lease that expired while it lived). It is not run twice.
    ctx_.log.run(priority::warning, rec.run_id, "studio job " + job_id + ": its run is in the store already; not run again");
    if (!core::is_final(existing->status) && !ctx_.runs.active(rec.run_id)) ctx_.resume(rec.run_id);
  } else {
    refused = ctx_.start(parsed);
  }
  if (refused) {
    ctx_.log(priority::warning, "studio worker: job " + job_id + (rec.run_id.empty() ? "" : " (optimization " + rec.run_id + ")") +
                                    " cannot run: " + refused->type() + ": " + refused->what());
    rec.state = "ended";
    rec.outcome = "failed";
    rec.detail = refused->type() + ": " + refused->what();
    ctx_.db.save_studio_job(rec);
    if (ctx_.metrics) ctx_.metrics->studio_job_ended("refused");
    auto run_id = rec.run_id.empty() ? "job:" + job_id : rec.run_id;
    jobs_[run_id] = std::move(j);
    co_await finish(run_id);
    co_return;
  }
  ctx_.log.run(priority::notice, rec.run_id, "studio job " + job_id + " claimed by worker " + cfg_.name +
                                                 (rec.workspace_name.empty() ? "" : ", workspace " + rec.workspace_name));
  auto run_id = rec.run_id;
  auto& mine = jobs_[run_id] = std::move(j);
  if (auto r = ctx_.db.find_run(run_id); r && core::is_final(r->status) && !ctx_.runs.active(run_id)) ended(mine);
}

std::optional<opik::run_identity> studio_worker::identity(const std::string& run_id) const {
  auto it = jobs_.find(run_id);
  if (it == jobs_.end()) return std::nullopt;
  return opik::run_identity{it->second.record.workspace_name, it->second.record.api_key};
}

void studio_worker::lost(const std::string& run_id) {
  auto it = jobs_.find(run_id);
  if (it == jobs_.end()) return;
  auto& rec = it->second.record;
  ctx_.log.run(priority::error, run_id, "studio job " + rec.job_id + " was taken over by another worker (this one's lease "
                                        "had expired); stopping its run here");
  rec.state = "done";
  ctx_.db.save_studio_job(rec);
  jobs_.erase(it);
  if (ctx_.runs.active(run_id)) {
    released_.insert(run_id);  // abandoned once its executor has stopped
    ctx_.runs.release(run_id);
  } else {
    ctx_.abandon(run_id, lost_reason);
  }
  slot_.cancel();
}

void studio_worker::run_ended(const std::string& run_id) {
  if (released_.erase(run_id)) {
    ctx_.abandon(run_id, lost_reason);
    return;
  }
  auto it = jobs_.find(run_id);
  if (it == jobs_.end() || it->second.record.state != "claimed") return;
  auto r = ctx_.db.find_run(run_id);
  if (!r || !core::is_final(r->status)) return;  // suspended for a restart: still this worker's
  ended(it->second);
  slot_.cancel();
  if (!stopped_) asio::co_spawn(ex_, finish(run_id), asio::detached);
}

void studio_worker::ended(job& j) {
  auto r = ctx_.db.find_run(j.record.run_id);
  auto status = r ? r->status : core::run_status::error;
  j.record.state = "ended";
  j.record.outcome = status == core::run_status::error ? "failed" : "finished";
  if (status == core::run_status::error) j.record.detail = r ? r->error : "the run is gone";
  ctx_.db.save_studio_job(j.record);
  if (ctx_.metrics) ctx_.metrics->studio_job_ended(core::to_string(status));
}

// The ended job's last log lines, then its end in RQ's records (which also releases the claim).
// On a Redis failure it stays owed, for the upkeep to write later.
asio::awaitable<void> studio_worker::finish(std::string run_id) {
  auto it = jobs_.find(run_id);
  if (it == jobs_.end() || it->second.finishing) co_return;
  it->second.finishing = true;  // it stays in jobs_ until this ends: only finish() erases an ended job
  try {
    if (!cmd_ || !cmd_->connected()) throw redis_error("not connected");
    co_await flush_logs(run_id);
    const auto& rec = jobs_.at(run_id).record;
    auto now = ctx_.clock.now_ms();
    std::vector<redis_command> c;
    if (rec.outcome == "failed") {
      c = rq_job_failed(rq_, rec.job_id, rec.execution, now, rec.detail);
    } else {
      nlohmann::json result = {{"optimization_id", rec.run_id}};
      auto r = ctx_.db.find_run(rec.run_id);
      if (!r || r->status == core::run_status::cancelled) result["status"] = "cancelled";
      else {
        result["success"] = true;
        if (r->best_score) result["score"] = *r->best_score;
        if (r->baseline_score) result["initial_score"] = *r->baseline_score;
      }
      c = rq_job_finished(rq_, rec.job_id, rec.execution, now, result.dump());
    }
    auto job_id = rec.job_id;
    if (auto e = first_error(co_await cmd_->pipeline(std::move(c))); !e.empty())
      ctx_.log(priority::warning, "studio worker: job " + job_id + ": Redis refused part of RQ's end records: " + e);
  } catch (const redis_error& e) {
    jobs_.at(run_id).finishing = false;
    redis_state(false, e.what());
    co_return;
  }
  auto& rec = jobs_.at(run_id).record;
  rec.state = "done";
  ctx_.db.save_studio_job(rec);  // its key is forgotten once its run's writes reached Opik
  jobs_.erase(run_id);
  slot_.cancel();
}

// Every cancel_poll: the running jobs' cancel keys (MGET, as Opik's worker polls them) and their
// new log lines.
asio::awaitable<void> studio_worker::tick_loop() {
  while (!stopped_) {
    co_await sleep(cfg_.cancel_poll);
    if (!recovered_ || !cmd_ || !cmd_->connected()) continue;
    std::vector<std::string> ids;
    redis_command mget{"MGET"};
    for (const auto& [id, j] : jobs_)
      if (j.record.state == "claimed") {
        ids.push_back(id);
        mget.push_back(cancel_key(id));
      }
    try {
      if (!ids.empty()) {
        auto r = co_await cmd_->command(std::move(mget));
        for (std::size_t i = 0; i < ids.size() && i < r.elements.size(); ++i) {
          if (r.elements[i].is_nil()) continue;
          ctx_.db.append_log(ids[i], ctx_.clock.now_ms(), "Execution cancelled by the user.");
          ctx_.log.run(priority::notice, ids[i], "cancelled in Opik (its cancel key)");
          ctx_.runs.cancel(ids[i]);
          co_await cmd_->command(make_command("DEL", cancel_key(ids[i])));
        }
      }
      for (const auto& id : ids)  // found again each time: a job may end while another's lines are sent
        if (auto it = jobs_.find(id); it != jobs_.end() && it->second.record.state == "claimed") co_await flush_logs(id);
    } catch (const redis_error& e) {
      redis_state(false, e.what());
    }
  }
}

// Opik's backend uploads opik:logs:{workspace_id}:{optimization_id} for its UI when the meta key's
// last_append_ts moves.
asio::awaitable<void> studio_worker::flush_logs(std::string run_id) {
  auto it = jobs_.find(run_id);
  if (it == jobs_.end()) co_return;
  auto rec = it->second.record;  // a copy: the job may end, or be taken over, while its lines go
  if (rec.workspace_id.empty() || rec.run_id.empty()) co_return;
  auto lines = ctx_.db.logs(rec.run_id, rec.logs_sent);
  if (lines.empty()) co_return;
  const auto from = rec.logs_sent, to = from + static_cast<std::int64_t>(lines.size());
  it->second.record.logs_sent = to;  // taken now: a flush meanwhile sends what follows these
  auto key = "opik:logs:" + rec.workspace_id + ":" + rec.run_id;
  redis_command push{"RPUSH", key};
  for (const auto& [ts, line] : lines) push.push_back(core::iso8601(ts) + " " + line);
  std::vector<redis_command> c;
  c.push_back(std::move(push));
  c.push_back(make_command("HSET", key + ":meta", "last_append_ts", std::to_string(ctx_.clock.now_ms())));
  c.push_back(make_command("EXPIRE", key, std::to_string(log_ttl_s)));
  c.push_back(make_command("EXPIRE", key + ":meta", std::to_string(log_ttl_s)));
  std::vector<redis_reply> replies;
  try {
    replies = co_await cmd_->pipeline(std::move(c));
  } catch (const redis_error&) {
    if (auto again = jobs_.find(run_id); again != jobs_.end() && again->second.record.logs_sent == to)
      again->second.record.logs_sent = from;  // sent again next time
    throw;
  }
  if (auto e = first_error(replies); !e.empty())
    ctx_.log.run(priority::warning, rec.run_id, "Redis refused the run's log lines: " + e);
  if (auto again = jobs_.find(run_id); again != jobs_.end())
    ctx_.db.save_studio_job(again->second.record);  // a restart appends only what follows
}

}  // namespace optd::queue
