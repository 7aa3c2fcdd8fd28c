#include "engine/run_executor.hpp"

#include <iomanip>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/aggregates.hpp"
#include "core/budget.hpp"
#include "core/run_error.hpp"

namespace optd::engine {

namespace asio = boost::asio;
using namespace std::chrono;

namespace {

nlohmann::json spec_json(const core::run_spec& s) {
  auto metrics = nlohmann::json::array();
  for (const auto& m : s.metrics) metrics.push_back({{"type", m.type}, {"parameters", m.parameters}, {"weight", m.weight}});
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

// A free coroutine, not a capturing lambda: a lambda's captures die with its closure object.
asio::awaitable<void> complete_into(core::llm_provider* provider, core::chat_request request,
                                    std::optional<core::completion_result>* out) {
  *out = co_await provider->complete(request);
}

std::uint64_t seed_of(const core::run_spec& s) { return s.optimizer.parameters.value("seed", std::uint64_t{42}); }

}  // namespace

run_executor::run_executor(run_environment& env, core::run_spec spec, std::vector<core::dataset_item> dataset,
                           std::unique_ptr<core::optimizer> optimizer,
                           std::vector<std::unique_ptr<core::evaluation_metric>> metrics, std::string run_id,
                           progress_sink sink)
    : env_(env),
      spec_(std::move(spec)),
      dataset_(std::move(dataset)),
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

