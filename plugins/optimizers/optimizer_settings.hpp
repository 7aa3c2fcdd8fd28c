#pragma once
// What every optimizer reads of a run's spec besides its own parameters.
#include <string>

#include <nlohmann/json.hpp>

#include "core/run_spec.hpp"

namespace optd::plugins {

// The optimizer's parameters (an empty object when there are none).
const nlohmann::json& parameters_of(const core::run_spec& spec);
// The reasoning model: optimizer.parameters.model, else the task model; and its parameters.
std::string reasoning_model_of(const core::run_spec& spec);
nlohmann::json reasoning_parameters_of(const core::run_spec& spec);
// Where items hold the expected answer: the first metric's reference_key that is set, else "answer".
std::string reference_key_of(const core::run_spec& spec);

}  // namespace optd::plugins
