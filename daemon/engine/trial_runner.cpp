#include "engine/trial_runner.hpp"

#include <algorithm>
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
  std::vector<core::metric_result> scores;
  bool scored = false;
};

trial_runner::trial_runner(run_environment& env, const core::run_spec& spec, std::vector<core::dataset_item> sample,
                           std::vector<std::unique_ptr<core::evaluation_metric>> metrics, core::llm_provider& provider,
                           core::model_price price, std::string run_id)
    : env_(env),
      spec_(spec),
      sample_(std::move(sample)),
      metrics_(std::move(metrics)),
      provider_(provider),
      price_(price),
      run_id_(std::move(run_id)) {
  for (const auto& m : spec_.metrics) weight_sum_ += m.weight;
}

void trial_runner::cancel() {
  cancelled_ = true;
  if (in_flight_) in_flight_->cancel();
}

void trial_runner::restore_scores(slot& s) {
  for (auto& m : store::parse_scores(s.row.scores_json)) s.scores.push_back({m.value, std::move(m.reason)});
  s.scored = s.row.objective.has_value() && s.scores.size() == metrics_.size();
  if (!s.scored) s.row.status = "pending";  // an unreadable row is asked again rather than trusted
}

void trial_runner::score(slot& s, const core::completion& c) {
  auto scores = nlohmann::json::array();
  double objective = 0;
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    auto r = metrics_[i]->score(c.text, s.item->data);
    r.value = std::clamp(r.value, 0.0, 1.0);
    objective += r.value * spec_.metrics[i].weight;
    scores.push_back({{"name", metrics_[i]->name()}, {"value", r.value}, {"reason", r.reason}});
    s.scores.push_back(std::move(r));
  }
  s.row.objective = weight_sum_ > 0 ? objective / weight_sum_ : 0.0;
  s.row.scores_json = scores.dump();
  s.row.output = c.text;
  s.row.status = "completed";
  s.scored = true;
}

asio::awaitable<void> trial_runner::worker(std::vector<slot>& slots, std::size_t& next) {
  while (next < slots.size() && !cancelled_ && !draining_) {
    auto& s = slots[next++];
    if (s.row.status != "pending") continue;  // failed to render: already final
    auto sent = env_.clock.now();
    auto result = co_await provider_.complete(s.request);
    if (!result && result.error().code == core::errc::cancelled) co_return;  // stays pending
    s.row.completed_ms = env_.clock.now_ms();
    if (result) {
      s.row.tokens = result->usage;
      s.row.cost_usd = core::cost_usd(price_, result->usage);
      s.row.latency_us = result->latency.count();
      s.row.attempts = result->attempts;
      score(s, *result);
    } else {
      s.row.status = "failed";
      s.row.error = result.error().message;
      s.row.attempts = result.error().attempts;
      // How long it tried: a failed call's trace lasts that long, as a completed one's does.
      s.row.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(env_.clock.now() - sent).count();
    }
    uncommitted_.push_back(&s.row);
    if (commit_scheduled_) {
      co_await committed_->async_wait(asio::as_tuple(asio::use_awaitable));
    } else {
      // The first answer of this turn commits for everyone: one yield lets the answers that are
      // ready in the same turn join the transaction.
      commit_scheduled_ = true;
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
      commit();
    }
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
  auto rows = std::move(uncommitted_);
  uncommitted_.clear();
  timed_write([&] { env_.db.complete_evaluations(rows); });
  if (committed_) committed_->cancel();  // the timer never expires: only a commit ends a wait
  if (done_ && *done_)
    for (const auto* r : rows) (*done_)(*r);
}

asio::awaitable<trial_outcome> trial_runner::run(int number, std::string id, const core::candidate& candidate,
                                                 const evaluation_done& done) {
  trial_outcome out;
  auto& t = out.record;
  t.id = std::move(id);
  t.run_id = run_id_;
  t.number = number;
  t.origin = candidate.origin;
  t.prompt_json = core::to_json(candidate.messages).dump();
  t.started_ms = env_.clock.now_ms();
  // A resumed run replays its trials: the journal's trial row and its evaluations are reused, and
  // only evaluations still pending are requested again.
  std::map<std::string, store::evaluation_record> journaled;
  if (auto existing = env_.db.find_trial(run_id_, number)) {
    if (existing->prompt_json != t.prompt_json)
      throw std::runtime_error("cannot resume: trial " + std::to_string(number) +
                               " proposes a different prompt than the journal holds");
    t.id = existing->id;
    t.started_ms = existing->started_ms;
    for (auto& e : env_.db.evaluations(t.id)) journaled.emplace(e.item_id, std::move(e));
  } else {
    env_.db.insert_trial(t);
  }

  std::vector<slot> slots(sample_.size());
  std::vector<const store::evaluation_record*> rows;
  rows.reserve(slots.size());
  for (std::size_t i = 0; i < sample_.size(); ++i) {
    auto& s = slots[i];
    s.item = &sample_[i];
    s.request.model = spec_.llm_model.model;
    s.request.parameters = spec_.llm_model.parameters;
    s.request.share_key = run_id_;
    std::string render_error;
    for (const auto& m : candidate.messages) {
      std::string missing;
      auto text = core::render_template(m.content, s.item->data, &missing);
      if (!text) {
        render_error = "item has no value for {{" + missing + "}}";
        break;
      }
      s.request.messages.push_back({m.role, std::move(*text)});
    }
    auto& r = s.row;
    if (auto j = journaled.find(s.item->id); j != journaled.end()) {
      r = std::move(j->second);
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
  for (const auto& s : slots)
    if (s.row.status != "pending" && done) done(s.row);  // failed to render, or replayed

  task_group workers(co_await asio::this_coro::executor);
  committed_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor,
                                                    asio::steady_timer::time_point::max());
  std::size_t next = 0;
  auto n_workers = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, spec_.limits.max_concurrency)), slots.size());
  in_flight_ = &workers;
  done_ = &done;
  for (std::size_t w = 0; w < n_workers; ++w) workers.spawn(worker(slots, next));
  std::exception_ptr failure;
  try {
    co_await workers.wait();
  } catch (...) {
    failure = std::current_exception();
  }
  commit();  // a committer cancelled during its yield leaves rows behind: they are stored, never dropped
  committed_.reset();
  in_flight_ = nullptr;
  done_ = nullptr;
  if (failure) std::rethrow_exception(failure);

  std::vector<const store::evaluation_record*> all;  // the journaled ones too
  for (auto& s : slots) {
    all.push_back(&s.row);
    if (s.scored) {
      std::string reason;
      for (std::size_t i = 0; i < s.scores.size(); ++i)
        reason += (i ? "; " : "") + std::string(metrics_[i]->name()) + ": " + s.scores[i].reason;
      out.result.examples.push_back({s.item->data, s.row.output, *s.row.objective, std::move(reason)});
    } else if (s.row.status == "failed") {
      out.result.examples.push_back({s.item->data, "", 0.0, "evaluation failed: " + s.row.error});
    }
  }
  bool unfinished = std::any_of(slots.begin(), slots.end(), [](const slot& s) { return s.row.status == "pending"; });
  out.cancelled = cancelled_ && unfinished;
  store::summarize_trial(t, all);
  t.ended_ms = env_.clock.now_ms();
  t.status = !unfinished ? "completed" : draining_ ? "running" : "cancelled";  // a drained trial resumes later
  env_.db.update_trial(t);
  out.result.number = number;
  out.result.score = t.score.value_or(0.0);
  co_return out;
}

}  // namespace optd::engine
