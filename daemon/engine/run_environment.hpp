#pragma once
// What a run needs from the process around it. Owned by app/; outlives every run.
#include <functional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/llm.hpp"
#include "core/price.hpp"
#include "core/run_spec.hpp"
#include "core/uuid.hpp"
#include "store/store.hpp"
#include "telemetry/metrics.hpp"

namespace optd::engine {

// What happens to runs, for recorders (Opik). Called on the event loop once the store has it; a
// resumed run reports its replayed trials again (recorders write idempotently).
class run_observer {
 public:
  virtual ~run_observer() = default;
  virtual void run_started(const store::run_record& run, const core::run_spec& spec) = 0;
  // An evaluation of the running trial, once its row is committed (replayed ones included).
  virtual void evaluation_finished(const store::run_record& run, const store::evaluation_record& evaluation) = 0;
  virtual void trial_finished(const store::run_record& run, const store::trial_record& trial) = 0;
  // A call to the optimizer's reasoning model, once journaled (or replayed from the journal).
  virtual void reasoning_call(const store::run_record& run, const store::llm_call_record& call) = 0;
  virtual void run_finished(const store::run_record& run) = 0;  // completed, cancelled or error
};

struct run_environment {
  store::store& db;
  core::clock& clock;
  core::uuid_v7_generator& ids;
  // The provider registered under `name` ("" is the default one), or nullptr.
  std::function<core::llm_provider*(std::string_view name)> provider;
  // USD per million tokens for `model` on `provider`; zero when unknown.
  std::function<core::model_price(std::string_view provider, std::string_view model)> price;
  // Where a run's log lines go besides its store (stderr for `optd run`).
  std::function<void(std::string_view run_id, std::string_view line)> log;
  // Where trials, journal writes and run progress are counted; none for `optd run`.
  telemetry::metrics* metrics = nullptr;
  run_observer* observer = nullptr;
  // optd's version: each run's metadata carries it (optd_version), beside its optimizer.
  std::string version = {};

  std::string new_id() { return ids.next(static_cast<std::uint64_t>(clock.now_ms())); }
};

}  // namespace optd::engine
