#pragma once
// Opik's wire shapes, one mapping for what optd serves and what it writes to an Opik: the
// Optimization public view with its read-only aggregates (computed as Opik's backend computes
// them), ErrorInfo, dataset items, pages, and both error bodies.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/iso8601.hpp"
#include "core/run_spec.hpp"
#include "store/store.hpp"

namespace optd::opik {

// `dataset_id`: the id of the run's dataset in the store, when it is there.
nlohmann::json optimization_json(const store::run_record& run, const std::vector<store::trial_record>& trials,
                                 const std::vector<std::pair<std::string, double>>& metric_means,
                                 const std::string& dataset_id);

// A run spec as Opik's studio_config {dataset_name, prompt, llm_model, evaluation, optimizer}, the
// reasoning model inside optimizer.parameters as Opik keeps it; optd's own additions (a provider,
// a metric's weight) where they belong, only when they are set.
nlohmann::json studio_config_json(const core::run_spec& spec);

// An experiment of an optimization as Opik names it and describes it: the trial's own name and
// metadata (optd's engine writes candidate_id, parent_candidate_ids, step_index and
// configuration.prompt; an SDK writes what it writes), or for a trial of an older optd,
// "<run>-trial-<n>" and {optimizer, trial, origin, configuration.prompt}.
std::string experiment_name(const store::run_record& run, const store::trial_record& trial);
nlohmann::json experiment_metadata(const store::run_record& run, const store::trial_record& trial);

// Opik's ErrorInfo {exception_type, message, traceback} of a run that ended in error; null when
// there is none.
nlohmann::json error_info_json(const store::run_record& run);

// optd keeps projects by name only; this is the stable id it reports for one (UUID v7 form).
std::string project_id_of(const std::string& project_name);
// Whether a run of `project_name` ("" for none) is in the project `project_id` names.
bool in_project(const std::string& project_name, std::string_view project_id);

// A dataset item as Opik streams and pages it.
nlohmann::json dataset_item_json(const core::dataset_item& item, const std::string& dataset_id);
// The `columns` of a dataset item page: one per data key.
nlohmann::json columns_json(const std::set<std::string>& keys);

// Opik's page: {page, size (of this page), total, content, sortable_by}.
nlohmann::json page_body(long long page, nlohmann::json content, std::size_t total,
                         nlohmann::json sortable_by = nlohmann::json::array());

// {"code": 404, "message": "..."} (Dropwizard's ErrorMessage)
nlohmann::json error_body(unsigned code, std::string message);
// {"errors": ["...", ...]} (Opik's ErrorMessage, used for 422)
nlohmann::json errors_body(std::vector<std::string> errors);

}  // namespace optd::opik
