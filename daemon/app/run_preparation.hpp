#pragma once
// Turns a loaded run config into something the engine can execute: stores its dataset (when it
// came from a file), reads the items back with their ids, and builds the optimizer and metrics
// from the plugin registry. Shared by `optd run` and `optd serve`.
#include <string>

#include "config/run_config.hpp"
#include "core/clock.hpp"
#include "core/uuid.hpp"
#include "engine/run_manager.hpp"
#include "store/store.hpp"

namespace optd::app {

engine::run_submission prepare_run(store::store& db, config::loaded_run& loaded, std::string id, core::clock& clock,
                                   core::uuid_v7_generator& ids);

}  // namespace optd::app
