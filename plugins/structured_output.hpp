#pragma once
// What optimizers and judges ask a model for when they want JSON back: OpenAI's structured
// output (`response_format` with a strict JSON schema). llm-sim reads the schema's fields to know
// what is asked.
#include <string>

#include <nlohmann/json.hpp>

namespace optd::plugins {

// {"type": "string"}
nlohmann::json string_schema();
// An object with exactly these properties, every one required.
nlohmann::json object_schema(nlohmann::json properties);
// A list of {role, content} messages.
nlohmann::json messages_schema();
// The `response_format` parameter for a reply that is an object of `properties`, named `name`.
nlohmann::json response_format(std::string name, nlohmann::json properties);

}  // namespace optd::plugins
