#include "plugins/optimizers/optimizer_settings.hpp"

namespace optd::plugins {

const nlohmann::json& parameters_of(const core::run_spec& spec) {
  static const nlohmann::json none = nlohmann::json::object();
  return spec.optimizer.parameters.is_object() ? spec.optimizer.parameters : none;
}

std::string reasoning_model_of(const core::run_spec& spec) {
  return spec.optimizer.model.empty() ? spec.llm_model.model : spec.optimizer.model;
}

nlohmann::json reasoning_parameters_of(const core::run_spec& spec) {
  return spec.optimizer.model_parameters.is_object() ? spec.optimizer.model_parameters : nlohmann::json::object();
}

std::string reference_key_of(const core::run_spec& spec) {
  for (const auto& m : spec.metrics)
    if (m.parameters.is_object() && m.parameters.contains("reference_key"))
      return m.parameters.value("reference_key", std::string("answer"));
  return "answer";
}

}  // namespace optd::plugins
