#include "engine/trial_runner.hpp"

#include <algorithm>
#include <deque>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/prompt_template.hpp"

namespace optd::engine {

namespace asio = boost::asio;

struct trial_runner::slot {
  const core::dataset_item* item = nullptr;
  core::chat_request request;
  store::evaluation_record row;
  std::vector<core::metric_score> scores;
  bool scored = false;
};

struct trial_runner::execution {
  std::string key;  // the trial's id: experiments take the run's slots in turn
  std::vector<slot> slots;
  std::size_t next = 0;
  const evaluation_done* done = nullptr;
};

trial_runner::trial_runner(run_environment& env, const core::run_spec& spec, const std::vector<core::dataset_item>& sample,
                           std::vector<std::unique_ptr<core::evaluation_metric>> metrics, core::llm_provider& provider,
                           core::model_price price, std::string run_id)
    : env_(env),
      spec_(spec),
      sample_(sample),
      metrics_(std::move(metrics)),
      provider_(provider),
      price_(price),
      run_id_(std::move(run_id)),
      slots_(static_cast<std::size_t>(std::max(1, spec.limits.max_concurrency))),
      objective_(spec.metrics),
      judges_(env, run_id_, spec.llm_model.provider) {
  judged_ = std::any_of(metrics_.begin(), metrics_.end(), [](const auto& m) { return m->judges(); });
}

trial_runner::~trial_runner() = default;

void trial_runner::cancel() {
  cancelled_ = true;
  for (auto* group : in_flight_) group->cancel();
}

void trial_runner::restore_scores(slot& s) {
  s.scores = store::parse_scores(s.row.scores_json);
  s.scored = s.row.objective.has_value() && s.scores.size() == metrics_.size();
  if (!s.scored) {
    s.row.status = "pending";  // an unreadable row is asked again rather than trusted
    s.scores.clear();
  }
}

void trial_runner::record_scores(slot& s, std::vector<core::metric_result> results) {
  auto scores = nlohmann::json::array();
  for (auto& r : results) r.value = std::clamp(r.value, 0.0, 1.0);
  s.row.objective = objective_.combine(results);
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    auto& r = results[i];
    nlohmann::json j = {{"name", metrics_[i]->name()}, {"value", r.value}, {"reason", r.reason}};
    if (r.failed) j["failed"] = true;
    scores.push_back(std::move(j));
    s.scores.push_back({std::string(metrics_[i]->name()), r.value, std::move(r.reason), r.failed});
  }
  s.row.scores_json = scores.dump();
  s.row.status = "completed";
  s.scored = true;
}

asio::awaitable<void> trial_runner::judge(slot& s) {
  // Every metric in turn, the judges through the journal (their cost lands in the row).
  auto calls = judges_.calls_for(s.row);
  std::vector<core::metric_result> results;
  results.reserve(metrics_.size());
  for (const auto& m : metrics_) {
    if (!m->judges()) {
      results.push_back(m->score(s.row.output, s.item->data));
      continue;
    }
    auto output = s.row.output;
    results.push_back(co_await m->judge(calls, std::move(output), s.item->data));
    if (calls.interrupted()) co_return;  // the run stops: the row stays answered, to be judged again
  }
  record_scores(s, std::move(results));
}

asio::awaitable<void> trial_runner::journal(store::evaluation_record& row, const evaluation_done* done) {
  uncommitted_.emplace_back(&row, done);
  if (commit_scheduled_) {
    co_await committed_->async_wait(asio::as_tuple(asio::use_awaitable));
    if (commit_error_) std::rethrow_exception(commit_error_);  // the journal failed: so does this experiment
  } else {
    // The first answer of this turn commits for everyone: one yield lets the answers that are
    // ready in the same turn join the transaction.
    commit_scheduled_ = true;
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    commit();
  }
}

asio::awaitable<void> trial_runner::worker(execution& x) {
  while (x.next < x.slots.size() && !cancelled_ && !draining_) {
    auto& s = x.slots[x.next++];
    // Failed to render, or replayed: already final. An answered one still needs its judges.
    if (s.row.status != "pending" && s.row.status != "answered") continue;
    co_await slots_.acquire(x.key);
    semaphore_permit permit(slots_);  // held until the evaluation is committed
    if (cancelled_ || draining_ || (stop_ && stop_())) co_return;  // stopped while it waited: stays as it is
    if (s.row.status == "pending") {
      auto sent = env_.clock.now();
      auto result = co_await provider_.complete(s.request);
      if (!result && result.error().code == core::errc::cancelled) co_return;  // stays pending
      s.row.completed_ms = env_.clock.now_ms();
      if (!result) {
        s.row.status = "failed";
        s.row.error = result.error().message;
        s.row.attempts = result.error().attempts;
        // How long it tried: a failed call's trace lasts that long, as a completed one's does.
        s.row.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(env_.clock.now() - sent).count();
        co_await journal(s.row, x.done);
        continue;
      }
      s.row.tokens = result->usage;
      s.row.cost_usd = core::cost_usd(price_, result->usage);
      s.row.latency_us = result->latency.count();
      s.row.attempts = result->attempts;
      s.row.output = std::move(result->text);
      if (!judged_) {  // heuristic metrics: scored on the spot, one commit
        std::vector<core::metric_result> results;
        results.reserve(metrics_.size());
        for (const auto& m : metrics_) results.push_back(m->score(s.row.output, s.item->data));
        record_scores(s, std::move(results));
        co_await journal(s.row, x.done);
        continue;
      }
      // The answer is journaled before any judge is asked: a resumed run asks only the judges.
      s.row.status = "answered";
      co_await journal(s.row, nullptr);
    }
    co_await judge(s);
    if (s.row.status == "answered") co_return;  // a judge was interrupted: judged again on resume
    co_await journal(s.row, x.done);
  }
}

