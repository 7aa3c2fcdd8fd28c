#include "api/writes_api.hpp"

#include <algorithm>
#include <map>
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

// What optd keeps of a trace's output: its llm_output, else the whole output as JSON.
std::optional<std::string> output_of(const nlohmann::json& trace) {
  if (!trace.contains("output") || trace["output"].is_null()) return std::nullopt;
  const auto& out = trace["output"];
  if (out.is_object() && out.contains("llm_output") && out["llm_output"].is_string()) return out["llm_output"].get<std::string>();
  return out.dump();
}

std::optional<core::token_usage> tokens_of(const nlohmann::json& span) {
  if (!span.contains("usage") || !span["usage"].is_object()) return std::nullopt;
  return core::token_usage{span["usage"].value("prompt_tokens", std::int64_t{0}),
                           span["usage"].value("completion_tokens", std::int64_t{0})};
}

std::optional<double> cost_of(const nlohmann::json& span) {
  if (!span.contains("total_estimated_cost") || !span["total_estimated_cost"].is_number()) return std::nullopt;
  return span["total_estimated_cost"].get<double>();
}

// A list field of a batch body, or the 422 Opik gives when it is missing.
const nlohmann::json* list_of(const nlohmann::json& body, const char* key) {
  return body.is_object() && body.contains(key) && body[key].is_array() && !body[key].empty() ? &body[key] : nullptr;
}

// Opik's experiment types; anything else is a 400, as Jackson's enum parsing makes it there.
bool known_type(const std::string& type) {
  return type == "regular" || type == "trial" || type == "mini-batch" || type == "mutation";
}

// The experiment fields an SDK may set at creation and change with PATCH.
std::optional<http_response> apply_experiment_fields(store::trial_record& t, const nlohmann::json& body) {
  if (body.contains("type") && !body["type"].is_null()) {
    if (!body["type"].is_string() || !known_type(body["type"].get<std::string>()))
      return error_response(400, "Unable to process JSON: unknown experiment type");
    t.type = body["type"].get<std::string>();
  }
  if (body.contains("name") && body["name"].is_string()) t.name = body["name"].get<std::string>();
  if (body.contains("metadata") && body["metadata"].is_object()) {
    const auto& meta = body["metadata"];
    t.metadata_json = meta.dump();
    t.origin = meta.value("origin", t.type);
    auto candidate = meta.contains("candidate_id") ? meta["candidate_id"] : nlohmann::json();
    t.candidate_id = candidate.is_string() ? candidate.get<std::string>() : candidate.is_null() ? "" : candidate.dump();
    auto prompt = meta.contains("configuration") && meta["configuration"].is_object()
                      ? meta["configuration"].value("prompt", nlohmann::json())
                      : nlohmann::json();
    if (!prompt.is_null()) t.prompt_json = prompt.dump();
  }
  if (body.contains("experiment_scores") && !body["experiment_scores"].is_null()) {
    const auto& scores = body["experiment_scores"];
    if (!scores.is_array()) return errors_response(422, {"experiment_scores must be a list of {name, value}"});
    auto kept = nlohmann::json::array();
    for (const auto& sc : scores) {
      if (!sc.is_object() || !sc.contains("name") || !sc["name"].is_string() || !sc.contains("value") ||
          !sc["value"].is_number())
        return errors_response(422, {"every experiment score needs a name and a numeric value"});
      kept.push_back({{"name", sc["name"]}, {"value", sc["value"]}});
    }
    t.experiment_scores_json = kept.dump();
  }
  return std::nullopt;
}

