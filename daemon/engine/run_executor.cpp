#include "engine/run_executor.hpp"

#include <cstdio>
#include <iomanip>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/aggregates.hpp"
#include "core/budget.hpp"
#include "core/digest.hpp"
#include "core/run_error.hpp"
#include "store/sqlite.hpp"

namespace optd::engine {

namespace asio = boost::asio;
using namespace std::chrono;

namespace {

nlohmann::json spec_json(const core::run_spec& s) {
  auto metrics = nlohmann::json::array();
  for (const auto& m : s.metrics) {
    metrics.push_back({{"type", m.type}, {"parameters", m.parameters}});
    if (m.weight) metrics.back()["weight"] = *m.weight;
  }
  nlohmann::json limits = {{"max_trials", s.limits.max_trials}, {"n_samples", s.limits.n_samples},
                           {"max_concurrency", s.limits.max_concurrency}};
  if (s.limits.max_duration) limits["max_duration_ms"] = s.limits.max_duration->count();
  if (s.limits.max_cost_usd) limits["max_cost_usd"] = *s.limits.max_cost_usd;
  return {{"name", s.name},
          {"project_name", s.project_name},
          {"objective_name", s.objective_name},
          {"dataset_name", s.dataset_name},
          {"prompt", {{"messages", core::to_json(s.prompt)}}},
          {"llm_model", {{"model", s.llm_model.model}, {"provider", s.llm_model.provider}, {"parameters", s.llm_model.parameters}}},
          {"evaluation", {{"metrics", metrics}}},
          {"optimizer", {{"type", s.optimizer.type}, {"parameters", s.optimizer.parameters},
                         {"model", s.optimizer.model}, {"provider", s.optimizer.provider},
                         {"model_parameters", s.optimizer.model_parameters}}},
          {"limits", limits}};
}

std::uint64_t seed_of(const core::run_spec& s) { return s.optimizer.parameters.value("seed", std::uint64_t{42}); }

}  // namespace

run_executor::run_executor(run_environment& env, core::run_spec spec, std::vector<core::dataset_item> dataset,
                           std::unique_ptr<core::optimizer> optimizer,
                           std::vector<std::unique_ptr<core::evaluation_metric>> metrics, std::string run_id,
                           progress_sink sink)
    : env_(env),
      spec_(std::move(spec)),
      budget_(spec_.limits.max_cost_usd),
      run_env_(env),
      optimizer_(std::move(optimizer)),
      sink_(std::move(sink)),
      rng_(seed_of(spec_)) {
  record_.id = std::move(run_id);
  record_.name = spec_.name;
  record_.objective_name = spec_.objective_name;
  record_.dataset_name = spec_.dataset_name;
  record_.spec_json = spec_json(spec_).dump();
  record_.project_name = spec_.project_name;
  progress_.run_id = record_.id;
  progress_.name = spec_.name;
  progress_.max_trials = spec_.limits.max_trials;

  for (auto pos : core::sample_positions(dataset.size(), spec_.limits.n_samples, seed_of(spec_))) {
    position_of_.emplace(dataset[pos].id, sample_.size());
    sample_.push_back(std::move(dataset[pos]));
  }
  run_env_.provider = [this](std::string_view name) { return budgeted(name); };
  auto* provider = budgeted(spec_.llm_model.provider);
  if (provider == nullptr) throw std::invalid_argument("unknown provider '" + spec_.llm_model.provider + "'");
  trials_ = std::make_unique<trial_runner>(run_env_, spec_, sample_, std::move(metrics), *provider,
                                           env_.price(spec_.llm_model.provider, spec_.llm_model.model), record_.id);
  on_done_ = [this](const store::evaluation_record& e) { evaluation_done(e); };
  trials_->stop_when([this] { return should_stop(); });  // max_cost_usd and max_duration hold mid-experiment
  trials_->on_shared_judge_call([this](const store::llm_call_record& call) { count_call(call); });
  auto reasoning_provider_name = spec_.optimizer.provider.empty() ? spec_.llm_model.provider : spec_.optimizer.provider;
  reasoning_provider_ = budgeted(reasoning_provider_name);
  if (reasoning_provider_ == nullptr) throw std::invalid_argument("unknown provider '" + reasoning_provider_name + "'");
  reasoning_provider_name_ = reasoning_provider_name;
}

run_executor::~run_executor() = default;

core::llm_provider* run_executor::budgeted(std::string_view provider_name) {
  auto* inner = env_.provider(provider_name);
  // Without a cap there is nothing to hold: no worst case is computed on the calls' path.
  if (inner == nullptr || !spec_.limits.max_cost_usd) return inner;
  if (auto it = budgeted_.find(provider_name); it != budgeted_.end()) return it->second.get();
  auto price = [this, name = std::string(provider_name)](std::string_view model) { return env_.price(name, model); };
  return budgeted_.emplace(provider_name, std::make_unique<budgeted_provider>(*inner, budget_, std::move(price)))
      .first->second.get();
}

void run_executor::cancel() {
  if (cancel_requested_) return;
  cancel_requested_ = true;
  trials_->cancel();
  for (auto* call : reasoning_calls_) call->cancel();
}

void run_executor::suspend(bool now) {
  suspend_requested_ = true;
  trials_->stop_new_work();
  if (now) {
    trials_->cancel();
    for (auto* call : reasoning_calls_) call->cancel();
  }
}

bool run_executor::should_stop() const noexcept {
  core::budget_usage usage{counts_.trials, record_.cost_usd, duration_cast<milliseconds>(env_.clock.now() - started_),
                           cancel_requested_, budget_.ledger().refused()};
  return suspend_requested_ || core::budget_stop(spec_.limits, usage).has_value();
}

void run_executor::log(std::string_view line) {
  env_.db.append_log(record_.id, env_.clock.now_ms(), line);
  if (env_.log) env_.log(record_.id, line);
}

void run_executor::report_budget(double used, double total, std::string_view unit) {
  progress_.budget_used = used;
  progress_.budget_total = total;
  progress_.budget_unit = unit;
}

void run_executor::publish() {
  progress_.status = record_.status;
  progress_.elapsed = duration_cast<milliseconds>(env_.clock.now() - started_);
  progress_.cost_usd = record_.cost_usd;
  progress_.tokens = record_.tokens;
  progress_.llm_calls = record_.llm_calls;
  progress_.baseline = record_.baseline_score;
  progress_.best = record_.best_score;
  progress_.trials_done = static_cast<int>(trial_records_.size());
  double done = progress_.budget_total > 0 ? progress_.budget_used / progress_.budget_total
                : progress_.max_trials > 0 ? static_cast<double>(progress_.trials_done) / progress_.max_trials
                                           : 0.0;
  if (done > 0 && done < 1)
    progress_.eta = duration_cast<milliseconds>(progress_.elapsed * ((1 - done) / done));
  else
    progress_.eta.reset();
  if (sink_) sink_(progress_);
}

void run_executor::update_aggregates() {
  auto agg = core::compute_aggregates(store::trial_stats(trial_records_, record_.objective_name));
  record_.baseline_score = agg.baseline_objective_score;
  record_.best_score = agg.best_objective_score;
  record_.best_trial_id = agg.best_trial_id;
}

void run_executor::evaluation_done(const store::evaluation_record& e) {
  ++progress_.evals_done;
  record_.llm_calls += 1 + e.judge_calls;
  if (e.status == "failed") ++progress_.failed_calls;
  record_.cost_usd += e.cost_usd + e.judge_cost_usd;
  record_.tokens.prompt_tokens += e.tokens.prompt_tokens + e.judge_tokens.prompt_tokens;
  record_.tokens.completion_tokens += e.tokens.completion_tokens + e.judge_tokens.completion_tokens;
  if (env_.observer) env_.observer->evaluation_finished(record_, e);
  publish();
}

struct run_executor::planned_trial {
  store::trial_record record;
  bool journaled = false;
  bool finished_before = false;  // journaled and ended before the restart: its log lines were written then
  core::prompt_messages prompt;
  std::vector<std::size_t> positions;
  trial_outcome outcome;
  // "trial 3 [id]", "mini-batch 4 [id]": how log lines name it (a trial's id is its experiment's in Opik).
  std::string label() const {
    return (record.type == "trial" ? "trial " : record.type + " ") + std::to_string(record.number) + " [" +
           record.id + "]";
  }
};

run_executor::planned_trial run_executor::plan(core::evaluation_request& r) {
  planned_trial p;
  if (r.item_ids.empty()) {
    p.positions.resize(sample_.size());
    for (std::size_t i = 0; i < sample_.size(); ++i) p.positions[i] = i;
  } else {
    p.positions.reserve(r.item_ids.size());
    for (const auto& id : r.item_ids) {
      auto it = position_of_.find(id);
      if (it == position_of_.end()) throw std::logic_error("the optimizer asked for item " + id + ", which is not in the run's sample");
      p.positions.push_back(it->second);
    }
  }
  switch (r.type) {
    case core::experiment_type::trial: ++counts_.trials; break;
    case core::experiment_type::mini_batch: ++counts_.mini_batches; break;
    case core::experiment_type::mutation: ++counts_.mutations; break;
  }
  counts_.item_evaluations += static_cast<long long>(p.positions.size());

  auto& t = p.record;
  t.run_id = record_.id;
  t.origin = r.candidate.origin;
  t.prompt_json = core::to_json(r.candidate.messages).dump();
  t.type = std::string(core::to_string(r.type));
  t.candidate_id = r.candidate.id();
  t.name = record_.name + "-" + (r.type == core::experiment_type::trial ? "trial" : t.type) + "-";
  // What was asked, so that a resumed run finds this trial again whatever number it gets.
  auto key = core::fnv1a(t.prompt_json, core::fnv1a(t.type));
  for (auto pos : p.positions) key = core::fnv1a(sample_[pos].id, core::fnv1a(",", key));
  t.request_key = core::digest_hex(key);
  auto journaled = env_.db.find_trial(record_.id, t.request_key, trials_asked_[t.request_key]++);
  if (!journaled)  // journaled by an optd before request keys: found by its number and prompt
    if (auto old = env_.db.find_trial(record_.id, last_number_ + 1);
        old && old->request_key.empty() && old->prompt_json == t.prompt_json)
      journaled = std::move(old);
  if (journaled) {
    p.journaled = true;
    p.finished_before = journaled->status != "running";
    t.id = journaled->id;
    t.number = journaled->number;
    t.started_ms = journaled->started_ms;
  } else {
    t.id = env_.new_id();
    t.number = std::max(last_number_, journal_last_number_) + 1;
    t.started_ms = env_.clock.now_ms();
  }
  last_number_ = std::max(last_number_, t.number);
  t.name += std::to_string(t.number);

  // The experiment's metadata, as Opik's optimizers write it (what the UI shows and the
  // aggregates read), with the optimizer's additions.
  nlohmann::json configuration = {{"prompt", core::to_json(r.candidate.messages)}};
  nlohmann::json metadata = {{"optimizer", spec_.optimizer.type},
                             {"trial", t.number},
                             {"origin", t.origin},
                             {"candidate_id", t.candidate_id},
                             {"parent_candidate_ids", r.candidate.parent_ids},
                             {"step_index", r.candidate.step},
                             {"num_items", p.positions.size()},
                             {"metric", spec_.objective_name},
                             {"dataset_training", spec_.dataset_name}};
  if (r.metadata.is_object())
    for (auto& [k, v] : r.metadata.items()) {
      if (k == "configuration" && v.is_object()) configuration.update(v);
      else metadata[k] = std::move(v);
    }
  metadata["configuration"] = std::move(configuration);
  t.metadata_json = metadata.dump();
  p.prompt = std::move(r.candidate.messages);
  return p;
}

asio::awaitable<void> run_executor::run_trial(planned_trial& p) {
  p.outcome = co_await trials_->run(p.record, p.journaled, p.prompt, p.positions, on_done_);
  const auto& t = p.outcome.record;
  const auto& result = p.outcome.result;
  trial_records_.push_back(t);
  if (env_.metrics)
    env_.metrics->trial_finished(result.all_failed() ? "failed" : result.cancelled ? "cancelled" : "completed");
  update_aggregates();
  env_.db.update_run(record_);
  // Recorders see every trial, one whose every call failed too: its calls happened and cost what they cost.
  if (env_.observer) env_.observer->trial_finished(record_, t);
  if (!p.finished_before)
    log(p.label() + " scored " + (t.score ? std::to_string(*t.score) : "nothing") + " on " +
      std::to_string(t.evaluated_count) + " items" +
      (t.failed_count ? " (" + std::to_string(t.failed_count) + " failed)" : ""));
}

asio::awaitable<std::vector<core::evaluation_result>> run_executor::evaluate_all(std::vector<core::evaluation_request> requests) {
  std::vector<core::evaluation_result> out(requests.size());
  if (should_stop()) {
    for (auto& r : out) r.cancelled = true;
    co_return out;
  }
  std::vector<planned_trial> plans;
  plans.reserve(requests.size());
  for (auto& r : requests) plans.push_back(plan(r));
  std::string numbers;
  for (const auto& p : plans) {
    auto subset = p.positions.size() != sample_.size() ? " on " + std::to_string(p.positions.size()) + " items" : "";
    if (!p.journaled) log(p.label() + " (" + p.record.origin + ") started" + subset);
    else if (!p.finished_before) log(p.label() + " resumed: what it had answered is replayed from the journal");
    progress_.evals_in_trial += static_cast<int>(p.positions.size());
    numbers += (numbers.empty() ? "" : ", ") + std::to_string(p.record.number);
    if (env_.metrics) env_.metrics->trial_started();
  }
  stage_ = (plans.size() == 1 ? "in trial " + numbers + " (" + plans.front().record.origin + ")" : "in trials " + numbers);
  trials_in_flight_ += static_cast<int>(plans.size());
  publish();
  std::exception_ptr failure;
  try {
    if (plans.size() == 1) {
      co_await run_trial(plans.front());
    } else {
      task_group group(co_await asio::this_coro::executor);
      for (auto& p : plans) group.spawn(run_trial(p));
      co_await group.wait();
    }
  } catch (...) {
    failure = std::current_exception();
  }
  trials_in_flight_ -= static_cast<int>(plans.size());
  if (trials_in_flight_ == 0) progress_.evals_done = progress_.evals_in_trial = 0;
  if (failure) std::rethrow_exception(failure);
  // A run that ends because nothing of a trial could be scored stops in that trial.
  if (std::none_of(plans.begin(), plans.end(), [](const auto& p) { return p.outcome.result.all_failed(); }))
    stage_ = "after trial " + numbers + ", in the optimizer";
  publish();
  for (std::size_t i = 0; i < plans.size(); ++i) out[i] = std::move(plans[i].outcome.result);
  co_return out;
}

asio::awaitable<void> run_executor::ask(store::llm_call_record& call, const core::chat_request& request,
                                        std::optional<core::completion_result>& out) {
  auto answer = co_await reasoning_provider_->complete(request);
  if (!answer && answer.error().code == core::errc::cancelled) co_return;
  if (answer) {
    call.response = answer->text;
    call.tokens = answer->usage;
    call.cost_usd = core::cost_usd(env_.price(reasoning_provider_name_, request.model), call.tokens);
    call.latency_us = answer->latency.count();
  } else {
    call.error = answer.error().message;
  }
  // Journaled as soon as it is answered: after a crash, only the calls still in flight are asked
  // again, each under its own row.
  call.status = "answered";
  env_.db.complete_llm_call(call);
  count_call(call);
  out = std::move(answer);
}

void run_executor::count_call(const store::llm_call_record& call) {
  if (env_.observer) env_.observer->reasoning_call(record_, call);
  ++record_.llm_calls;
  record_.cost_usd += call.cost_usd;
  record_.tokens.prompt_tokens += call.tokens.prompt_tokens;
  record_.tokens.completion_tokens += call.tokens.completion_tokens;
}

asio::awaitable<std::vector<core::completion_result>> run_executor::reason_all(std::vector<core::chat_request> requests) {
  const core::llm_error cancelled{core::errc::cancelled, "cancelled", 0, 0};
  std::vector<std::optional<core::completion_result>> results(requests.size());
  std::vector<store::llm_call_record> calls(requests.size());
  std::vector<std::size_t> to_send;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    ++counts_.reasoning_calls;
    if (should_stop()) {
      results[i] = cancelled;
      continue;
    }
    auto& request = requests[i];
    request.share_key = record_.id;
    auto& call = calls[i];
    call.id = env_.new_id();
    call.run_id = record_.id;
    call.purpose = "reasoning";
    call.request_json = core::to_json_body(request);
    call.created_ms = env_.clock.now_ms();
    call.model = request.model;
    call.provider = reasoning_provider_name_;
    // A resumed run replays the reasoning model's answers from the journal, in order; a call
    // journaled but never answered is sent again under its row.
    int occurrence = reasoning_seen_[call.request_json]++;
    auto hit = env_.db.find_llm_call(record_.id, call.request_json, occurrence);
    if (hit && hit->status == "pending") {
      call.id = hit->id;
      call.created_ms = hit->created_ms;
      call.status = "pending";
      to_send.push_back(i);
      continue;
    }
    if (hit) {
      count_call(*hit);
      if (!hit->error.empty()) {
        results[i] = core::llm_error{core::errc::provider_unavailable, hit->error, 0, 0};
      } else {
        core::completion replayed;
        replayed.text = hit->response;
        replayed.usage = hit->tokens;
        replayed.attempts = 0;
        results[i] = std::move(replayed);
      }
      continue;
    }
    call.status = "pending";
    env_.db.begin_llm_call(call);  // journaled, in the order asked, before it is sent
    to_send.push_back(i);
  }

