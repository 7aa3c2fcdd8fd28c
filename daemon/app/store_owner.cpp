#include "app/store_owner.hpp"

#include <nlohmann/json.hpp>

#include "core/run_status.hpp"

namespace optd::app {

std::optional<store::owner_lock> own_state_dir(const std::string& state_dir, std::string_view what, std::ostream& err) {
  auto lock = store::owner_lock::acquire(state_dir, what);
  if (lock) return std::move(*lock);
  // Two processes executing one store would each resume the other's runs and pay for their calls twice.
  err << "optd: the state directory " << state_dir << " is in use by " << lock.error()
      << "; one process owns a store at a time: stop that one, send this run to it (optd submit), or give this "
         "one its own --state-dir\n";
  return std::nullopt;
}

bool executed_by_optd(const store::run_record& r) { return !r.executor.empty(); }

void end_left_run(store::store& db, store::run_record r, const std::string& why, std::int64_t now_ms) {
  r.status = core::run_status::error;
  r.finish_reason = "error";
  r.error = why;
  r.ended_ms = r.updated_ms = now_ms;
  r.error_info_json = nlohmann::json{{"exception_type", "OwnerEnded"}, {"message", why}, {"traceback", ""}}.dump();
  db.update_run(r);
  db.append_log(r.id, now_ms, why);
}

}  // namespace optd::app
