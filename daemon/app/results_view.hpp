#pragma once
// A finished (or running) run as read back from the store, for people and for machines.
#include <iosfwd>

#include <nlohmann/json.hpp>

#include "store/store.hpp"

namespace optd::app {

nlohmann::json results_json(store::store& db, const store::run_record& run);
void print_results(store::store& db, const store::run_record& run, std::ostream& out);

}  // namespace optd::app
