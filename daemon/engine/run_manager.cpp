#include "engine/run_manager.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/run_executor.hpp"
#include "store/sqlite.hpp"

namespace optd::engine {

namespace asio = boost::asio;

store::run_record submitted_record(const run_submission& s, std::int64_t now_ms, std::string executor) {
  store::run_record r;
  r.id = s.id;
  r.name = s.spec.name;
  r.status = core::run_status::initialized;
  r.objective_name = s.spec.objective_name;
  r.dataset_name = s.spec.dataset_name;
  r.spec_json = "{}";
  r.project_name = s.spec.project_name;
  r.metadata_json = s.metadata_json;
  r.studio_config_json = s.studio_config_json;
  r.source = s.source;
  r.created_ms = r.updated_ms = now_ms;
  r.executor = std::move(executor);
  return r;
}

run_manager::run_manager(asio::any_io_executor ex, run_environment& env, int max_concurrent_runs)
    : ex_(ex), env_(env), max_running_(static_cast<std::size_t>(std::max(1, max_concurrent_runs))), idle_(ex), hub_(ex) {}

run_manager::~run_manager() = default;

void run_manager::submit(run_submission s) {
  if (s.resumed) {
    queue_.push_back(std::move(s));
    start_next();
    return;
  }
  env_.db.insert_run(submitted_record(s, env_.clock.now_ms(), "optd serve"));
  queue_.push_back(std::move(s));
  start_next();
}

void run_manager::start_next() {
  while (running_.size() + preparing_.size() < max_running_ && !queue_.empty()) {
    auto s = std::move(queue_.front());
    queue_.pop_front();
    if (!s.prepare) {
      launch(std::move(s));
      continue;
    }
    auto id = s.id;
    auto& p = *preparing_.emplace(id, std::make_unique<preparing_run>()).first->second;
    p.s = std::move(s);
    asio::co_spawn(ex_, prepare(p), asio::bind_cancellation_slot(p.stop.slot(), [this, id](std::exception_ptr) {
                     // On a later turn of the loop: this handler runs inside the coroutine's frame,
                     // which still holds the slot of the entry's `stop` signal.
                     asio::post(ex_, [this, id] { prepared(id); });
                   }));
  }
}

asio::awaitable<void> run_manager::prepare(preparing_run& p) {
  try {
    co_await p.s.prepare(p.s);
  } catch (const std::exception&) {
    p.error = std::current_exception();
  }
}

void run_manager::prepared(const std::string& id) {
  auto node = preparing_.extract(id);
  auto& p = *node.mapped();
  if (p.dropped) {  // cancelled (and recorded so) or suspended (prepared again at the next start)
    start_next();
    idle_check();
    return;
  }
  p.s.prepare = nullptr;
  launch(std::move(p.s), std::move(p.error));
}

void run_manager::idle_check() {
  if (running_.empty() && queue_.empty() && preparing_.empty()) idle_.cancel();
}

void run_manager::launch(run_submission s, std::exception_ptr start_error) {
  auto id = s.id;
  auto ex = std::make_unique<run_executor>(env_, std::move(s.spec), std::move(s.dataset), std::move(s.optimizer),
                                           std::move(s.metrics), id,
                                           [this](const run_progress& p) { published(p); });
  if (start_error) ex->fail_at_start(std::move(start_error));
  auto* raw = ex.get();
  running_.emplace(id, std::move(ex));
  asio::co_spawn(ex_, raw->run(), [this, id](std::exception_ptr e, store::run_record) {
    bool store_down = false;
    std::string why;
    try {
      if (e) std::rethrow_exception(e);
    } catch (const store::unavailable& err) {
      store_down = true;
      why = std::string("stopped: the store cannot be written (") + err.what() +
            "); what was answered is journaled, and the run resumes when the store takes writes again";
    } catch (const std::exception& err) {
      why = std::string("run ended with an infrastructure failure: ") + err.what();
    }
    if (!why.empty() && env_.log) env_.log(id, why);
    if (store_down && store_unavailable_) store_unavailable_(id);
    // The executor is destroyed on a later turn of the loop: this handler runs inside its frame.
    asio::post(ex_, [this, id] {
      running_.erase(id);
      if (delete_when_done_.erase(id)) env_.db.delete_run(id);
      if (run_ended_) run_ended_(id);
      start_next();
      idle_check();
    });
  });
}

cancel_result run_manager::cancel(const std::string& id) {
  if (auto it = running_.find(id); it != running_.end()) {
    it->second->cancel();
    return cancel_result::cancelled;
  }
  for (auto it = queue_.begin(); it != queue_.end(); ++it)
    if (it->id == id) {
      queue_.erase(it);
      break;
    }
  if (auto it = preparing_.find(id); it != preparing_.end()) {
    it->second->dropped = true;
    it->second->stop.emit(asio::cancellation_type::terminal);
  }
  // Queued, being prepared, or live in the store with no executor (left by a crash): record the cancellation.
  auto r = env_.db.find_run(id);
  if (!r || r->id != id) return cancel_result::not_found;
  auto cancelled = core::next_status(r->status, core::run_event::cancel);
  if (!cancelled) return cancel_result::already_finished;
  r->status = *cancelled;
  r->finish_reason = "cancelled";
  r->ended_ms = r->updated_ms = env_.clock.now_ms();
  env_.db.update_run(*r);
  run_progress p;
  p.run_id = r->id;
  p.name = r->name;
  p.status = r->status;
  hub_.publish(p);
  return cancel_result::cancelled;
}

void run_manager::release(const std::string& id) {
  if (auto it = running_.find(id); it != running_.end()) it->second->suspend(true);
  std::erase_if(queue_, [&](const run_submission& s) { return s.id == id; });
  if (auto it = preparing_.find(id); it != preparing_.end()) {
    it->second->dropped = true;
    it->second->stop.emit(asio::cancellation_type::terminal);
  }
  idle_check();
}

void run_manager::remove(const std::string& id) {
  if (running_.count(id)) {
    delete_when_done_[id] = true;
    running_.at(id)->cancel();
    return;
  }
  cancel(id);
  env_.db.delete_run(id);
}

bool run_manager::active(const std::string& id) const {
  if (running_.count(id) || preparing_.count(id)) return true;
  for (const auto& s : queue_)
    if (s.id == id) return true;
  return false;
}

std::vector<std::string> run_manager::running_ids() const {
  std::vector<std::string> out;
  for (const auto& [id, ex] : running_) out.push_back(id);
  return out;
}

run_manager::summary run_manager::totals() const {
  summary s{running_.size(), queue_.size() + preparing_.size(), 0, 0};
  for (const auto& [id, ex] : running_) {
    const auto& p = ex->progress();
    s.trials += p.trials_done;
    s.cost_usd += p.cost_usd;
    if (p.evals_done < p.evals_in_trial) s.evaluations_pending += p.evals_in_trial - p.evals_done;
  }
  return s;
}

void run_manager::set_max_running(int n) {
  max_running_ = static_cast<std::size_t>(std::max(1, n));
  start_next();
}

void run_manager::published(const run_progress& p) {
  hub_.publish(p);
  if (!env_.metrics) return;
  if (p.status == core::run_status::running) env_.metrics->run_progress(p.run_id, p.name, p.trials_done, p.best, p.cost_usd);
  else env_.metrics->end_run(p.run_id);  // ended, or suspended for a restart
}

std::optional<run_progress> run_manager::live_progress(const std::string& id) const {
  auto it = running_.find(id);
  if (it == running_.end()) return std::nullopt;
  return it->second->progress();
}

void run_manager::stop() {
  while (!queue_.empty()) cancel(queue_.front().id);
  std::vector<std::string> preparing;
  for (const auto& [id, p] : preparing_)
    if (!p->dropped) preparing.push_back(id);
  for (const auto& id : preparing) cancel(id);
  for (auto& [id, ex] : running_) ex->cancel();
  hub_.close();
}

void run_manager::suspend(bool now) {
  queue_.clear();
  for (auto& [id, p] : preparing_) {  // stays initialized in the store: prepared again at the next start
    p->dropped = true;
    p->stop.emit(asio::cancellation_type::terminal);
  }
  for (auto& [id, ex] : running_) ex->suspend(now);
  hub_.close();
  idle_check();
}

asio::awaitable<void> run_manager::wait_idle() {
  while (!running_.empty() || !queue_.empty() || !preparing_.empty()) {
    idle_.expires_at(asio::steady_timer::time_point::max());
    co_await idle_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace optd::engine