// An experiment item's evaluation as its trace reads so far: output, times, cost, tokens, scores.
// One whose trace has not arrived, failed, or has no score named `objective_name` counts as
// failed: it is a trace of the experiment, but not part of its mean.
void fill_from_trace(store::evaluation_record& e, const std::optional<store::received_trace>& trace,
                     const std::string& objective_name) {
  e.objective.reset();
  e.error.clear();
  if (!trace) {
    e.status = "failed";
    e.error = "no trace " + e.trace_id + " was logged";
    return;
  }
  e.output = trace->output;
  e.scores_json = trace->scores_json;
  e.tokens = trace->tokens;
  e.cost_usd = trace->cost_usd;
  e.latency_us = (trace->end_ms - trace->start_ms) * 1000;
  e.created_ms = trace->start_ms;
  e.completed_ms = trace->end_ms;
  for (const auto& s : store::parse_scores(trace->scores_json))
    if (s.name == objective_name) e.objective = s.value;
  // An experiment of no optimization has no objective: its traces count as they ended.
  e.status = !trace->failed && (e.objective || objective_name.empty()) ? "completed" : "failed";
  if (trace->failed) e.error = "the trace has an error_info";
}

}  // namespace

std::optional<http_response> writes_api::route(const net::http_request& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  const auto& m = req.method;
  auto body = [&]() { return nlohmann::json::parse(req.body, nullptr, false); };
  auto bad = [](const nlohmann::json& j) { return j.is_discarded() || !j.is_object(); };
  // PATCH /experiments/{id}, /traces/{id}, /spans/{id}
  using updater = http_response (writes_api::*)(const std::string&, const nlohmann::json&);
  for (auto [prefix, update] : {std::pair<std::string, updater>{base + "/experiments/", &writes_api::update_experiment},
                                {base + "/traces/", &writes_api::update_trace},
                                {base + "/spans/", &writes_api::update_span}}) {
    if (m != "PATCH" || path.rfind(prefix, 0) != 0 || path.size() == prefix.size() ||
        path.find('/', prefix.size()) != std::string::npos)
      continue;
    auto j = body();
    if (bad(j)) return error_response(400, "Unable to process JSON");
    return (this->*update)(path.substr(prefix.size()), j);
  }
  using handler = http_response (writes_api::*)(const nlohmann::json&);
  handler h = nullptr;
  if (path == base + "/experiments" && m == "POST") h = &writes_api::create_experiment;
  else if (path == base + "/traces/batch" && m == "POST") h = &writes_api::traces;
  else if (path == base + "/spans/batch" && m == "POST") h = &writes_api::spans;
  else if (path == base + "/traces/feedback-scores" && m == "PUT") h = &writes_api::scores;
  else if (path == base + "/experiments/items" && m == "POST") h = &writes_api::items;
  if (!h) return std::nullopt;
  auto j = body();
  if (bad(j)) return error_response(400, "Unable to process JSON");
  return (this->*h)(j);
}

http_response writes_api::create_experiment(const nlohmann::json& body) {
  auto id = text_field(body, "id");
  if (id.empty()) id = ids_.next(static_cast<std::uint64_t>(clock_.now_ms()));
  if (!core::is_uuid_v7(id)) return error_response(400, "Experiment id must be a version 7 UUID");
  // Idempotent, as Opik's: an SDK that retries a create whose answer it lost gets 201 again, and
  // the experiment stays as it was first created.
  if (db_.trial_by_id(id)) return {201, {{"Content-Type", "application/json"}}, {}};
  auto optimization = text_field(body, "optimization_id");
  std::optional<store::run_record> run;
  if (optimization.empty()) {
    // An experiment of no optimization (an SDK's evaluate()): kept under a holder of its own.
    if (text_field(body, "dataset_name").empty()) return errors_response(422, {"dataset_name must not be blank"});
    run = experiment_holder(id, body);
    db_.insert_run(*run);
  } else {
    run = db_.find_run(optimization);
    if (!run || run->id != optimization || !run->kind.empty())
      return errors_response(422, {"optimization_id names no optimization optd has"});
  }
  store::trial_record t;
  t.id = id;
  t.run_id = run->id;
  t.number = static_cast<int>(db_.trials(run->id).size()) + 1;
  t.type = "regular";  // Opik's default when a client names none
  t.origin = t.type;
  t.prompt_json = "[]";
  if (auto refused = apply_experiment_fields(t, body)) return std::move(*refused);
  if (!run->kind.empty()) {  // neither a trial's name nor optd's trial metadata
    if (t.name.empty()) t.name = "experiment-" + id.substr(id.size() - 8);
    if (t.metadata_json.empty()) t.metadata_json = "{}";
  }
  t.status = "completed";
  t.started_ms = t.ended_ms = clock_.now_ms();
  db_.insert_trial(t);
  refresh_run(run->id);
  return {201, {{"Content-Type", "application/json"}}, {}};
}

