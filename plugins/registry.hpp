#pragma once
// The one explicit list of plugins: every metric and optimizer type of core/catalog.cpp maps to
// its implementation here. No self-registration, so readers and tests see what exists.
#include <memory>
#include <vector>

#include "core/evaluation_metric.hpp"
#include "core/optimizer.hpp"
#include "core/run_spec.hpp"
#include "plugins/sandbox/python_sandbox.hpp"

namespace optd::plugins {

// What some metrics need from the daemon: code metrics its sandbox.
struct metric_services {
  std::shared_ptr<const python_sandbox> code_sandbox;
};

// nullptr for a type that is not in the catalog (config validation has already refused it), and
// for a code metric without a sandbox. A judge reads the run's spec for its default model.
std::unique_ptr<core::evaluation_metric> make_metric(const core::metric_spec& spec, const core::run_spec& run,
                                                     const std::vector<core::dataset_item>& dataset,
                                                     const metric_services& services = {});

// The run's optimizer (spec.optimizer), which may read the rest of the run's spec: the task model
// is the reasoning model when the optimizer names none, and the metrics tell which field holds
// the expected answer.
std::unique_ptr<core::optimizer> make_optimizer(const core::run_spec& spec);

}  // namespace optd::plugins
