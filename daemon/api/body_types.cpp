#include "api/body_types.hpp"

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/responses.hpp"
#include "core/json_schema.hpp"

namespace optd::api {
namespace {

using nlohmann::json;

json nullable(const char* type) { return {{"type", {type, "null"}}}; }
json text() { return nullable("string"); }
json whole() { return nullable("integer"); }
json number() { return nullable("number"); }
json object() { return nullable("object"); }

json fields(std::initializer_list<std::pair<const std::string, json>> properties) {
  auto by_name = json::object();
  for (const auto& [name, type] : properties) by_name[name] = type;
  return {{"type", {"object", "null"}}, {"properties", std::move(by_name)}};
}
json list_of(const json& item) { return {{"type", {"array", "null"}}, {"items", item}}; }

const json usage = fields({{"prompt_tokens", whole()}, {"completion_tokens", whole()}, {"total_tokens", whole()}});
const json experiment = fields({{"id", text()},
                                {"name", text()},
                                {"dataset_name", text()},
                                {"dataset_id", text()},
                                {"optimization_id", text()},
                                {"type", text()},
                                {"metadata", object()},
                                {"experiment_scores", list_of(fields({{"name", text()}, {"value", number()}}))}});
const json span = fields({{"id", text()}, {"trace_id", text()}, {"usage", usage}, {"total_estimated_cost", number()}});
const json trace = fields({{"id", text()},
                           {"start_time", text()},
                           {"end_time", text()},
                           {"tags", list_of(text())},
                           {"error_info", object()}});

const json optimization = fields({{"id", text()},
                                  {"name", text()},
                                  {"dataset_name", text()},
                                  {"dataset_id", text()},
                                  {"objective_name", text()},
                                  {"status", text()},
                                  {"project_name", text()},
                                  {"project_id", text()},
                                  {"metadata", object()},
                                  {"studio_config", object()}});

struct body_type {
  std::string_view method;
  std::string_view path;  // under /api/v1/private; "*" is one path segment (an id)
  json schema;
};

const std::vector<body_type>& body_types() {
  static const std::vector<body_type> table{
      {"POST", "/optimizations", optimization},
      {"PUT", "/optimizations", optimization},
      {"PUT", "/optimizations/*", fields({{"name", text()}, {"status", text()}, {"metadata", object()}, {"error_info", object()}})},
      {"POST", "/optimizations/delete", fields({{"ids", list_of(text())}})},
      {"POST", "/experiments", experiment},
      {"PATCH", "/experiments/*", experiment},
      {"POST", "/experiments/items",
       fields({{"experiment_items", list_of(fields({{"id", text()},
                                                    {"experiment_id", text()},
                                                    {"dataset_item_id", text()},
                                                    {"trace_id", text()}}))}})},
      {"POST", "/experiments/items/stream",
       fields({{"experiment_name", text()}, {"limit", whole()}, {"last_retrieved_id", text()}})},
      {"POST", "/traces/batch", fields({{"traces", list_of(trace)}})},
      {"PATCH", "/traces/*", trace},
      {"POST", "/spans/batch", fields({{"spans", list_of(span)}})},
      {"PATCH", "/spans/*", span},
      {"PUT", "/traces/feedback-scores",
       fields({{"scores", list_of(fields({{"id", text()}, {"name", text()}, {"value", number()}, {"reason", text()}}))}})},
      {"POST", "/datasets", fields({{"id", text()}, {"name", text()}, {"description", text()}})},
      {"POST", "/datasets/retrieve", fields({{"dataset_name", text()}})},
      {"PUT", "/datasets/items",
       fields({{"dataset_name", text()},
               {"dataset_id", text()},
               {"items", list_of(fields({{"id", text()}, {"data", object()}}))}})},
      {"POST", "/datasets/items/stream",
       fields({{"dataset_name", text()}, {"last_retrieved_id", text()}, {"steam_limit", whole()}})},
  };
  return table;
}

bool matches(std::string_view pattern, std::string_view path) {
  while (!pattern.empty() || !path.empty()) {
    auto p_end = pattern.find('/', 1), t_end = path.find('/', 1);
    auto p = pattern.substr(0, p_end), t = path.substr(0, t_end);
    if (p != t && !(p == "/*" && t.size() > 1)) return false;
    pattern = p_end == std::string_view::npos ? std::string_view() : pattern.substr(p_end);
    path = t_end == std::string_view::npos ? std::string_view() : path.substr(t_end);
    if (pattern.empty() != path.empty()) return false;
  }
  return true;
}

const core::json_schema* schema_for(std::string_view method, std::string_view path) {
  static const auto compiled = [] {
    std::vector<core::json_schema> out;
    for (const auto& t : body_types()) {
      auto schema = core::json_schema::compile(t.schema);
      if (!schema) throw std::logic_error("body type of " + std::string(t.path) + ": " + schema.error());
      out.push_back(std::move(*schema));
    }
    return out;
  }();
  constexpr std::string_view prefix = "/api/v1/private";
  if (path.substr(0, prefix.size()) != prefix) return nullptr;
  path.remove_prefix(prefix.size());
  const auto& table = body_types();
  for (std::size_t i = 0; i < table.size(); ++i)
    if (table[i].method == method && matches(table[i].path, path)) return &compiled[i];
  return nullptr;
}

const json* schema_json_for(std::string_view method, std::string_view path) {
  path.remove_prefix(std::string_view("/api/v1/private").size());
  for (const auto& t : body_types())
    if (t.method == method && matches(t.path, path)) return &t.schema;
  return nullptr;
}

std::string kind_of(const json& value) {
  switch (value.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "a list";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::null: return "null";
    case json::value_t::number_float: return "a number";
    default: return "a whole number";
  }
}

std::string kind_of_type(const std::string& type) {
  if (type == "object") return "an object";
  if (type == "array") return "a list";
  if (type == "string") return "a string";
  if (type == "integer") return "a whole number";
  if (type == "number") return "a number";
  if (type == "boolean") return "a boolean";
  return type;  // "null"
}

// valijson's violations name a place as "<root>[items][0][data]: …"; the deepest one is where the
// wrong type is. Said as Opik's users write it: "items[0].data must be an object or null, not a string".
std::string describe(const json& schema, const json& body, const std::vector<std::string>& violations) {
  std::string deepest;
  for (const auto& v : violations) {
    auto place = v.substr(0, v.find(": "));
    if (place.size() > deepest.size()) deepest = place;
  }
  std::string where;
  const json* s = &schema;
  const json* value = &body;
  for (std::size_t at = deepest.find('['); at != std::string::npos; at = deepest.find('[', at + 1)) {
    auto part = deepest.substr(at + 1, deepest.find(']', at) - at - 1);
    bool index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    if (index) {
      where += "[" + part + "]";
      s = s->contains("items") ? &(*s)["items"] : s;
      value = value->is_array() && std::stoul(part) < value->size() ? &(*value)[std::stoul(part)] : value;
    } else {
      where += (where.empty() ? "" : ".") + part;
      s = s->contains("properties") && (*s)["properties"].contains(part) ? &(*s)["properties"][part] : s;
      value = value->is_object() && value->contains(part) ? &(*value)[part] : value;
    }
  }
  std::string allowed;
  const auto& types = s->contains("type") ? (*s)["type"] : json::array();
  for (std::size_t i = 0; i < types.size(); ++i)
    allowed += (i == 0 ? "" : i + 1 == types.size() ? " or " : ", ") + kind_of_type(types[i].get<std::string>());
  if (where.empty() || allowed.empty()) return violations.front();
  return where + " must be " + allowed + ", not " + kind_of(*value);
}

}  // namespace

std::optional<net::http_response> check_body_types(const net::http_request& req) {
  auto path = std::string_view(req.target).substr(0, req.target.find('?'));
  const auto* schema = schema_for(req.method, path);
  if (schema == nullptr) return std::nullopt;
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  auto problems = schema->violations(body);
  if (problems.empty()) return std::nullopt;
  return error_response(400, "Unable to process JSON: " + describe(*schema_json_for(req.method, path), body, problems));
}

}  // namespace optd::api
