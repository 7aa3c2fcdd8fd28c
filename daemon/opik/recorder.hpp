#pragma once
// Records runs in Opik the way Opik's own optimizer does, by queueing writes in the store's
// outbox (outbox_sender delivers them):
//   run start   PUT /v1/private/datasets/items (the run's dataset with optd's item ids, unless it
//               was read from Opik or this content was sent before), POST
//               /v1/private/optimizations {id, name, dataset_name, project_name, objective_name,
//               status: running, metadata {optimizer, optd_version, …}} (no studio_config: Opik
//               must not hand the run to its own worker), then
//               PUT {status: running} (adopts a record Opik already had)
//   each trial  POST /v1/private/experiments (its type: trial, mini-batch or mutation;
//               optimization_id; metadata with candidate_id, parent_candidate_ids, step_index and
//               configuration.prompt),
//               then per evaluated item a trace, an LLM span (model, provider, usage, cost) and one
//               `judge` LLM span per call its judge metrics made (prompt, verdict, usage, cost), trace
//               feedback scores (objective_name and each metric) and the experiment item: in
//               batches during the trial (every 200 evaluations, or after a minute), so that a
//               long trial shows progress in Opik (its stalled-run check), and the rest at its end;
//               several trials of a run may be written at once (an optimizer's concurrent ones)
//   reasoning   per call of the optimizer's reasoning model (and per call a judge makes once for
//               the whole run, GEval's evaluation steps: a `judge_setup` trace) a trace tagged with
//               the optimization id and its LLM span (Opik adds such traces' cost to
//               total_optimization_cost)
//   run end     PUT /v1/private/optimizations/{id} {status[, error_info]}
// Every id is client-generated and derived from optd's journal, so a replay writes the same ids.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "engine/run_environment.hpp"
#include "store/store.hpp"

namespace optd::opik {

class recorder final : public engine::run_observer {
 public:
  // `destination` names the Opik written to (its URL and workspace): a dataset is sent to each
  // once per content. `project_name`: where runs without one of their own go. `queued` is called
  // after each enqueue.
  recorder(store::store& db, core::clock& clock, std::string destination, std::string project_name,
           std::function<void()> queued = {})
      : db_(db), clock_(clock), destination_(std::move(destination)), project_(std::move(project_name)),
        queued_(std::move(queued)) {}

  void run_started(const store::run_record& run, const core::run_spec& spec) override;
  void evaluation_finished(const store::run_record& run, const store::evaluation_record& evaluation) override;
  void trial_finished(const store::run_record& run, const store::trial_record& trial) override;
  void reasoning_call(const store::run_record& run, const store::llm_call_record& call) override;
  void run_finished(const store::run_record& run) override;

 private:
  struct trial_info {
    bool created = false;                             // its experiment is queued
    std::set<std::string> written;                    // its evaluations sent so far
    std::vector<store::evaluation_record> unwritten;  // its finished evaluations not sent yet
  };
  struct run_info {
    std::string project, optimizer, model, provider, reasoning_provider, objective;
    std::map<std::string, nlohmann::json> items;  // dataset item id → data
    std::map<std::string, trial_info> trials;     // the trials in flight, by id
    std::int64_t last_write_ms = 0;
  };
  void enqueue(std::vector<store::outbox_message> messages);
  // The trial's experiment (once) and its unwritten evaluations, as traces, spans, scores and items.
  void write_evaluations(const store::run_record& run, const store::trial_record& trial, run_info& r, trial_info& ti);

  store::store& db_;
  core::clock& clock_;
  std::string destination_;
  std::string project_;
  std::function<void()> queued_;
  std::map<std::string, run_info> runs_;  // from run_started; a resumed run starts again
};

}  // namespace optd::opik
