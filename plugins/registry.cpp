#include "plugins/registry.hpp"

#include "plugins/metrics/heuristic_metrics.hpp"
#include "plugins/optimizers/meta_prompt.hpp"

namespace optd::plugins {

std::unique_ptr<core::evaluation_metric> make_metric(const core::metric_spec& spec,
                                                     const std::vector<core::dataset_item>& dataset) {
  // A null parameter bag (JSON `"parameters": null`) means no parameters.
  static const nlohmann::json none = nlohmann::json::object();
  const auto& p = spec.parameters.is_object() ? spec.parameters : none;
  if (spec.type == "equals") return make_equals(p);
  if (spec.type == "contains") return make_contains(p);
  if (spec.type == "regex_match") return make_regex_match(p);
  if (spec.type == "levenshtein_ratio") return make_levenshtein_ratio(p);
  if (spec.type == "numerical_similarity") return make_numerical_similarity(p, dataset);
  if (spec.type == "is_json") return make_is_json(p);
  return nullptr;
}

std::unique_ptr<core::optimizer> make_optimizer(const core::optimizer_spec& spec, const std::string& default_model) {
  if (spec.type == "meta_prompt") return std::make_unique<meta_prompt>(meta_prompt_settings::from(spec, default_model));
  return nullptr;
}

}  // namespace optd::plugins
