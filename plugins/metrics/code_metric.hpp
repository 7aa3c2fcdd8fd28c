#pragma once
// Studio's `code` metric: the user's Python, a BaseMetric subclass whose score(output, **item)
// returns a ScoreResult, run in the daemon's sandbox (plugins/sandbox/python_sandbox.hpp) on a
// pool of warm interpreters. Its scores are named as the class names them (config validation ran
// it once on an empty output to learn that name, as Studio does). An item whose scoring raises,
// hits a limit or crashes the interpreter gets a failed 0 with "Error: …"; the others go on.
#include <memory>
#include <string>

#include "core/evaluation_metric.hpp"
#include "plugins/sandbox/python_sandbox.hpp"

namespace optd::plugins {

// nullptr without a sandbox (config validation refuses code metrics then).
std::unique_ptr<core::evaluation_metric> make_code_metric(const nlohmann::json& params, std::string name,
                                                          std::shared_ptr<const python_sandbox> sandbox);

}  // namespace optd::plugins
