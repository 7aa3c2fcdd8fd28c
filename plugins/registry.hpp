#pragma once
// The one explicit list of plugins: every metric and optimizer type of core/catalog.cpp maps to
// its implementation here. No self-registration, so readers and tests see what exists.
#include <memory>
#include <vector>

#include "core/evaluation_metric.hpp"
#include "core/optimizer.hpp"
#include "core/run_spec.hpp"

namespace optd::plugins {

// nullptr for a type that is not in the catalog (config validation has already refused it).
std::unique_ptr<core::evaluation_metric> make_metric(const core::metric_spec& spec,
                                                     const std::vector<core::dataset_item>& dataset);

// `default_model` is the task model, used when the optimizer names no reasoning model.
std::unique_ptr<core::optimizer> make_optimizer(const core::optimizer_spec& spec, const std::string& default_model);

}  // namespace optd::plugins
