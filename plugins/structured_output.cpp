#include "plugins/structured_output.hpp"

namespace optd::plugins {

nlohmann::json string_schema() { return {{"type", "string"}}; }

nlohmann::json object_schema(nlohmann::json properties) {
  auto required = nlohmann::json::array();
  for (auto it = properties.begin(); it != properties.end(); ++it) required.push_back(it.key());
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)},
          {"additionalProperties", false}};
}

nlohmann::json messages_schema() {
  return {{"type", "array"}, {"items", object_schema({{"role", string_schema()}, {"content", string_schema()}})}};
}

nlohmann::json response_format(std::string name, nlohmann::json properties) {
  return {{"type", "json_schema"},
          {"json_schema", {{"name", std::move(name)}, {"schema", object_schema(std::move(properties))}, {"strict", true}}}};
}

}  // namespace optd::plugins
