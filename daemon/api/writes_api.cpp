#include "api/writes_api.hpp"

#include <algorithm>
#include <set>

#include "api/responses.hpp"
#include "core/aggregates.hpp"
#include "core/iso8601.hpp"

namespace optd::api {

using net::http_response;

namespace {

const std::string base = "/api/v1/private";

std::int64_t time_of(const nlohmann::json& j, const char* key, std::int64_t fallback) {
  if (!j.contains(key) || !j[key].is_string()) return fallback;
  return core::parse_iso8601(j[key].get<std::string>()).value_or(fallback);
}

// A list field of a batch body, or the 422 Opik gives when it is missing.
const nlohmann::json* list_of(const nlohmann::json& body, const char* key) {
  return body.is_object() && body.contains(key) && body[key].is_array() && !body[key].empty() ? &body[key] : nullptr;
}

}  // namespace

std::optional<http_response> writes_api::route(const net::http_request& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  const auto& m = req.method;
  using handler = http_response (writes_api::*)(const nlohmann::json&);
  handler h = nullptr;
  if (path == base + "/experiments" && m == "POST") h = &writes_api::create_experiment;
  else if (path == base + "/traces/batch" && m == "POST") h = &writes_api::traces;
  else if (path == base + "/spans/batch" && m == "POST") h = &writes_api::spans;
  else if (path == base + "/traces/feedback-scores" && m == "PUT") h = &writes_api::scores;
  else if (path == base + "/experiments/items" && m == "POST") h = &writes_api::items;
  if (!h) return std::nullopt;
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error_response(400, "Unable to process JSON");
  return (this->*h)(body);
}

http_response writes_api::create_experiment(const nlohmann::json& body) {
  auto id = body.value("id", std::string());
  if (id.empty()) id = ids_.next(static_cast<std::uint64_t>(clock_.now_ms()));
  if (!core::is_uuid_v7(id)) return error_response(400, "Experiment id must be a version 7 UUID");
  if (db_.trial_by_id(id)) return errors_response(409, {"Experiment already exists"});
  auto optimization = body.value("optimization_id", std::string());
  auto run = optimization.empty() ? std::nullopt : db_.find_run(optimization);
  if (!run || run->id != optimization)
    return errors_response(422, {"optd keeps experiments of optimizations only: optimization_id must name one"});
  store::trial_record t;
  t.id = id;
  t.run_id = run->id;
  t.number = static_cast<int>(db_.trials(run->id).size()) + 1;
  const auto& meta = body.contains("metadata") && body["metadata"].is_object() ? body["metadata"] : nlohmann::json();
  t.origin = meta.is_object() ? meta.value("origin", body.value("type", std::string("trial"))) : "trial";
  auto prompt = meta.is_object() && meta.contains("configuration") ? meta["configuration"].value("prompt", nlohmann::json())
                                                                    : nlohmann::json();
  t.prompt_json = prompt.is_null() ? "[]" : prompt.dump();
  t.status = "completed";
  t.started_ms = t.ended_ms = clock_.now_ms();
  db_.insert_trial(t);
  return {201, {{"Content-Type", "application/json"}}, {}};
}

http_response writes_api::traces(const nlohmann::json& body) {
  const auto* list = list_of(body, "traces");
  if (!list) return errors_response(422, {"traces must not be empty"});
  auto now = clock_.now_ms();
  for (const auto& t : *list) {
    if (!t.is_object() || !t.contains("id") || !t["id"].is_string()) return errors_response(422, {"every trace needs an id"});
    store::received_trace r;
    r.id = t["id"].get<std::string>();
    r.start_ms = time_of(t, "start_time", now);
    r.end_ms = time_of(t, "end_time", r.start_ms);
    const auto& out = t.contains("output") ? t["output"] : nlohmann::json();
    r.output = out.is_object() && out.contains("llm_output") && out["llm_output"].is_string()
                   ? out["llm_output"].get<std::string>()
                   : (out.is_null() ? "" : out.dump());
    r.failed = t.contains("error_info") && !t["error_info"].is_null();
    db_.receive_trace(r);
    if (t.contains("tags") && t["tags"].is_array())
      for (const auto& tag : t["tags"])
        if (tag.is_string())
          if (auto run = db_.find_run(tag.get<std::string>()); run && run->id == tag.get<std::string>())
            db_.tag_received_trace(r.id, run->id);
  }
  return no_content();
}

http_response writes_api::spans(const nlohmann::json& body) {
  const auto* list = list_of(body, "spans");
  if (!list) return errors_response(422, {"spans must not be empty"});
  std::set<std::string> runs;  // whose optimizer calls these spans cost
  for (const auto& s : *list) {
    if (!s.is_object() || !s.contains("id") || !s.contains("trace_id")) return errors_response(422, {"every span needs id and trace_id"});
    core::token_usage tokens;
    if (s.contains("usage") && s["usage"].is_object())
      tokens = {s["usage"].value("prompt_tokens", std::int64_t{0}), s["usage"].value("completion_tokens", std::int64_t{0})};
    double cost = s.contains("total_estimated_cost") && s["total_estimated_cost"].is_number()
                      ? s["total_estimated_cost"].get<double>() : 0.0;
    db_.receive_span(s.value("id", ""), s.value("trace_id", ""), cost, tokens);
    if (auto run = db_.tagged_run(s.value("trace_id", ""))) runs.insert(*run);
  }
  for (const auto& id : runs) refresh_run(id);
  return no_content();
}

http_response writes_api::scores(const nlohmann::json& body) {
  const auto* list = list_of(body, "scores");
  if (!list) return errors_response(422, {"scores must not be empty"});
  for (const auto& s : *list) {
    if (!s.is_object() || !s.contains("id") || !s.contains("name") || !s.contains("value") || !s["value"].is_number())
      return errors_response(422, {"every score needs id, name and a numeric value"});
    db_.receive_score(s.value("id", ""), s.value("name", ""), s["value"].get<double>(), s.value("reason", ""));
  }
  return no_content();
}

http_response writes_api::items(const nlohmann::json& body) {
  const auto* list = list_of(body, "experiment_items");
  if (!list) return errors_response(422, {"experiment_items must not be empty"});
  std::map<std::string, store::trial_record> touched;
  for (const auto& it : *list) {
    if (!it.is_object() || !it.contains("experiment_id") || !it.contains("trace_id") || !it.contains("dataset_item_id"))
      return errors_response(422, {"every item needs experiment_id, dataset_item_id and trace_id"});
    auto id = it.value("id", std::string());
    if (id.empty()) id = ids_.next(static_cast<std::uint64_t>(clock_.now_ms()));
    if (db_.evaluation_by_id(id)) continue;  // already linked
    auto trial = db_.trial_by_id(it.value("experiment_id", ""));
    if (!trial) return error_response(404, "Experiment not found: " + it.value("experiment_id", ""));
    auto trace = db_.received(it.value("trace_id", ""));
    db_.untag_received_trace(it.value("trace_id", ""));  // an evaluation's cost counts with its trial
    auto run = db_.find_run(trial->run_id);
    store::evaluation_record e;
    e.id = id;
    e.run_id = trial->run_id;
    e.trial_id = trial->id;
    e.item_id = it.value("dataset_item_id", "");
    e.status = trace && !trace->failed ? "completed" : "failed";
    if (trace) {
      e.output = trace->output;
      e.scores_json = trace->scores_json;
      e.tokens = trace->tokens;
      e.cost_usd = trace->cost_usd;
      e.latency_us = (trace->end_ms - trace->start_ms) * 1000;
      e.created_ms = trace->start_ms;
      e.completed_ms = trace->end_ms;
      if (run)
        for (const auto& s : store::parse_scores(trace->scores_json))
          if (s.name == run->objective_name) e.objective = s.value;
    } else {
      e.error = "no trace " + it.value("trace_id", "") + " was logged";
    }
    if (!e.objective && e.status == "completed") e.status = "failed";  // unscored: not part of the mean
    db_.begin_evaluations({&e});
    touched.emplace(trial->id, *trial);
  }
  for (auto& [id, trial] : touched) refresh_trial(trial);
  return no_content();
}

// A trial's score, p50 duration, cost and tokens from its evaluations: what the aggregates are
// computed from.
void writes_api::refresh_trial(store::trial_record& t) {
  auto evaluations = db_.evaluations(t.id);
  std::vector<const store::evaluation_record*> rows;
  for (const auto& e : evaluations) rows.push_back(&e);
  store::summarize_trial(t, rows);
  t.ended_ms = clock_.now_ms();
  db_.update_trial(t);
  refresh_run(t.run_id);
}

// The run's spend as Opik totals it (its trials' and its tagged traces') and its scores.
void writes_api::refresh_run(const std::string& run_id) {
  auto run = db_.find_run(run_id);
  if (!run || run->id != run_id) return;
  auto tagged = db_.tagged_spend(run_id);
  run->cost_usd = tagged.cost_usd;
  run->tokens = tagged.tokens;
  auto trials = db_.trials(run_id);
  for (const auto& trial : trials) {
    run->cost_usd += trial.cost_usd;
    run->tokens.prompt_tokens += trial.tokens.prompt_tokens;
    run->tokens.completion_tokens += trial.tokens.completion_tokens;
  }
  auto agg = core::compute_aggregates(store::scored_trial_stats(trials));
  run->baseline_score = agg.baseline_objective_score;
  run->best_score = agg.best_objective_score;
  run->updated_ms = clock_.now_ms();
  db_.update_run(*run);
}

}  // namespace optd::api
