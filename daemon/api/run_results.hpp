#pragma once
// A run as people and scripts read it back, from the store: status, scores, spend, and every
// trial with its prompt. `optd run` prints it at the end, `optd results` prints it from a store
// or from a daemon, and the daemon serves it as GET /api/optd/runs/{id}.
#include <iosfwd>

#include <nlohmann/json.hpp>

#include "store/store.hpp"

namespace optd::api {

nlohmann::json run_results_json(store::store& db, const store::run_record& run);

// Why `prefix` names no one run when several start with it: "run id prefix '01a2' is ambiguous:
// <id>, <id> (give more of it)"; empty when it is not ambiguous.
std::string ambiguous_run_prefix(store::store& db, const std::string& prefix);

// The summary people read, from that JSON (so that a daemon's answer prints the same).
void print_run_results(const nlohmann::json& results, std::ostream& out);

}  // namespace optd::api