  std::vector<core::dataset_item> sample;
  for (auto pos : core::sample_positions(dataset_.size(), spec_.limits.n_samples, seed_of(spec_)))
    sample.push_back(dataset_[pos]);
  auto* provider = env_.provider(spec_.llm_model.provider);
  if (provider == nullptr) throw std::invalid_argument("unknown provider '" + spec_.llm_model.provider + "'");
  trials_ = std::make_unique<trial_runner>(env_, spec_, std::move(sample), std::move(metrics), *provider,
                                           env_.price(spec_.llm_model.provider, spec_.llm_model.model), record_.id);
  auto reasoning_provider_name = spec_.optimizer.provider.empty() ? spec_.llm_model.provider : spec_.optimizer.provider;
  reasoning_provider_ = env_.provider(reasoning_provider_name);
  if (reasoning_provider_ == nullptr) throw std::invalid_argument("unknown provider '" + reasoning_provider_name + "'");
  auto reasoning_model = spec_.optimizer.model.empty() ? spec_.llm_model.model : spec_.optimizer.model;
  reasoning_price_ = env_.price(reasoning_provider_name, reasoning_model);
}

run_executor::~run_executor() = default;

void run_executor::cancel() {
  if (cancel_requested_) return;
  cancel_requested_ = true;
  trials_->cancel();
  if (reasoning_call_) reasoning_call_->cancel();
}

void run_executor::suspend(bool now) {
  suspend_requested_ = true;
  trials_->stop_new_work();
  if (now) {
    trials_->cancel();
    if (reasoning_call_) reasoning_call_->cancel();
  }
}

int run_executor::trials_left() const noexcept { return spec_.limits.max_trials - static_cast<int>(trial_records_.size()); }

bool run_executor::should_stop() const noexcept {
  core::budget_usage usage{static_cast<int>(trial_records_.size()), record_.cost_usd,
                           duration_cast<milliseconds>(env_.clock.now() - started_), cancel_requested_};
  return suspend_requested_ || core::budget_stop(spec_.limits, usage).has_value();
}

void run_executor::log(std::string_view line) {
  env_.db.append_log(record_.id, env_.clock.now_ms(), line);
  if (env_.log) env_.log(record_.id, line);
}

void run_executor::publish() {
  progress_.status = record_.status;
  progress_.elapsed = duration_cast<milliseconds>(env_.clock.now() - started_);
  progress_.cost_usd = record_.cost_usd;
  progress_.tokens = record_.tokens;
  progress_.baseline = record_.baseline_score;
  progress_.best = record_.best_score;
  progress_.trials_done = static_cast<int>(trial_records_.size());
  if (progress_.trials_done > 0 && progress_.trials_done < progress_.max_trials)
    progress_.eta = progress_.elapsed / progress_.trials_done * (progress_.max_trials - progress_.trials_done);
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

asio::awaitable<core::trial_result> run_executor::evaluate(core::candidate c) {
  int number = static_cast<int>(trial_records_.size()) + 1;
  progress_.evals_done = 0;
  progress_.evals_in_trial = static_cast<int>(trials_->sample_size());
  // The trial's id is its experiment's in Opik: every line about it carries it.
  auto journaled = env_.db.find_trial(record_.id, number);  // a resumed run replays its trials
  auto trial_id = journaled ? journaled->id : env_.new_id();
  auto trial = "trial " + std::to_string(number) + " [" + trial_id + "]";
  log(trial + " (" + c.origin + ") started");
  stage_ = "in trial " + std::to_string(number) + " (" + c.origin + ")";
  if (env_.metrics) env_.metrics->trial_started();
  publish();
  // A named callback, not a temporary inside co_await (GCC 12 destroys those twice).
  trial_runner::evaluation_done on_done = [this](const store::evaluation_record& e) {
    ++progress_.evals_done;
    ++record_.llm_calls;
    if (e.status == "failed") ++progress_.failed_calls;
    record_.cost_usd += e.cost_usd;
    record_.tokens.prompt_tokens += e.tokens.prompt_tokens;
    record_.tokens.completion_tokens += e.tokens.completion_tokens;
    if (env_.observer) env_.observer->evaluation_finished(record_, e);
    publish();
  };
  auto outcome = co_await trials_->run(number, trial_id, c, on_done);
  trial_records_.push_back(outcome.record);
  bool all_failed = outcome.record.evaluated_count == 0 && outcome.record.failed_count > 0;
  if (env_.metrics)
    env_.metrics->trial_finished(all_failed ? "failed" : outcome.cancelled ? "cancelled" : "completed");
  if (all_failed) {
    // Recorders see this trial too: its calls happened and cost what they cost.
    if (env_.observer) env_.observer->trial_finished(record_, outcome.record);
    // Nothing could be scored: going on would only spend money on a provider that does not answer.
    std::map<std::string, int> errors;  // each distinct error, with how often it came
    std::string first_error;
    for (const auto& e : outcome.result.examples) {
      constexpr std::string_view prefix = "evaluation failed: ";
      auto error = e.reason.rfind(prefix, 0) == 0 ? e.reason.substr(prefix.size()) : e.reason;
      if (error.empty()) continue;
      if (first_error.empty()) first_error = error;
      ++errors[error];
    }
    std::string details;
    for (const auto& [error, n] : errors) details += (details.empty() ? "" : "\n") + std::to_string(n) + " × " + error;
    throw core::run_error("AllEvaluationsFailedError",
                          "all " + std::to_string(outcome.record.failed_count) + " evaluations of trial " +
                              std::to_string(number) + " failed; first: " + first_error,
                          details);
  }
  update_aggregates();
  env_.db.update_run(record_);
  if (env_.observer) env_.observer->trial_finished(record_, outcome.record);
  log(trial + " scored " + std::to_string(outcome.result.score) + " on " +
      std::to_string(outcome.record.evaluated_count) + " items" +
      (outcome.record.failed_count ? " (" + std::to_string(outcome.record.failed_count) + " failed)" : ""));
  stage_ = "after trial " + std::to_string(number) + ", in the optimizer";
  publish();
  co_return std::move(outcome.result);
}

asio::awaitable<core::completion_result> run_executor::reason(core::chat_request request) {
  if (cancel_requested_) co_return core::llm_error{core::errc::cancelled, "cancelled", 0, 0};
  request.share_key = record_.id;
  store::llm_call_record call;
  call.id = env_.new_id();
  call.run_id = record_.id;
  call.purpose = "reasoning";
  call.request_json = core::to_json_body(request);
  call.created_ms = env_.clock.now_ms();

  // A resumed run replays the reasoning model's answers from the journal, in order.
  int occurrence = reasoning_seen_[call.request_json]++;
  if (auto hit = env_.db.find_llm_call(record_.id, call.request_json, occurrence)) {
    if (env_.observer) env_.observer->reasoning_call(record_, *hit);
    ++record_.llm_calls;
    record_.cost_usd += hit->cost_usd;
    record_.tokens.prompt_tokens += hit->tokens.prompt_tokens;
    record_.tokens.completion_tokens += hit->tokens.completion_tokens;
    if (!hit->error.empty()) co_return core::llm_error{core::errc::provider_unavailable, hit->error, 0, 0};
    core::completion replayed;
    replayed.text = hit->response;
    replayed.usage = hit->tokens;
    replayed.attempts = 0;
    co_return replayed;
  }

  // The call runs as a child task so that cancel() can interrupt it.
  std::optional<core::completion_result> result;
  task_group group(co_await asio::this_coro::executor);
  group.spawn(complete_into(reasoning_provider_, request, &result));
  reasoning_call_ = &group;
  co_await group.wait();
  reasoning_call_ = nullptr;
  if (!result) co_return core::llm_error{core::errc::cancelled, "cancelled", 0, 0};

  if (*result) {
    call.response = (*result)->text;
    call.tokens = (*result)->usage;
    call.cost_usd = core::cost_usd(reasoning_price_, call.tokens);
    call.latency_us = (*result)->latency.count();
  } else {
    call.error = result->error().message;
  }
  env_.db.record_llm_call(call);
  if (env_.observer) env_.observer->reasoning_call(record_, call);
  ++record_.llm_calls;
  record_.cost_usd += call.cost_usd;
  record_.tokens.prompt_tokens += call.tokens.prompt_tokens;
  record_.tokens.completion_tokens += call.tokens.completion_tokens;
  env_.db.update_run(record_);
  publish();
  co_return std::move(*result);
}

void run_executor::record_failure(std::exception_ptr failure) {
  std::string type = "InternalError", details;
  record_.status = "error";
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
  record_.status = "running";
  if (auto queued = env_.db.find_run(record_.id)) {  // recorded at submission (optd serve)
    record_.created_ms = queued->created_ms;
    env_.db.update_run(record_);
  } else {
    env_.db.insert_run(record_);
  }
  // The optimization's metadata says what optimized it, as Opik's optimizers' does.
  if (auto stored = env_.db.find_run(record_.id)) {
    auto metadata = nlohmann::json::parse(stored->metadata_json.empty() ? "{}" : stored->metadata_json, nullptr, false);
    if (!metadata.is_object()) metadata = nlohmann::json::object();
    metadata["optimizer"] = spec_.optimizer.type;
    if (!env_.version.empty()) metadata["optd_version"] = env_.version;
    env_.db.update_run_details(record_.id, stored->name, metadata.dump(), record_.updated_ms);
  }
  log("run started: " + std::to_string(trials_->sample_size()) + " items per trial, up to " +
      std::to_string(spec_.limits.max_trials) + " trials, optimizer " + spec_.optimizer.type);
  if (env_.observer) env_.observer->run_started(record_, spec_);
  publish();

  core::candidate baseline{spec_.prompt, "baseline"};
  std::exception_ptr failure;
  core::optimizer_outcome outcome;
  try {
    if (start_error_) std::rethrow_exception(start_error_);
    outcome = co_await optimizer_->run(*this, std::move(baseline));
  } catch (...) {
    failure = std::current_exception();
  }

  record_.ended_ms = env_.clock.now_ms();
  core::budget_usage usage{static_cast<int>(trial_records_.size()), record_.cost_usd,
                           duration_cast<milliseconds>(env_.clock.now() - started_), cancel_requested_};
  if (failure && !task_group::is_cancellation(failure)) {
    record_failure(failure);
  } else if (suspend_requested_ && !cancel_requested_) {
    record_.status = "running";  // stays live in the store: the next start resumes it
    record_.ended_ms = 0;
  } else if (cancel_requested_ || failure) {
    record_.status = "cancelled";
    record_.finish_reason = "cancelled";
  } else {
    auto reason = outcome.reason;
    if (reason == core::finish_reason::budget)
      reason = core::budget_stop(spec_.limits, usage).value_or(core::finish_reason::budget);
    record_.status = reason == core::finish_reason::cancelled ? "cancelled" : "completed";
    record_.finish_reason = std::string(core::to_string(reason));
  }
  try {
    env_.db.update_run(record_);
  } catch (...) {
    if (!failure) throw;
  }
  if (record_.status == "running") log("suspended; it resumes when optd starts again");
  else if (env_.observer) env_.observer->run_finished(record_);
  if (record_.status != "running") log("run " + record_.status + " (" + record_.finish_reason + ")" + (record_.error.empty() ? "" : ": " + record_.error));
  publish();
  co_return record_;
}

}  // namespace optd::engine
