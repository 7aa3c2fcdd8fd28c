#pragma once
// A run's status, with Opik's names (initialized, running, completed, cancelled, error), and the
// one state machine that moves it. The engine, the API and the store use this type; only the
// wire and the SQL column hold its name.
#include <optional>
#include <string_view>

namespace optd::core {

enum class run_status { initialized, running, completed, cancelled, error };

std::string_view to_string(run_status s) noexcept;
std::optional<run_status> run_status_from_string(std::string_view s) noexcept;

// A status no run leaves: completed, cancelled or error.
constexpr bool is_final(run_status s) noexcept {
  return s == run_status::completed || s == run_status::cancelled || s == run_status::error;
}

// What happens to a run:
//   start    an executor takes it (initialized → running; a resumed run is running already)
//   suspend  the daemon stops for a restart; the run stays live to be resumed (running → running)
//   complete its optimizer finished (running → completed)
//   cancel   a person or Opik asked (initialized | running → cancelled)
//   fail     it cannot go on (initialized | running → error)
// A final status takes no event. Runs optd does not execute (an SDK logs its own) are not moved
// by events: their writer sets any status, as Opik's backend lets it.
enum class run_event { start, suspend, complete, cancel, fail };

// The status after `e`, or nullopt when `e` is not allowed in `from`.
std::optional<run_status> next_status(run_status from, run_event e) noexcept;

}  // namespace optd::core
