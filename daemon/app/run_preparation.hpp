#pragma once
// Turns a loaded run config into something the engine can execute: stores its dataset (when it
// came from a file, or from Opik), reads the items back with their ids, and builds the optimizer
// and metrics from the plugin registry. Shared by `optd run` and `optd serve`.
#include <string>

#include "config/daemon_config.hpp"
#include "config/run_config.hpp"
#include "core/clock.hpp"
#include "core/uuid.hpp"
#include "engine/run_manager.hpp"
#include "opik/dataset_reader.hpp"
#include "store/store.hpp"

namespace optd::app {

// `code_metrics`: the sandbox a code metric runs in.
engine::run_submission prepare_run(store::store& db, config::loaded_run& loaded,
                                   const config::code_metrics_config& code_metrics, std::string id, core::clock& clock,
                                   core::uuid_v7_generator& ids);

// What optd serve submits: prepare_run's submission; or, for a run whose dataset is in Opik
// (loaded.dataset_in_opik) when `opik_datasets` is given, one prepared when the run starts, by
// reading the dataset from Opik, storing it under its name with Opik's item ids, and loading the
// run's config (its `source`) again against it, so that its template variables and reference
// keys are checked then. What fails there fails the run. `identity`: whom the run reads Opik as,
// when not the config's workspace and key (a Studio job's).
engine::run_submission serve_submission(store::store& db, opik::dataset_reader* opik_datasets,
                                        const config::daemon_config& cfg, config::loaded_run& loaded, std::string id,
                                        core::clock& clock, core::uuid_v7_generator& ids,
                                        const opik::identity_lookup& identity = {});

}  // namespace optd::app
