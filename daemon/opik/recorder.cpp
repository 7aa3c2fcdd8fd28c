#include "opik/recorder.hpp"

#include "core/digest.hpp"
#include "core/iso8601.hpp"
#include "core/uuid.hpp"
#include "opik/opik_json.hpp"

namespace optd::opik {

namespace {

// Opik's bulk endpoints take at most 4 MB a body: a batch ends at 200 entries or at about 3 MB
// of them (`size_of(i)` estimates entry i's share), whichever comes first; one entry always fits.
constexpr std::size_t batch = 200;
constexpr std::size_t batch_bytes = 3'000'000;
// During a trial, finished evaluations are sent at least this often (run time), so that Opik sees
// progress long before its stalled-run check (1 h without a new experiment or item).
constexpr std::int64_t progress_interval_ms = 60'000;

template <class SizeOf>
std::size_t batch_end(std::size_t first, std::size_t n, SizeOf size_of) {
  std::size_t last = first, bytes = 0;
  while (last < n && last - first < batch && (last == first || bytes + size_of(last) <= batch_bytes))
    bytes += size_of(last++);
  return last;
}

store::outbox_message message(const std::string& run_id, std::string method, std::string path,
                              const nlohmann::json& body) {
  return {0, run_id, std::move(method), std::move(path), body.dump(), 0, 0, {}};
}

// One call of a model as an LLM span of `trace_id`: what it was asked, what it answered, usage, cost.
nlohmann::json llm_span(const store::llm_call_record& call, const std::string& trace_id, const std::string& project,
                        std::string_view name) {
  auto request = nlohmann::json::parse(call.request_json, nullptr, false);
  if (!request.is_object()) request = nlohmann::json::object();
  nlohmann::json span = {{"id", core::derived_uuid_v7(call.id, "span")},
                         {"trace_id", trace_id},
                         {"project_name", project},
                         {"name", name},
                         {"type", "llm"},
                         {"model", call.model.empty() ? request.value("model", std::string()) : call.model},
                         {"provider", call.provider},
                         {"start_time", core::iso8601(call.created_ms)},
                         {"end_time", core::iso8601(call.created_ms + call.latency_us / 1000)},
                         {"input", {{"messages", request.value("messages", nlohmann::json::array())}}},
                         {"output", {{"content", call.response}}},
                         {"metadata", {{"purpose", call.purpose}}},
                         {"usage", {{"prompt_tokens", call.tokens.prompt_tokens},
                                    {"completion_tokens", call.tokens.completion_tokens},
                                    {"total_tokens", call.tokens.total()}}},
                         {"total_estimated_cost", call.cost_usd}};
  if (!call.error.empty()) span["error_info"] = {{"exception_type", "LLMCallError"}, {"message", call.error}};
  return span;
}

}  // namespace

void recorder::enqueue(std::vector<store::outbox_message> messages) {
  db_.enqueue(messages, clock_.now_ms());
  if (queued_) queued_();
}

void recorder::run_started(const store::run_record& run, const core::run_spec& spec) {
  auto& r = runs_[run.id] = run_info{};
  r.last_write_ms = clock_.now_ms();
  r.project = !run.project_name.empty() ? run.project_name : !spec.project_name.empty() ? spec.project_name : project_;
  r.optimizer = spec.optimizer.type;
  r.model = spec.llm_model.model;
  r.provider = spec.llm_model.provider.empty() ? "openai" : spec.llm_model.provider;
  r.reasoning_provider = spec.optimizer.provider.empty() ? r.provider : spec.optimizer.provider;
  r.objective = run.objective_name;
  std::vector<core::dataset_item> dataset = db_.dataset_items(run.dataset_name).value_or(std::vector<core::dataset_item>{});
  for (const auto& it : dataset) r.items.emplace(it.id, it.data);
  std::vector<store::outbox_message> out;
  // A dataset optd has from elsewhere (a file, its own API) goes to Opik too, with optd's item
  // ids, so that the experiment items link to it; one read from Opik is Opik's already, and one
  // sent before (the outbox delivers what it holds) is not sent again until its content changes.
  auto digest = core::fnv1a_basis;
  for (const auto& it : dataset) digest = core::fnv1a(it.data.dump(), core::fnv1a(it.id, digest));
  auto content = core::digest_hex(digest);
  bool send_dataset = !db_.dataset_from_opik(run.dataset_name) && !db_.dataset_sent(destination_, run.dataset_name, content);
  if (send_dataset) {
    auto size_of = [&](std::size_t i) { return dataset[i].data.dump().size() + 128; };
    for (std::size_t first = 0, last = 0; first < dataset.size(); first = last) {
      last = batch_end(first, dataset.size(), size_of);
      auto items = nlohmann::json::array();
      for (std::size_t i = first; i < last; ++i)
        items.push_back({{"id", dataset[i].id}, {"source", "sdk"}, {"data", dataset[i].data}});
      out.push_back(message(run.id, "PUT", "/v1/private/datasets/items",
                            {{"dataset_name", run.dataset_name}, {"project_name", r.project}, {"items", items}}));
    }
  }

  // The run's metadata as the store has it: people's, with the optimizer and optd's version.
  auto stored = db_.find_run(run.id);
  auto metadata = nlohmann::json::parse(stored && !stored->metadata_json.empty() ? stored->metadata_json : "{}",
                                        nullptr, false);
  if (!metadata.is_object()) metadata = nlohmann::json::object();
  out.push_back(message(run.id, "POST", "/v1/private/optimizations",
                        {{"id", run.id},
                         {"name", run.name},
                         {"dataset_name", run.dataset_name},
                         {"project_name", r.project},
                         {"objective_name", run.objective_name},
                         {"status", "running"},
                         {"metadata", metadata}}));
  // When Opik has the optimization already (a run submitted with the id of an Opik record, or a
  // resumed one), the create is a 409 and this sets it running: optd adopts the record.
  out.push_back(message(run.id, "PUT", "/v1/private/optimizations/" + run.id, {{"status", "running"}}));
  enqueue(std::move(out));
  // Marked once queued: a crash in between sends it again, which Opik takes as the same items.
  if (send_dataset) db_.mark_dataset_sent(destination_, run.dataset_name, content);
}

void recorder::evaluation_finished(const store::run_record& run, const store::evaluation_record& evaluation) {
  auto& r = runs_[run.id];
  auto& ti = r.trials[evaluation.trial_id];
  if (ti.written.count(evaluation.id)) return;
  ti.unwritten.push_back(evaluation);
  if (ti.unwritten.size() < batch && clock_.now_ms() - r.last_write_ms < progress_interval_ms) return;
  if (auto trial = db_.trial_by_id(evaluation.trial_id)) write_evaluations(run, *trial, r, ti);
}

void recorder::trial_finished(const store::run_record& run, const store::trial_record& trial) {
  auto& r = runs_[run.id];
  auto& ti = r.trials[trial.id];
  ti.unwritten.clear();  // the store has them all, replayed ones included
  for (auto& e : db_.evaluations(trial.id))
    if (store::is_finished(e) && !ti.written.count(e.id)) ti.unwritten.push_back(std::move(e));
  write_evaluations(run, trial, r, ti);
  r.trials.erase(trial.id);
}

void recorder::write_evaluations(const store::run_record& run, const store::trial_record& trial, run_info& r,
                                 trial_info& ti) {
  std::vector<store::outbox_message> out;
  if (!ti.created) {
    ti.created = true;
    out.push_back(message(run.id, "POST", "/v1/private/experiments",
                          {{"id", trial.id},
                           {"name", experiment_name(run, trial)},
                           {"dataset_name", run.dataset_name},
                           {"project_name", r.project},
                           {"type", trial.type},
                           {"optimization_id", run.id},
                           {"metadata", experiment_metadata(run, trial)}}));
  }
  std::vector<store::evaluation_record> done = std::move(ti.unwritten);
  ti.unwritten.clear();
  for (const auto& e : done) ti.written.insert(e.id);
  r.last_write_ms = clock_.now_ms();
  auto input_of = [&r](const std::string& item) {
    auto it = r.items.find(item);
    return it == r.items.end() ? nlohmann::json::object() : it->second;
  };
  // The judges' calls of these evaluations: spans of their traces, as Opik's SDK records a judge.
  std::map<std::string, std::vector<store::llm_call_record>> judged;
  if (std::any_of(done.begin(), done.end(), [](const auto& e) { return e.judge_calls > 0; }))
    for (auto& call : db_.judge_calls(trial.id))
      if (call.status == "answered") judged[call.evaluation_id].push_back(std::move(call));
  auto size_of = [&](std::size_t i) {
    std::size_t judges = 0;
    if (auto it = judged.find(done[i].id); it != judged.end())
      for (const auto& c : it->second) judges += c.request_json.size() + c.response.size() + 1024;
    return done[i].output.size() + input_of(done[i].item_id).dump().size() + 2048 + judges;
  };
  for (std::size_t first = 0, last = 0; first < done.size(); first = last) {
    last = batch_end(first, done.size(), size_of);
    auto traces = nlohmann::json::array(), spans = nlohmann::json::array(), scores = nlohmann::json::array(),
         items = nlohmann::json::array();
    for (std::size_t i = first; i < last; ++i) {
      const auto& e = done[i];
      auto trace_id = store::trace_id_of(e);
      auto started = store::call_started_ms(e);
      auto start = core::iso8601(started), end = core::iso8601(std::max(started, e.completed_ms));
      const auto judges = judged.find(e.id);
      auto trace_end = std::max(started, e.completed_ms);
      if (judges != judged.end())
        for (const auto& c : judges->second) trace_end = std::max(trace_end, c.created_ms + c.latency_us / 1000);
      auto input = input_of(e.item_id);
      nlohmann::json trace = {{"id", trace_id},
                              {"project_name", r.project},
                              {"name", "evaluation_task"},
                              {"start_time", start},
                              {"end_time", core::iso8601(trace_end)},
                              {"input", input},
                              {"output", {{"llm_output", e.output}}},
                              {"tags", {run.id, "Evaluation"}},
                              {"source", "optimization"}};
      if (e.status == "failed")
        trace["error_info"] = {{"exception_type", "LLMCallError"}, {"message", e.error}, {"traceback", e.error}};
      traces.push_back(std::move(trace));
      spans.push_back({{"id", core::derived_uuid_v7(e.id, "span")},
                       {"trace_id", trace_id},
                       {"project_name", r.project},
                       {"name", "llm"},
                       {"type", "llm"},
                       {"model", r.model},
                       {"provider", r.provider},
                       {"start_time", start},
                       {"end_time", end},
                       {"usage", {{"prompt_tokens", e.tokens.prompt_tokens},
                                  {"completion_tokens", e.tokens.completion_tokens},
                                  {"total_tokens", e.tokens.total()}}},
                       {"total_estimated_cost", e.cost_usd}});
      if (judges != judged.end())
        for (const auto& c : judges->second) {
          auto span = llm_span(c, trace_id, r.project, "judge");
          if (c.provider.empty()) span["provider"] = r.provider;  // the task's provider, named as its span names it
          spans.push_back(std::move(span));
        }
      for (const auto& s : store::trace_scores(e, r.objective)) {
        nlohmann::json score = {{"id", trace_id}, {"name", s.name}, {"value", s.value}, {"source", "sdk"},
                                {"project_name", r.project}};
        if (!s.reason.empty()) score["reason"] = s.reason;
        scores.push_back(std::move(score));
      }
      items.push_back({{"id", e.id}, {"experiment_id", trial.id}, {"dataset_item_id", e.item_id},
                       {"trace_id", trace_id}, {"project_name", r.project}});
    }
    out.push_back(message(run.id, "POST", "/v1/private/traces/batch", {{"traces", traces}}));
    out.push_back(message(run.id, "POST", "/v1/private/spans/batch", {{"spans", spans}}));
    if (!scores.empty())
      out.push_back(message(run.id, "PUT", "/v1/private/traces/feedback-scores", {{"scores", scores}}));
    out.push_back(message(run.id, "POST", "/v1/private/experiments/items", {{"experiment_items", items}}));
  }
  enqueue(std::move(out));
}

void recorder::reasoning_call(const store::run_record& run, const store::llm_call_record& call) {
  auto& r = runs_[run.id];
  auto request = nlohmann::json::parse(call.request_json, nullptr, false);
  if (!request.is_object()) request = nlohmann::json::object();
  auto trace_id = core::derived_uuid_v7(call.id, "trace");
  auto start = core::iso8601(call.created_ms), end = core::iso8601(call.created_ms + call.latency_us / 1000);
  nlohmann::json trace = {{"id", trace_id},
                          {"project_name", r.project},
                          {"name", call.purpose == "judge setup" ? "judge_setup" : "optimizer_reasoning"},
                          {"start_time", start},
                          {"end_time", end},
                          {"input", {{"messages", request.value("messages", nlohmann::json::array())}}},
                          {"output", {{"llm_output", call.response}}},
                          {"tags", {run.id, "Reasoning"}},
                          {"metadata", {{"optimizer", r.optimizer}, {"purpose", call.purpose}}},
                          {"source", "optimization"}};
  if (!call.error.empty())
    trace["error_info"] = {{"exception_type", "LLMCallError"}, {"message", call.error}, {"traceback", call.error}};
  auto span = llm_span(call, trace_id, r.project, "llm");
  if (span["provider"] == "") span["provider"] = r.reasoning_provider;
  enqueue({message(run.id, "POST", "/v1/private/traces/batch", {{"traces", nlohmann::json::array({trace})}}),
           message(run.id, "POST", "/v1/private/spans/batch", {{"spans", nlohmann::json::array({span})}})});
}

void recorder::run_finished(const store::run_record& run) {
  nlohmann::json body = {{"status", core::to_string(run.status)}};
  if (auto info = error_info_json(run); !info.is_null()) body["error_info"] = std::move(info);
  enqueue({message(run.id, "PUT", "/v1/private/optimizations/" + run.id, body)});
  runs_.erase(run.id);
}

}  // namespace optd::opik
