#pragma once
// The code metric's sandbox as the daemon config sets it up, for config validation (load the code,
// score an empty output, as Studio does) and for the runs' metrics.
#include <memory>

#include "config/daemon_config.hpp"
#include "config/run_config.hpp"
#include "plugins/sandbox/python_sandbox.hpp"

namespace optd::app {

// One sandbox per distinct settings, kept for the life of the process: whether it works is found
// out once (by running a trivial metric, about 0.1 s), when the first code metric needs it.
std::shared_ptr<const plugins::python_sandbox> code_sandbox(const config::code_metrics_config& settings);

// Validation's check of a code metric: refused without a working sandbox, else loaded and scored
// on an empty output in a fresh one. With `sandbox: none`, the code runs unsandboxed.
config::code_checker code_checker(const config::code_metrics_config& settings);

}  // namespace optd::app