store::run_record writes_api::experiment_holder(const std::string& experiment_id, const nlohmann::json& body) {
  store::run_record r;
  r.id = core::derived_uuid_v7(experiment_id, "experiment holder");
  r.kind = "experiment";
  r.name = text_field(body, "name");
  r.status = core::run_status::completed;
  r.dataset_name = text_field(body, "dataset_name");
  r.project_name = text_field(body, "project_name");
  r.spec_json = "{}";
  r.created_ms = r.started_ms = r.ended_ms = r.updated_ms = clock_.now_ms();
  return r;
}

http_response writes_api::update_experiment(const std::string& id, const nlohmann::json& body) {
  auto t = db_.trial_by_id(id);
  if (!t) return error_response(404, "Experiment not found");
  if (auto refused = apply_experiment_fields(*t, body)) return std::move(*refused);
  db_.update_trial_details(*t);
  refresh_run(t->run_id);
  return no_content();
}

http_response writes_api::traces(const nlohmann::json& body) {
  const auto* list = list_of(body, "traces");
  if (!list) return errors_response(422, {"traces must not be empty"});
  auto now = clock_.now_ms();
  std::set<std::string> received;
  for (const auto& t : *list) {
    if (!t.is_object() || !t.contains("id") || !t["id"].is_string()) return errors_response(422, {"every trace needs an id"});
    store::received_trace r;
    r.id = t["id"].get<std::string>();
    r.start_ms = time_of(t, "start_time", now);
    r.end_ms = time_of(t, "end_time", r.start_ms);
    r.output = output_of(t).value_or("");
    r.failed = t.contains("error_info") && !t["error_info"].is_null();
    db_.receive_trace(r);
    received.insert(r.id);
    tag(r.id, t);
  }
  relink(received);
  return no_content();
}

void writes_api::tag(const std::string& trace_id, const nlohmann::json& trace) {
  if (!trace.contains("tags") || !trace["tags"].is_array()) return;
  for (const auto& tag : trace["tags"])
    if (tag.is_string())
      if (auto run = db_.find_run(tag.get<std::string>()); run && run->id == tag.get<std::string>())
        if (!db_.trace_linked(trace_id)) db_.tag_received_trace(trace_id, run->id);
}

http_response writes_api::update_trace(const std::string& id, const nlohmann::json& body) {
  std::optional<std::int64_t> end;
  if (body.contains("end_time") && body["end_time"].is_string()) {
    end = core::parse_iso8601(body["end_time"].get<std::string>());
    if (!end) return error_response(400, "Unable to process JSON: end_time is not an ISO-8601 instant");
  }
  std::optional<bool> failed;
  if (body.contains("error_info")) failed = !body["error_info"].is_null();
  db_.patch_received_trace(id, end, output_of(body), failed, clock_.now_ms());
  tag(id, body);
  relink({id});
  return no_content();
}

http_response writes_api::update_span(const std::string& id, const nlohmann::json& body) {
  if (!body.contains("trace_id") || !body["trace_id"].is_string())
    return errors_response(422, {"trace_id must not be null"});
  auto trace = body["trace_id"].get<std::string>();
  db_.patch_received_span(id, trace, cost_of(body), tokens_of(body));
  if (auto run = db_.tagged_run(trace)) refresh_run(*run);
  relink({trace});
  return no_content();
}

