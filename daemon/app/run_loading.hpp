#pragma once
// Loading a run config the way every subcommand does: stored datasets and the daemon config's
// providers are what it is checked against.
#include <iosfwd>

#include "config/daemon_config.hpp"
#include "config/run_config.hpp"
#include "store/store.hpp"

namespace optd::app {

// `db` may be null (validate without a store): then only datasets from files are known.
config::load_context make_load_context(store::store* db, const config::daemon_config& cfg);

// Prints each problem as file:line:column: message; returns the count.
std::size_t print_problems(const config::diagnostics& problems, std::ostream& err);

}  // namespace optd::app
