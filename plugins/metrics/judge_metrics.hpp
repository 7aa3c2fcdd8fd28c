#pragma once
// Metrics that ask a model (core::judge_context), with Opik's names and parameters
// (reference/optimizers.md §6): geval (Opik's GEval) and json_schema_validator (Studio's LLM judge
// of structured output); and json_schema, optd's deterministic JSON Schema check. Each judge uses
// `model` (default: the run's task model, as Studio does) on `provider` (default: the task's).
#include <memory>
#include <string>
#include <vector>

#include "core/evaluation_metric.hpp"
#include "core/llm.hpp"
#include "core/run_spec.hpp"

namespace optd::plugins {

// GEval: evaluation steps written once per run from task_introduction and evaluation_criteria
// ({{field}}s filled per item), then per item a verdict {score 0–10, reason}. The score is the
// expectation over the top-20 alternatives of the verdict's number token that are whole numbers
// 0–10, divided by 10, as Opik computes it; without log-probabilities from the provider, the JSON
// score divided by 10.
std::unique_ptr<core::evaluation_metric> make_geval(const nlohmann::json& params, const core::run_spec& spec);
// Studio's json_schema_validator: a judge shown the item's schema (under schema_key, default
// json_schema) and the output: 1 when it answers that the output complies, else 0.
std::unique_ptr<core::evaluation_metric> make_json_schema_validator(const nlohmann::json& params, const core::run_spec& spec);
// optd's json_schema: the output parsed as JSON (a ``` fence around it is allowed) and validated
// against `schema`, or the item's schema under schema_key: 1 when valid, else 0 with the reasons.
std::unique_ptr<core::evaluation_metric> make_json_schema(const nlohmann::json& params);

// GEval's score from a verdict's log-probabilities: over the alternatives of the first token after
// `"score":` (Opik takes the 4th token, which is that one when "score" comes first) that are whole
// numbers 0–10, Σ p·s / Σ p / 10; none: the sampled token if it is one, / 10; nullopt otherwise.
std::optional<double> geval_logprob_score(const std::vector<core::token_logprob>& tokens);

}  // namespace optd::plugins
