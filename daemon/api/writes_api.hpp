#pragma once
// Opik's write endpoints for what an optimizer logs, so that an Opik client (another optd's
// recorder, Opik's SDK) can record an optimization into optd:
//   POST  /api/v1/private/experiments              a trial of an optimization (optimization_id), with
//                                                  its type, name, metadata (candidate_id) and
//                                                  experiment_scores
//   PATCH /api/v1/private/experiments/{id}         its name, metadata, type, experiment_scores
//   POST  /api/v1/private/traces/batch             traces (times, output; tagged with an
//                                                  optimization id: its optimizer's own calls)
//   PATCH /api/v1/private/traces/{id}              its end_time, output, error_info, tags
//   POST  /api/v1/private/spans/batch              spans (usage, total_estimated_cost)
//   PATCH /api/v1/private/spans/{id}               its usage, total_estimated_cost
//   PUT   /api/v1/private/traces/feedback-scores   trace scores
//   POST  /api/v1/private/experiments/items        links a trace to a trial: it becomes an evaluation
// Each trial's score, duration and cost follow from its items as optd computes them for its own
// runs, and the optimizer's tagged traces add to total_optimization_cost, so the optimization's
// aggregates read back as Opik would compute them. The writes may come in any order, as Opik's
// SDKs flush them from separate queues: a trace, span or score that arrives after its item is
// linked updates that item. Writes are idempotent by id; an experiment id seen before is a 409,
// as in Opik.
#include <optional>
#include <set>
#include <string>

#include "core/clock.hpp"
#include "core/uuid.hpp"
#include "net/http_message.hpp"
#include "store/store.hpp"

namespace optd::api {

class writes_api {
 public:
  writes_api(store::store& db, core::clock& clock, core::uuid_v7_generator& ids) : db_(db), clock_(clock), ids_(ids) {}

  // The response when `req` is one of these writes, nullopt otherwise.
  std::optional<net::http_response> route(const net::http_request& req);

 private:
  net::http_response create_experiment(const nlohmann::json& body);
  // The holder run of an experiment logged without an optimization (store::run_record::kind).
  store::run_record experiment_holder(const std::string& experiment_id, const nlohmann::json& body);
  net::http_response update_experiment(const std::string& id, const nlohmann::json& body);
  net::http_response update_trace(const std::string& id, const nlohmann::json& body);
  net::http_response update_span(const std::string& id, const nlohmann::json& body);
  // Tags the trace with the optimization its tags name, unless it is an experiment item.
  void tag(const std::string& trace_id, const nlohmann::json& trace);
  net::http_response traces(const nlohmann::json& body);
  net::http_response spans(const nlohmann::json& body);
  net::http_response scores(const nlohmann::json& body);
  net::http_response items(const nlohmann::json& body);
  // The evaluations that link these traces, updated from what has arrived of them since.
  void relink(const std::set<std::string>& trace_ids);
  void refresh_trial(store::trial_record& trial);
  void refresh_run(const std::string& run_id);

  store::store& db_;
  core::clock& clock_;
  core::uuid_v7_generator& ids_;
};

}  // namespace optd::api