template <typename Write>
void trial_runner::timed_write(Write write) {
  auto started = std::chrono::steady_clock::now();
  write();
  if (env_.metrics) env_.metrics->store_write(std::chrono::steady_clock::now() - started);
}

void trial_runner::commit() {
  commit_scheduled_ = false;
  if (uncommitted_.empty()) return;
  auto pending = std::move(uncommitted_);
  uncommitted_.clear();
  std::vector<const store::evaluation_record*> rows;
  rows.reserve(pending.size());
  for (const auto& [row, done] : pending) rows.push_back(row);
  try {
    timed_write([&] { env_.db.complete_evaluations(rows); });
  } catch (...) {
    commit_error_ = std::current_exception();
    if (committed_) committed_->cancel();  // the waiting workers learn it and end
    throw;
  }
  if (committed_) committed_->cancel();  // the timer never expires: only a commit ends a wait
  for (const auto& [row, done] : pending)
    if (done && *done) (*done)(*row);
}

asio::awaitable<trial_outcome> trial_runner::run(store::trial_record trial, bool journaled,
                                                 const core::prompt_messages& prompt,
                                                 const std::vector<std::size_t>& positions, const evaluation_done& done) {
  trial_outcome out;
  auto& t = out.record = std::move(trial);
  // A resumed run replays its trials: the journal's evaluations are reused, and only those still
  // pending are requested again.
  // An item may come twice in one experiment (GEPA pads its mini-batches): its rows are taken in
  // the order they were journaled, which is the order of the slots.
  std::map<std::string, std::deque<store::evaluation_record>> replayed;
  if (journaled) {
    for (auto& e : env_.db.evaluations(t.id)) replayed[e.item_id].push_back(std::move(e));
  } else {
    env_.db.insert_trial(t);
  }

  auto ex = co_await asio::this_coro::executor;
  if (!committed_) committed_ = std::make_unique<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
  execution x;
  x.key = t.id;
  x.done = &done;
  x.slots.resize(positions.size());
  std::vector<const store::evaluation_record*> rows;
  rows.reserve(x.slots.size());
  for (std::size_t i = 0; i < positions.size(); ++i) {
    auto& s = x.slots[i];
    s.item = &sample_[positions[i]];
    s.request.model = spec_.llm_model.model;
    s.request.parameters = spec_.llm_model.parameters;
    s.request.share_key = run_id_;
    std::string render_error;
    for (const auto& m : prompt) {
      std::string missing;
      auto text = core::render_template(m.content, s.item->data, &missing);
      if (!text) {
        render_error = "item has no value for {{" + missing + "}}";
        break;
      }
      s.request.messages.push_back({m.role, std::move(*text)});
    }
    auto& r = s.row;
    if (auto j = replayed.find(s.item->id); j != replayed.end() && !j->second.empty()) {
      r = std::move(j->second.front());
      j->second.pop_front();
      if (r.status == "completed") restore_scores(s);
      continue;
    }
    r.id = env_.new_id();
    r.run_id = run_id_;
    r.trial_id = t.id;
    r.item_id = s.item->id;
    r.request_json = core::to_json_body(s.request);
    r.created_ms = t.started_ms;
    if (!render_error.empty()) {
      r.status = "failed";
      r.error = render_error;
      r.completed_ms = t.started_ms;
    }
    rows.push_back(&r);
  }
  timed_write([&] { env_.db.begin_evaluations(rows); });  // journal first: every request is on disk before it is sent
  for (const auto& s : x.slots)
    if (store::is_finished(s.row) && done) done(s.row);  // failed to render, or replayed

  task_group workers(ex);
  auto n_workers = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, spec_.limits.max_concurrency)), x.slots.size());
  auto me = in_flight_.insert(in_flight_.end(), &workers);
  for (std::size_t w = 0; w < n_workers; ++w) workers.spawn(worker(x));
  std::exception_ptr failure;
  try {
    co_await workers.wait();
  } catch (...) {
    failure = std::current_exception();
  }
  in_flight_.erase(me);
  commit();  // a committer cancelled during its yield leaves rows behind: they are stored, never dropped
  if (failure) std::rethrow_exception(failure);

  auto& result = out.result;
  result.items.reserve(x.slots.size());
  std::vector<const store::evaluation_record*> all;  // the journaled ones too
  all.reserve(x.slots.size());
  bool unfinished = false;
  for (auto& s : x.slots) {
    all.push_back(&s.row);
    auto& item = result.items.emplace_back();
    item.item = s.item;
    item.tokens = s.row.tokens;
    item.cost_usd = s.row.cost_usd;
    item.latency = std::chrono::microseconds(s.row.latency_us);
    if (s.scored) {
      item.output = s.row.output;
      item.scores = std::move(s.scores);
      item.objective = *s.row.objective;
    } else {
      item.failed = true;
      bool finished = store::is_finished(s.row);
      item.error = finished ? s.row.error : "not evaluated: the run stopped";
      unfinished = unfinished || !finished;
      ++result.failed;
    }
  }
  result.cancelled = unfinished;
  store::summarize_trial(t, all);
  t.ended_ms = env_.clock.now_ms();
  t.status = !unfinished ? "completed" : draining_ ? "running" : "cancelled";  // a drained trial resumes later
  env_.db.update_trial(t);
  result.number = t.number;
  result.experiment_id = t.id;
  result.candidate_id = t.candidate_id;
  result.type = core::experiment_type_from_string(t.type).value_or(core::experiment_type::trial);
  result.score = t.score;
  co_return out;
}

}  // namespace optd::engine
