#pragma once
// What optd serve does with a job it claimed off Opik's Studio queue: the job's Studio config is
// loaded as the same config posted to POST /v1/private/optimizations would be, under the
// optimization's own id, and submitted as a run; its dataset is read from Opik when it starts.
// A job that cannot run is ended in error in the store and in Opik (through the outbox), with
// error_info typed as Opik's Python worker types it: InvalidOptimizerError, InvalidMetricError,
// DatasetNotFoundError, InvalidConfigError, InvalidJobError.
#include <functional>
#include <optional>
#include <string>

#include "config/daemon_config.hpp"
#include "config/run_config.hpp"
#include "core/run_error.hpp"
#include "engine/run_manager.hpp"
#include "queue/rq_job.hpp"

namespace optd::app {

struct studio_job_context {
  store::store& db;
  const config::daemon_config& cfg;
  engine::run_manager& runs;
  engine::run_environment& env;  // its observer records in Opik
  std::function<engine::run_submission(config::loaded_run&, std::string id)> make_submission;
  std::function<void()> outbox_queued;  // wakes the outbox sender
};

std::optional<core::run_error> start_studio_job(const studio_job_context& ctx, const queue::parsed_job& job);

// The Opik exception type for the first problem of a Studio config optd cannot load.
std::string studio_error_type(const config::diagnostics& problems);

}  // namespace optd::app
