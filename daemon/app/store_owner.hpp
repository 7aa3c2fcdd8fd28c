#pragma once
// Taking a state directory for this process, and the runs its previous owner left unfinished.
// `optd serve` and `optd run` each own their store for their whole life (store/owner_lock.hpp);
// what was running when the owner ended (SIGKILL, a crash, a closed terminal) is found by the
// next one: resumed when it can be, else ended in error with Opik's error_info saying why.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "store/owner_lock.hpp"
#include "store/store.hpp"

namespace optd::app {

// The lock on `state_dir` for `what` ("optd serve"); nullopt after telling `err` who holds it.
std::optional<store::owner_lock> own_state_dir(const std::string& state_dir, std::string_view what, std::ostream& err);

// Whether `r` is optd's to execute (not a record an Opik client logs). Of store::unfinished_runs(),
// once this process owns the store, those are the runs a process that is gone left unfinished.
bool executed_by_optd(const store::run_record& r);

// Ends `r` (left unfinished, not resumable) as `error`, its error_info of type OwnerEnded saying
// `why` and what to do; what it had answered stays in the store.
void end_left_run(store::store& db, store::run_record r, const std::string& why, std::int64_t now_ms);

}  // namespace optd::app
