#include "opik/opik_json.hpp"

#include <algorithm>
#include <map>

#include "core/aggregates.hpp"
#include "core/uuid.hpp"

namespace optd::opik {

std::string project_id_of(const std::string& project_name) {
  return core::derived_uuid_v7("00000000-0000-7000-8000-000000000000", "project:" + project_name);
}

bool in_project(const std::string& project_name, std::string_view project_id) {
  return !project_name.empty() && project_id_of(project_name) == project_id;
}

nlohmann::json optimization_json(const store::run_record& run, const std::vector<store::trial_record>& trials,
                                 const std::vector<std::pair<std::string, double>>& metric_means,
                                 const std::string& dataset_id) {
  auto agg = core::compute_aggregates(store::trial_stats(trials, run.objective_name));

  // Opik's maxMap over the experiments of each one's per-name mean: of the trace scores (the
  // objective among them) and of the experiment-level scores.
  auto feedback = nlohmann::json::array();
  for (const auto& [name, value] : metric_means) feedback.push_back({{"name", name}, {"value", value}});
  std::optional<double> best_mean;
  std::map<std::string, double> experiment_scores;
  for (const auto& t : trials) {
    if (t.score) best_mean = std::max(best_mean.value_or(*t.score), *t.score);
    for (const auto& s : store::parse_scores(t.experiment_scores_json)) {
      auto [it, fresh] = experiment_scores.try_emplace(s.name, s.value);
      if (!fresh) it->second = std::max(it->second, s.value);
    }
  }
  if (best_mean && std::none_of(metric_means.begin(), metric_means.end(),
                                [&](const auto& m) { return m.first == run.objective_name; }))
    feedback.push_back({{"name", run.objective_name}, {"value", *best_mean}});
  auto experiment_scores_json = nlohmann::json::array();
  for (const auto& [name, value] : experiment_scores) experiment_scores_json.push_back({{"name", name}, {"value", value}});

  nlohmann::json j = {{"id", run.id},
                      {"name", run.name},
                      {"dataset_name", run.dataset_name},
                      {"objective_name", run.objective_name},
                      {"status", core::to_string(run.status)},
                      {"metadata", nlohmann::json::parse(run.metadata_json.empty() ? "{}" : run.metadata_json, nullptr, false)},
                      {"num_trials", static_cast<long long>(trials.size())},
                      {"feedback_scores", feedback},
                      {"experiment_scores", std::move(experiment_scores_json)},
                      {"created_at", core::iso8601(run.created_ms)},
                      {"created_by", "optd"},
                      {"last_updated_at", core::iso8601(std::max({run.created_ms, run.updated_ms, run.ended_ms}))},
                      {"last_updated_by", "optd"},
                      {"total_optimization_cost", run.cost_usd}};
  // Opik leaves out what it does not have (its mapper writes no nulls), and its UI tests for
  // absence: a null would be formatted instead of shown as "-".
  for (const auto& [name, value] : {std::pair{"baseline_objective_score", agg.baseline_objective_score},
                                    {"best_objective_score", agg.best_objective_score},
                                    {"baseline_duration", agg.baseline_duration},
                                    {"best_duration", agg.best_duration},
                                    {"baseline_cost", agg.baseline_cost},
                                    {"best_cost", agg.best_cost}})
    if (value) j[name] = *value;
  if (j["feedback_scores"].empty()) j.erase("feedback_scores");
  if (j["experiment_scores"].empty()) j.erase("experiment_scores");
  if (j["metadata"].is_discarded()) j["metadata"] = nlohmann::json::object();
  if (!dataset_id.empty()) j["dataset_id"] = dataset_id;
  if (!run.project_name.empty()) j["project_id"] = project_id_of(run.project_name);
  if (!run.studio_config_json.empty()) {
    auto sc = nlohmann::json::parse(run.studio_config_json, nullptr, false);
    if (!sc.is_discarded()) j["studio_config"] = sc;
  }
  if (auto info = error_info_json(run); !info.is_null()) j["error_info"] = std::move(info);
  return j;
}

nlohmann::json studio_config_json(const core::run_spec& spec) {
  nlohmann::json llm = {{"model", spec.llm_model.model}, {"parameters", spec.llm_model.parameters}};
  if (!spec.llm_model.provider.empty()) llm["provider"] = spec.llm_model.provider;
  auto metrics = nlohmann::json::array();
  for (const auto& m : spec.metrics) {
    nlohmann::json metric = {{"type", m.type}, {"parameters", m.parameters}};
    if (m.weight) metric["weight"] = *m.weight;
    metrics.push_back(std::move(metric));
  }
  auto parameters = spec.optimizer.parameters.is_object() ? spec.optimizer.parameters : nlohmann::json::object();
  if (!spec.optimizer.model.empty()) parameters["model"] = spec.optimizer.model;
  if (!spec.optimizer.model_parameters.empty()) parameters["model_parameters"] = spec.optimizer.model_parameters;
  if (!spec.optimizer.provider.empty()) parameters["provider"] = spec.optimizer.provider;
  return {{"dataset_name", spec.dataset_name},
          {"prompt", {{"messages", core::to_json(spec.prompt)}}},
          {"llm_model", std::move(llm)},
          {"evaluation", {{"metrics", std::move(metrics)}}},
          {"optimizer", {{"type", spec.optimizer.type}, {"parameters", std::move(parameters)}}}};
}

std::string experiment_name(const store::run_record& run, const store::trial_record& t) {
  return t.name.empty() ? run.name + "-trial-" + std::to_string(t.number) : t.name;
}

nlohmann::json experiment_metadata(const store::run_record& run, const store::trial_record& t) {
  auto metadata = nlohmann::json::parse(t.metadata_json.empty() ? "null" : t.metadata_json, nullptr, false);
  if (metadata.is_object()) return metadata;
  auto prompt = nlohmann::json::parse(t.prompt_json.empty() ? "[]" : t.prompt_json, nullptr, false);
  auto spec = nlohmann::json::parse(run.spec_json.empty() ? "{}" : run.spec_json, nullptr, false);
  auto optimizer = spec.is_object() && spec.contains("optimizer") ? spec["optimizer"].value("type", "") : "";
  return {{"optimizer", optimizer}, {"trial", t.number}, {"origin", t.origin}, {"configuration", {{"prompt", prompt}}}};
}

nlohmann::json error_info_json(const store::run_record& run) {
  if (!run.error_info_json.empty()) {
    auto info = nlohmann::json::parse(run.error_info_json, nullptr, false);
    if (info.is_object()) return info;
  }
  if (run.status != core::run_status::error || run.error.empty()) return nullptr;
  return {{"exception_type", "OptimizationError"}, {"message", run.error}, {"traceback", run.error}};
}

nlohmann::json dataset_item_json(const core::dataset_item& item, const std::string& dataset_id) {
  return {{"id", item.id}, {"source", "sdk"}, {"data", item.data}, {"dataset_id", dataset_id}};
}

nlohmann::json columns_json(const std::set<std::string>& keys) {
  auto cols = nlohmann::json::array();
  for (const auto& c : keys) cols.push_back({{"name", c}, {"types", nlohmann::json::array({"string"})}});
  return cols;
}

nlohmann::json page_body(long long page, nlohmann::json content, std::size_t total, nlohmann::json sortable_by) {
  auto size = content.size();
  return {{"page", page}, {"size", size}, {"total", total}, {"content", std::move(content)},
          {"sortable_by", std::move(sortable_by)}};
}

nlohmann::json error_body(unsigned code, std::string message) { return {{"code", code}, {"message", std::move(message)}}; }

nlohmann::json errors_body(std::vector<std::string> errors) { return {{"errors", std::move(errors)}}; }

}  // namespace optd::opik
