#pragma once
// Opik's heuristic metrics, with Opik's names and parameters (reference/opik-studio.md §4.1):
// equals, contains, regex_match, levenshtein_ratio, numerical_similarity, is_json. Each scores
// in [0, 1] with a reason. Reference-based metrics read data[reference_key] (default "answer");
// an item without it scores 0 with "Missing reference value for key …".
#include <memory>
#include <string>
#include <vector>

#include "core/evaluation_metric.hpp"
#include "core/run_spec.hpp"

namespace optd::plugins {

std::unique_ptr<core::evaluation_metric> make_equals(const nlohmann::json& params);
std::unique_ptr<core::evaluation_metric> make_contains(const nlohmann::json& params);
std::unique_ptr<core::evaluation_metric> make_regex_match(const nlohmann::json& params);
std::unique_ptr<core::evaluation_metric> make_levenshtein_ratio(const nlohmann::json& params);
// The scale is the spread (max − min) of the numeric references in `dataset`, 1 when there is none.
std::unique_ptr<core::evaluation_metric> make_numerical_similarity(const nlohmann::json& params,
                                                                   const std::vector<core::dataset_item>& dataset);
std::unique_ptr<core::evaluation_metric> make_is_json(const nlohmann::json& params);

// InDel similarity as python-Levenshtein's ratio: 1 − indel_distance / (|a| + |b|); 1 for two empty strings.
double levenshtein_ratio(std::string_view a, std::string_view b);

}  // namespace optd::plugins
