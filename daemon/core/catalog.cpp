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

constexpr std::array metrics{
    type_desc{"equals", reference_params, true},
    type_desc{"contains", reference_params, true},
    type_desc{"regex_match", regex_params, false},
    type_desc{"levenshtein_ratio", reference_params, true},
    type_desc{"numerical_similarity", numeric_params, true},
    type_desc{"is_json", {}, false},
};

constexpr param_desc meta_prompt_params[] = {
    {"prompts_per_round", param_kind::integer, 1, 10},
    {"examples_per_round", param_kind::integer, 1, 50},
    {"no_improvement_rounds", param_kind::integer, 1, 100},
    {"perfect_score", param_kind::number, 0, 1},
    {"seed", param_kind::integer, 0, 4294967295.0},
    {"verbose", param_kind::boolean},
};

constexpr std::array optimizers{
    type_desc{"meta_prompt", meta_prompt_params, false},
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
