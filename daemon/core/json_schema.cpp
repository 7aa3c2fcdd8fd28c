#include "core/json_schema.hpp"

#include <optional>

#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

namespace optd::core {

struct json_schema::impl {
  nlohmann::json source;  // the adapter's nodes point into it
  valijson::Schema schema;
  std::optional<bool> constant;  // a boolean schema: everything valid, or nothing
};

json_schema::json_schema(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
json_schema::~json_schema() = default;
json_schema::json_schema(json_schema&&) noexcept = default;
json_schema& json_schema::operator=(json_schema&&) noexcept = default;

boost::system::result<json_schema, std::string> json_schema::compile(const nlohmann::json& schema, draft d) {
  if (!schema.is_object() && !schema.is_boolean()) return std::string("a schema must be an object (or true or false)");
  auto p = std::make_unique<impl>();
  if (schema.is_boolean()) {  // valijson takes `false` at the root for `true`
    p->constant = schema.get<bool>();
    return json_schema(std::move(p));
  }
  bool four = d == draft::draft4 ||
              (d == draft::detect && schema.contains("$schema") && schema["$schema"].is_string() &&
               schema["$schema"].get<std::string>().find("draft-04") != std::string::npos);
  auto version = four ? valijson::SchemaParser::kDraft4 : valijson::SchemaParser::kDraft7;
  p->source = schema;
  try {
    valijson::SchemaParser parser(version);
    valijson::adapters::NlohmannJsonAdapter adapter(p->source);
    parser.populateSchema(adapter, p->schema);
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return json_schema(std::move(p));
}

std::vector<std::string> json_schema::violations(const nlohmann::json& document) const {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(document);
  std::vector<std::string> out;
  if (impl_->constant) {
    if (!*impl_->constant) out.push_back("<root>: the schema is false: nothing is valid");
    return out;
  }
  if (validator.validate(impl_->schema, target, &results)) return out;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string where;
    for (const auto& part : error.context) where += part;
    out.push_back((where.empty() ? "<root>" : where) + ": " + error.description);
  }
  return out;
}

}  // namespace optd::core
