#include "plugins/registry.hpp"

#include "plugins/metrics/code_metric.hpp"
#include "plugins/metrics/heuristic_metrics.hpp"
#include "plugins/metrics/judge_metrics.hpp"
#include "plugins/optimizers/evolutionary.hpp"
#include "plugins/optimizers/gepa.hpp"
#include "plugins/optimizers/hierarchical_reflective.hpp"
#include "plugins/optimizers/meta_prompt.hpp"

namespace optd::plugins {

std::unique_ptr<core::evaluation_metric> make_metric(const core::metric_spec& spec, const core::run_spec& run,
                                                     const std::vector<core::dataset_item>& dataset,
                                                     const metric_services& services) {
  // A null parameter bag (JSON `"parameters": null`) means no parameters.
  static const nlohmann::json none = nlohmann::json::object();
  const auto& p = spec.parameters.is_object() ? spec.parameters : none;
  if (spec.type == "equals") return make_equals(p);
  if (spec.type == "contains") return make_contains(p);
  if (spec.type == "regex_match") return make_regex_match(p);
  if (spec.type == "levenshtein_ratio") return make_levenshtein_ratio(p);
  if (spec.type == "numerical_similarity") return make_numerical_similarity(p, dataset);
  if (spec.type == "is_json") return make_is_json(p);
  if (spec.type == "geval") return make_geval(p, run);
  if (spec.type == "json_schema_validator") return make_json_schema_validator(p, run);
  if (spec.type == "json_schema") return make_json_schema(p);
  if (spec.type == "code") return make_code_metric(p, spec.score_name(), services.code_sandbox);
  return nullptr;
}

std::unique_ptr<core::optimizer> make_optimizer(const core::run_spec& spec) {
  const auto& type = spec.optimizer.type;
  if (type == "meta_prompt") return std::make_unique<meta_prompt>(meta_prompt_settings::from(spec.optimizer, spec.llm_model.model));
  if (type == "gepa") return std::make_unique<gepa>(gepa_settings::from(spec));
  if (type == "hierarchical_reflective")
    return std::make_unique<hierarchical_reflective>(hierarchical_reflective_settings::from(spec));
  if (type == "evolutionary") return std::make_unique<evolutionary>(evolutionary_settings::from(spec));
  return nullptr;
}

}  // namespace optd::plugins