http_response writes_api::spans(const nlohmann::json& body) {
  const auto* list = list_of(body, "spans");
  if (!list) return errors_response(422, {"spans must not be empty"});
  std::set<std::string> runs, traces;  // whose optimizer calls these spans cost; whose items they are
  for (const auto& s : *list) {
    if (!s.is_object() || !s.contains("id") || !s.contains("trace_id")) return errors_response(422, {"every span needs id and trace_id"});
    db_.receive_span(text_field(s, "id"), text_field(s, "trace_id"), cost_of(s).value_or(0.0), tokens_of(s).value_or(core::token_usage{}));
    if (auto run = db_.tagged_run(text_field(s, "trace_id"))) runs.insert(*run);
    traces.insert(text_field(s, "trace_id"));
  }
  for (const auto& id : runs) refresh_run(id);
  relink(traces);
  return no_content();
}

http_response writes_api::scores(const nlohmann::json& body) {
  const auto* list = list_of(body, "scores");
  if (!list) return errors_response(422, {"scores must not be empty"});
  std::set<std::string> traces;
  for (const auto& s : *list) {
    if (!s.is_object() || !s.contains("id") || !s.contains("name") || !s.contains("value") || !s["value"].is_number())
      return errors_response(422, {"every score needs id, name and a numeric value"});
    db_.receive_score(text_field(s, "id"), text_field(s, "name"), s["value"].get<double>(), text_field(s, "reason"));
    traces.insert(text_field(s, "id"));
  }
  relink(traces);
  return no_content();
}

http_response writes_api::items(const nlohmann::json& body) {
  const auto* list = list_of(body, "experiment_items");
  if (!list) return errors_response(422, {"experiment_items must not be empty"});
  std::map<std::string, store::trial_record> touched;
  for (const auto& it : *list) {
    if (!it.is_object() || !it.contains("experiment_id") || !it.contains("trace_id") || !it.contains("dataset_item_id"))
      return errors_response(422, {"every item needs experiment_id, dataset_item_id and trace_id"});
    auto id = text_field(it, "id");
    if (id.empty()) id = ids_.next(static_cast<std::uint64_t>(clock_.now_ms()));
    if (db_.evaluation_by_id(id)) continue;  // already linked
    auto trial = db_.trial_by_id(text_field(it, "experiment_id"));
    if (!trial) return error_response(404, "Experiment not found: " + text_field(it, "experiment_id"));
    auto run = db_.find_run(trial->run_id);
    store::evaluation_record e;
    e.id = id;
    e.run_id = trial->run_id;
    e.trial_id = trial->id;
    e.item_id = text_field(it, "dataset_item_id");
    e.trace_id = text_field(it, "trace_id");
    e.created_ms = e.completed_ms = clock_.now_ms();
    db_.untag_received_trace(e.trace_id);  // an evaluation's cost counts with its trial
    fill_from_trace(e, db_.received(e.trace_id), run ? run->objective_name : "");
    db_.begin_evaluations({&e});
    touched.emplace(trial->id, *trial);
  }
  for (auto& [id, trial] : touched) refresh_trial(trial);
  return no_content();
}

void writes_api::relink(const std::set<std::string>& trace_ids) {
  std::map<std::string, store::trial_record> touched;
  std::map<std::string, std::string> objectives;  // run id → objective name
  for (const auto& trace_id : trace_ids) {
    auto linked = db_.evaluations_of_trace(trace_id);
    if (linked.empty()) continue;
    auto trace = db_.received(trace_id);
    for (auto& e : linked) {
      auto [it, fresh] = objectives.try_emplace(e.run_id);
      if (fresh)
        if (auto run = db_.find_run(e.run_id)) it->second = run->objective_name;
      fill_from_trace(e, trace, it->second);
      db_.replace_evaluation(e);
      if (!touched.count(e.trial_id))
        if (auto trial = db_.trial_by_id(e.trial_id)) touched.emplace(e.trial_id, std::move(*trial));
    }
  }
  for (auto& [id, trial] : touched) refresh_trial(trial);
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
  auto agg = core::compute_aggregates(store::trial_stats(trials, run->objective_name));
  run->best_trial_id = agg.best_trial_id;
  run->baseline_score = agg.baseline_objective_score;
  run->best_score = agg.best_objective_score;
  run->updated_ms = clock_.now_ms();
  db_.update_run(*run);
}

}  // namespace optd::api
