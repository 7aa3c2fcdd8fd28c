#include <map>

#include "core/json_schema.hpp"
#include "plugins/llm_text.hpp"
#include "plugins/metrics/judge_metrics.hpp"
#include "plugins/structured_output.hpp"

namespace optd::plugins {
namespace {

// The validator's guidelines: the structure of Opik's StructuredOutputCompliance prompt, in optd's
// own words.
constexpr std::string_view compliance_instructions =
    "You are an expert validator of structured output. Decide whether the OUTPUT complies with the "
    "EXPECTED STRUCTURE, a JSON schema. The output must be one valid JSON object that matches the schema "
    "exactly: field names, types, nesting and required fields. Without a schema, valid JSON is enough. "
    "Note formatting problems too. Partial compliance is non-compliance: the score is true only when the "
    "output complies fully. Reply with JSON only: {\"score\": true or false, \"reason\": [\"...\"]}.";

std::string schema_text(const nlohmann::json& schema) { return schema.is_string() ? schema.get<std::string>() : schema.dump(2); }

class json_schema_validator final : public core::evaluation_metric {
 public:
  json_schema_validator(const nlohmann::json& p, const core::run_spec& spec)
      : key_(p.value("schema_key", std::string("json_schema"))),
        model_(p.value("model", spec.llm_model.model)),
        provider_(p.value("provider", std::string())) {}
  std::string_view name() const noexcept override { return "json_schema_validator"; }
  bool judges() const noexcept override { return true; }

  boost::asio::awaitable<core::metric_result> judge(core::judge_context& ctx, std::string output,
                                                    const nlohmann::json& item) const override {
    if (!item.is_object() || !item.contains(key_) || item[key_].is_null() || (item[key_].is_string() && item[key_].get<std::string>().empty()))
      co_return core::metric_result{0, "Missing schema in dataset item key '" + key_ + "'"};
    core::chat_request request;
    request.model = model_;
    request.parameters = {{"temperature", 0.0},
                          {"response_format",
                           response_format("StructuredOutputCompliance",
                                           {{"score", {{"type", "boolean"}}},
                                            {"reason", {{"type", "array"}, {"items", string_schema()}}}})}};
    request.messages = {{core::role::system, std::string(compliance_instructions)},
                        {core::role::user, "EXPECTED STRUCTURE:\n" + schema_text(item[key_]) + "\n\nOUTPUT:\n" + output}};
    auto verdict = co_await ctx.complete(std::move(request), provider_);
    if (!verdict) co_return core::metric_result{0, "json_schema_validator: the judge did not answer: " + verdict.error().message, true};
    auto j = extract_json(verdict->text);
    if (!j.is_object() || !j.contains("score") || !j["score"].is_boolean())
      co_return core::metric_result{0, "json_schema_validator: the verdict has no true or false score: " + verdict->text.substr(0, 200), true};
    std::string reason;
    if (j.contains("reason"))
      for (const auto& r : j["reason"].is_array() ? j["reason"] : nlohmann::json::array({j["reason"]}))
        reason += (reason.empty() ? "" : "\n") + text_of(r);
    co_return core::metric_result{j["score"].get<bool>() ? 1.0 : 0.0, reason.empty() ? "No reason provided" : reason};
  }

 private:
  std::string key_, model_, provider_;
};

class json_schema_metric final : public core::evaluation_metric {
 public:
  explicit json_schema_metric(const nlohmann::json& p) : key_(p.value("schema_key", std::string("json_schema"))) {
    if (p.contains("schema")) {
      auto compiled = core::json_schema::compile(p["schema"]);
      if (compiled) fixed_.emplace(std::move(*compiled));  // config validation refused one that does not compile
    }
  }
  std::string_view name() const noexcept override { return "json_schema"; }

  core::metric_result score(std::string_view output, const nlohmann::json& item) const override {
    std::optional<core::json_schema> from_item;
    const core::json_schema* schema = fixed_ ? &*fixed_ : nullptr;
    if (!schema) {
      if (!item.is_object() || !item.contains(key_)) return {0, "Missing schema in dataset item key '" + key_ + "'"};
      auto s = item[key_].is_string() ? nlohmann::json::parse(item[key_].get<std::string>(), nullptr, false) : item[key_];
      auto compiled = core::json_schema::compile(s);
      if (!compiled) return {0, "The item's schema does not compile: " + compiled.error(), true};
      from_item.emplace(std::move(*compiled));
      schema = &*from_item;
    }
    auto document = nlohmann::json::parse(output, nullptr, false);
    if (document.is_discarded()) document = nlohmann::json::parse(extract_fenced(std::string(output)), nullptr, false);
    if (document.is_discarded()) return {0, "Output is not valid JSON"};
    auto violations = schema->violations(document);
    if (violations.empty()) return {1, "Output matches the schema"};
    std::string reason = "Output does not match the schema: ";
    for (std::size_t i = 0; i < violations.size() && i < 3; ++i) reason += (i ? "; " : "") + violations[i];
    if (violations.size() > 3) reason += "; and " + std::to_string(violations.size() - 3) + " more";
    return {0, reason};
  }

 private:
  std::string key_;
  std::optional<core::json_schema> fixed_;
};

}  // namespace

std::unique_ptr<core::evaluation_metric> make_json_schema_validator(const nlohmann::json& params, const core::run_spec& spec) {
  return std::make_unique<json_schema_validator>(params, spec);
}

std::unique_ptr<core::evaluation_metric> make_json_schema(const nlohmann::json& params) {
  return std::make_unique<json_schema_metric>(params);
}

}  // namespace optd::plugins