  if (!to_send.empty()) {
    // The calls run as child tasks so that cancel() can interrupt them.
    task_group group(co_await asio::this_coro::executor);
    for (auto i : to_send) group.spawn(ask(calls[i], requests[i], results[i]));
    auto me = reasoning_calls_.insert(reasoning_calls_.end(), &group);
    std::exception_ptr failure;
    try {
      co_await group.wait();
    } catch (...) {
      failure = std::current_exception();
    }
    reasoning_calls_.erase(me);
    if (failure) std::rethrow_exception(failure);
    for (auto i : to_send)
      if (!results[i]) results[i] = cancelled;  // interrupted: nothing was journaled
    env_.db.update_run(record_);
    publish();
  }
  std::vector<core::completion_result> out;
  out.reserve(results.size());
  for (auto& r : results) out.push_back(std::move(*r));
  co_return out;
}

void run_executor::record_failure(std::exception_ptr failure) {
  std::string type = "InternalError", details;
  record_.finish_reason = "error";
  try {
    std::rethrow_exception(failure);
  } catch (const core::run_error& e) {
    type = e.type();
    record_.error = e.what();
    details = e.details();
  } catch (const std::exception& e) {
    record_.error = e.what();
  } catch (...) {
    record_.error = "unknown error";
  }
  // Like a Python traceback, which is what Opik's UI expects here: where the run was, then the
  // error, then its evidence. Opik keeps 4000 characters of each; a traceback keeps its tail.
  std::ostringstream t;
  t << "optd run " << record_.id << " \"" << record_.name << "\": optimizer " << spec_.optimizer.type << ", model "
    << spec_.llm_model.model << " via "
    << (spec_.llm_model.provider.empty() ? "the default provider" : "provider " + spec_.llm_model.provider)
    << "\n  stopped " << stage_ << ", after " << record_.llm_calls << " LLM call(s) costing $" << std::fixed
    << std::setprecision(6) << record_.cost_usd << "\n" << type << ": " << record_.error;
  for (std::size_t pos = 0; pos < details.size();) {
    auto end = details.find('\n', pos);
    if (end == std::string::npos) end = details.size();
    t << "\n    " << details.substr(pos, end - pos);
    pos = end + 1;
  }
  constexpr std::size_t cap = 4000;
  auto traceback = t.str();
  if (traceback.size() > cap) traceback = "…" + traceback.substr(traceback.size() - cap);
  auto message = record_.error.size() > cap ? record_.error.substr(0, cap) + "…" : record_.error;
  record_.error_info_json =
      nlohmann::json{{"exception_type", type}, {"message", message}, {"traceback", traceback}}.dump(
          -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

asio::awaitable<store::run_record> run_executor::run() {
  started_ = env_.clock.now();
  record_.created_ms = record_.started_ms = record_.updated_ms = env_.clock.now_ms();
  record_.status = *core::next_status(core::run_status::initialized, core::run_event::start);
  bool resumed = false;
  if (auto queued = env_.db.find_run(record_.id)) {  // recorded at submission (optd serve), or resumed
    record_.created_ms = queued->created_ms;
    resumed = queued->started_ms > 0;
    if (resumed) record_.started_ms = queued->started_ms;  // its duration is the whole run's
    env_.db.update_run(record_);
  } else {
    env_.db.insert_run(record_);
  }
  journal_last_number_ = env_.db.last_trial_number(record_.id);
  budget_.ledger().add_spent(env_.db.journaled_spend(record_.id));  // a resumed run's budget goes on from its journal
  // The optimization's metadata says what optimized it, as Opik's optimizers' does.
  if (auto stored = env_.db.find_run(record_.id)) {
    auto metadata = nlohmann::json::parse(stored->metadata_json.empty() ? "{}" : stored->metadata_json, nullptr, false);
    if (!metadata.is_object()) metadata = nlohmann::json::object();
    metadata["optimizer"] = spec_.optimizer.type;
    if (!env_.version.empty()) metadata["optd_version"] = env_.version;
    env_.db.update_run_details(record_.id, stored->name, metadata.dump(), record_.updated_ms);
  }
  log(std::string(resumed ? "run resumed: " : "run started: ") + std::to_string(sample_.size()) + " items, up to " + std::to_string(spec_.limits.max_trials) +
      " trials, optimizer " + spec_.optimizer.type);
  for (const auto& note : spec_.notes) log(note);
  if (env_.observer) env_.observer->run_started(record_, spec_);
  publish();

  core::candidate baseline{spec_.prompt, "baseline"};
  std::exception_ptr failure;
  core::optimizer_outcome outcome;
  try {
    if (start_error_) std::rethrow_exception(start_error_);
    outcome = co_await optimizer_->run(*this, std::move(baseline));
  } catch (const store::unavailable&) {
    // The store cannot be written now (a full disk, a lock held past the busy timeout): nothing
    // more can be journaled, so nothing more is asked, and nothing is recorded either. What is
    // journaled stays; the run stays live in the store, for its owner to resume when the store
    // takes writes again (run_manager, optd run).
    throw;
  } catch (...) {
    failure = std::current_exception();
  }

  record_.ended_ms = env_.clock.now_ms();
  core::budget_usage usage{counts_.trials, record_.cost_usd, duration_cast<milliseconds>(env_.clock.now() - started_),
                           cancel_requested_, budget_.ledger().refused()};
  // A call the budget could not pay for ends as a cancelled one does; the run was not cancelled.
  const bool budget_spent = budget_.ledger().refused() && !cancel_requested_;
  // What the journal says was bought: answers whose judges never ran (a spent budget, a stop) are
  // counted only when their evaluation completes, which a stopped run's may never do.
  try {
    record_.cost_usd = std::max(record_.cost_usd, env_.db.journaled_spend(record_.id));
  } catch (...) {
    if (!failure) throw;
  }
  if (budget_spent) {
    char why[200];
    std::snprintf(why, sizeof why,
                  "max_cost_usd $%.6f: $%.6f spent, and the next call could cost up to $%.6f (its prompt and max_tokens "
                  "at the model's price), so it was not sent",
                  spec_.limits.max_cost_usd.value_or(0), budget_.ledger().spent(), budget_.ledger().refused_usd());
    log(why);
  }
  auto event = core::run_event::complete;
  if (failure && !task_group::is_cancellation(failure)) {
    event = core::run_event::fail;
    record_failure(failure);
  } else if (suspend_requested_ && !cancel_requested_) {
    event = core::run_event::suspend;  // stays live in the store: the next start resumes it
    record_.ended_ms = 0;
  } else if (cancel_requested_ || (!budget_spent && (failure || outcome.reason == core::finish_reason::cancelled))) {
    event = core::run_event::cancel;
    record_.finish_reason = "cancelled";
  } else {
    auto reason = budget_spent ? core::finish_reason::budget : outcome.reason;
    if (reason == core::finish_reason::budget)
      reason = core::budget_stop(spec_.limits, usage).value_or(core::finish_reason::budget);
    record_.finish_reason = std::string(core::to_string(reason));
  }
  record_.status = core::next_status(record_.status, event).value_or(record_.status);
  try {
    env_.db.update_run(record_);
  } catch (...) {
    if (!failure) throw;
  }
  if (event == core::run_event::suspend) {
    log("suspended; it resumes when optd starts again");
  } else {
    if (env_.observer) env_.observer->run_finished(record_);
    log("run " + std::string(core::to_string(record_.status)) + " (" + record_.finish_reason + ")" +
        (record_.error.empty() ? "" : ": " + record_.error));
  }
  publish();
  co_return record_;
}

}  // namespace optd::engine
