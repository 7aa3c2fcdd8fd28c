#include "core/catalog.hpp"

#include <array>

namespace optd::core {
namespace {

constexpr param_desc reference_params[] = {
    {"reference_key", param_kind::string},
    {"case_sensitive", param_kind::boolean},
};
constexpr param_desc numeric_params[] = {{"reference_key", param_kind::string}};
constexpr param_desc regex_params[] = {{"regex", param_kind::string, 0, 0, true}};

// Judges: `model` and `provider` choose the judge (default: the run's task model and provider).
constexpr param_desc geval_params[] = {
    {"task_introduction", param_kind::string, 0, 0, true},
    {"evaluation_criteria", param_kind::string},
    {"model", param_kind::string},
    {"provider", param_kind::string},
    {"logprobs", param_kind::boolean},
};
constexpr std::string_view schema_key_ignored = "Opik's worker reads the schema from the item field schema_key";
constexpr param_desc json_schema_validator_params[] = {
    {"schema_key", param_kind::string},
    {"model", param_kind::string},
    {"provider", param_kind::string},
    {"reference_key", param_kind::string, 0, 0, false, {}, schema_key_ignored},
    {"case_sensitive", param_kind::boolean, 0, 0, false, {}, schema_key_ignored},
};
constexpr param_desc json_schema_params[] = {
    {"schema", param_kind::object},
    {"schema_key", param_kind::string},
};

// The user's Python (plugins/metrics/code_metric.hpp).
constexpr param_desc code_params[] = {{"code", param_kind::string, 0, 0, true}};

constexpr std::array metrics{
    type_desc{"equals", reference_params, true},
    type_desc{"contains", reference_params, true},
    type_desc{"regex_match", regex_params, false},
    type_desc{"levenshtein_ratio", reference_params, true},
    type_desc{"numerical_similarity", numeric_params, true},
    type_desc{"is_json", {}, false},
    type_desc{"geval", geval_params, false},
    type_desc{"json_schema_validator", json_schema_validator_params, false},
    type_desc{"json_schema", json_schema_params, false},
    type_desc{"code", code_params, false},
};

constexpr double max_seed = 4294967295.0;
constexpr std::string_view threads_ignored =
    "optd evaluates limits.max_concurrency items at once, shared by the run's experiments";
constexpr std::string_view verbose_ignored = "optd's run log always has every step (Opik's worker forces it on too)";
constexpr std::string_view name_ignored = "the run's name is the config's `name`";

constexpr param_desc meta_prompt_params[] = {
    {"prompts_per_round", param_kind::integer, 1, 10},
    {"examples_per_round", param_kind::integer, 1, 50},
    {"no_improvement_rounds", param_kind::integer, 1, 100},
    {"perfect_score", param_kind::number, 0, 1},
    {"seed", param_kind::integer, 0, max_seed},
    {"verbose", param_kind::boolean},
};

// GepaOptimizer's constructor and optimize_prompt parameters (reference/optimizers.md §2.1).
constexpr std::string_view selection_strategies[] = {"pareto", "current_best", "epsilon_greedy", "top_k_pareto",
                                                     "best"};
constexpr std::string_view reflection_feedback[] = {"opik", "rich"};
constexpr param_desc gepa_params[] = {
    {"seed", param_kind::integer, 0, max_seed},
    {"verbose", param_kind::boolean, 0, 0, false, {}, verbose_ignored},
    {"n_threads", param_kind::integer, 1, 1000, false, {}, threads_ignored},
    {"name", param_kind::string, 0, 0, false, {}, name_ignored},
    {"skip_perfect_score", param_kind::boolean},
    {"perfect_score", param_kind::number, 0, 1},
    {"prompt_overrides", param_kind::object},
    {"reflection_minibatch_size", param_kind::integer, 1, 1000},
    {"candidate_selection_strategy", param_kind::string, 0, 0, false, selection_strategies},
    {"use_merge", param_kind::boolean},
    {"max_merge_invocations", param_kind::integer, 0, 1000},
    {"no_improvement_iterations", param_kind::integer, 0, 10000},
    {"max_reflection_calls", param_kind::integer, 0, 100000},
    {"raise_on_exception", param_kind::boolean},
    {"reflection_feedback", param_kind::string, 0, 0, false, reflection_feedback},
    {"run_dir", param_kind::string, 0, 0, false, {}, "optd keeps a run's state in its own store"},
    {"track_best_outputs", param_kind::boolean, 0, 0, false, {}, "every output is in the store already"},
    {"display_progress_bar", param_kind::boolean, 0, 0, false, {}, "optd shows its own progress"},
};

// HierarchicalReflectiveOptimizer (§3.1).
constexpr std::string_view convergence_modes[] = {"relative", "absolute"};
constexpr param_desc hierarchical_reflective_params[] = {
    {"seed", param_kind::integer, 0, max_seed},
    {"verbose", param_kind::boolean, 0, 0, false, {}, verbose_ignored},
    {"n_threads", param_kind::integer, 1, 1000, false, {}, threads_ignored},
    {"name", param_kind::string, 0, 0, false, {}, name_ignored},
    {"reasoning_model", param_kind::string},
    {"reasoning_model_parameters", param_kind::object},
    {"max_parallel_batches", param_kind::integer, 1, 100},
    {"batch_size", param_kind::integer, 1, 1000},
    {"convergence_threshold", param_kind::number, 0, 1},
    {"max_retries", param_kind::integer, 0, 20},
    {"n_samples_minibatch", param_kind::integer, 1, 1'000'000},
    {"skip_perfect_score", param_kind::boolean},
    {"perfect_score", param_kind::number, 0, 1},
    {"prompt_overrides", param_kind::object, 0, 0, false, {}, "optd's analysis and improvement prompts are its own"},
    {"analyze_outputs", param_kind::boolean},
    {"convergence", param_kind::string, 0, 0, false, convergence_modes},
};

// EvolutionaryOptimizer (§4.1).
constexpr param_desc evolutionary_params[] = {
    {"seed", param_kind::integer, 0, max_seed},
    {"verbose", param_kind::boolean, 0, 0, false, {}, verbose_ignored},
    {"n_threads", param_kind::integer, 1, 1000, false, {}, threads_ignored},
    {"name", param_kind::string, 0, 0, false, {}, name_ignored},
    {"population_size", param_kind::integer, 2, 1000},
    {"num_generations", param_kind::integer, 1, 1000},
    {"mutation_rate", param_kind::number, 0, 1},
    {"crossover_rate", param_kind::number, 0, 1},
    {"tournament_size", param_kind::integer, 1, 1000},
    {"elitism_size", param_kind::integer, 0, 1000},
    {"adaptive_mutation", param_kind::boolean},
    {"enable_moo", param_kind::boolean},
    {"enable_llm_crossover", param_kind::boolean},
    {"output_style_guidance", param_kind::string},
    {"infer_output_style", param_kind::boolean},
    {"skip_perfect_score", param_kind::boolean},
    {"perfect_score", param_kind::number, 0, 1},
    {"fit_population_to_budget", param_kind::boolean},
};

constexpr std::array optimizers{
    type_desc{"meta_prompt", meta_prompt_params, false},
    type_desc{"gepa", gepa_params, false},
    type_desc{"hierarchical_reflective", hierarchical_reflective_params, false},
    type_desc{"evolutionary", evolutionary_params, false},
};

}  // namespace

std::span<const type_desc> metric_catalog() noexcept { return metrics; }
std::span<const type_desc> optimizer_catalog() noexcept { return optimizers; }

const type_desc* find_type(std::span<const type_desc> catalog, std::string_view type) noexcept {
  for (const auto& t : catalog)
    if (t.type == type) return &t;
  return nullptr;
}

}  // namespace optd::core
