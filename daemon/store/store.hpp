#pragma once
// The embedded journal: runs, trials, evaluations, LLM calls, datasets and items, in one SQLite
// file (WAL). Each evaluation is written before its request is sent and completed when its
// response arrives, so after a crash a stored response is never requested again.
//
// Must be used from one thread (the event loop's). Calls block on SQLite; with WAL and
// synchronous=NORMAL a commit is a write to the WAL, not an fsync. Failures throw
// std::runtime_error; "not found" is an empty optional.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/aggregates.hpp"
#include "core/evaluation_metric.hpp"
#include "core/price.hpp"
#include "core/run_status.hpp"
#include "core/run_spec.hpp"

namespace optd::store {

class database;
class statement;

struct run_record {
  std::string id;
  std::string name;
  core::run_status status = core::run_status::initialized;
  std::string objective_name;
  std::string dataset_name;
  std::string spec_json;       // the run_spec, as the engine needs it to resume
  std::int64_t created_ms = 0;
  std::int64_t started_ms = 0;
  std::int64_t ended_ms = 0;
  std::string finish_reason;
  std::string error;
  std::optional<double> baseline_score;
  std::optional<double> best_score;
  std::string best_trial_id;
  double cost_usd = 0;
  core::token_usage tokens;
  std::int64_t llm_calls = 0;
  std::string project_name;
  std::string metadata_json = "{}";  // Opik's free-form optimization metadata
  std::string studio_config_json;    // the Studio config as submitted; empty for record-only runs
  std::int64_t updated_ms = 0;
  std::string source;  // the run config as submitted (YAML or Opik's JSON body), to resume from
  // Opik's ErrorInfo {exception_type, message, traceback} of a run that ended in error; empty
  // when it did not (or when a record-only run's writer gave none: `error` then has the message).
  std::string error_info_json;
  // Which process executes it: "optd serve" (resumed by the next daemon), "optd run" (resumed by
  // the next `optd run` of the same config, or by a daemon), or empty: a run an Opik client
  // records into optd, which optd only stores.
  std::string executor;
  // Empty for an optimization. "experiment": the holder of one experiment an Opik client logged
  // without an optimization (an SDK's evaluate()); no optimization list or lookup shows it.
  std::string kind;
};

// Which runs a list shows (Opik's optimization list), every condition holding. Text compares
// ignore case, as Opik's do, except on project and dataset names (what an id stands for);
// `values` is one value, or several for `in` and `not_in`.
struct run_query {
  std::string name_contains;
  std::string dataset_contains;
  struct condition {
    enum class on { status, dataset_name, project_name, metadata } field;
    std::string key;  // of metadata: a top-level key, or a JSON path starting with `$`
    std::string op;   // =, !=, contains, not_contains, starts_with, ends_with, in, not_in, is_empty, is_not_empty
    std::vector<std::string> values;
  };
  std::vector<condition> conditions;
};

struct run_page {
  std::vector<run_record> runs;  // newest first
  std::int64_t total = 0;        // how many match, over every page
};

struct trial_record {
  std::string id;
  std::string run_id;
  int number = 0;
  std::string origin;
  std::string prompt_json;     // messages
  std::string status = "running";  // running, completed, rejected
  std::optional<double> score;
  std::int64_t evaluated_count = 0;
  std::int64_t failed_count = 0;
  double median_duration_s = 0;
  double cost_usd = 0;
  core::token_usage tokens;
  std::int64_t started_ms = 0;
  std::int64_t ended_ms = 0;
  // What an Opik client logged with the experiment (optd's own trials keep the defaults):
  std::string type = "trial";         // trial, mini-batch or mutation (the last two are screenings)
  std::string candidate_id;           // metadata.candidate_id: experiments of one candidate prompt
  std::string name;                   // empty: "<run name>-trial-<number>"
  std::string metadata_json;          // empty: optd's own (optimizer, trial, origin, configuration)
  std::string experiment_scores_json = "[]";  // [{name, value}], experiment-level scores
  // What optd's engine asked for, as a fingerprint of its type, prompt and items: a resumed run
  // finds the trial by it (core/optimizer.hpp, "Replay"). Empty for trials an SDK logged.
  std::string request_key;
};

// The trials as Opik's aggregation (core/aggregates.hpp) sees them. A trial without scored items
// takes the experiment-level score named `objective_name`, as Opik does.
std::vector<core::trial_stats> trial_stats(const std::vector<trial_record>& trials, const std::string& objective_name);

struct evaluation_record {
  std::string id;
  std::string run_id;
  std::string trial_id;
  std::string item_id;
  std::string request_json;    // the rendered chat request that was (or will be) sent
  // pending (journaled, not answered), answered (the task's answer stored, its judges not yet
  // heard: a resumed run asks only the judges), completed, failed
  std::string status = "pending";
  std::string output;
  std::string scores_json;     // [{name, value, reason}]
  std::optional<double> objective;
  core::token_usage tokens;
  double cost_usd = 0;
  std::int64_t latency_us = 0;
  int attempts = 0;
  std::string error;
  std::int64_t created_ms = 0;     // journaled (optd's rows: all of a trial's at its start)
  std::int64_t completed_ms = 0;
  std::string trace_id;  // the Opik trace an SDK linked; empty for optd's own: see trace_id_of()
  // What the judge metrics' calls cost (beside the task's call above), and how many there were.
  double judge_cost_usd = 0;
  core::token_usage judge_tokens;
  int judge_calls = 0;
};

// Answered and scored (completed), or failed: an evaluation that will not change any more.
inline bool is_finished(const evaluation_record& e) { return e.status == "completed" || e.status == "failed"; }

// The id of the evaluation's trace in Opik: the one an SDK logged, or one derived from the
// evaluation's id (the same every time, so a write sent twice is the same trace).
std::string trace_id_of(const evaluation_record& e);
// When the evaluation's call was sent: its answer's time less the call's latency (rows are
// journaled together when a trial starts, long before their turn comes).
std::int64_t call_started_ms(const evaluation_record& e);

// One metric's score of an evaluation, as `scores_json` holds it.
using core::metric_score;
// The scores in `scores_json`; none when it is empty or unreadable (a row written by a crash).
std::vector<metric_score> parse_scores(const std::string& scores_json);
// The feedback scores of the evaluation's trace, as optd writes them to Opik and serves them: the
// objective named `objective_name` first, then each metric (a metric of that name is the objective).
std::vector<metric_score> trace_scores(const evaluation_record& e, const std::string& objective_name);

// Sums a trial's evaluations into it, as the aggregates read them: its score is the mean objective
// of the scored (completed) ones; the others that ended (failed or unscored) count as failed; the
// duration is the p50 of both; cost and tokens count every call, the judges' too; unfinished rows
// count for their cost only.
void summarize_trial(trial_record& t, const std::vector<const evaluation_record*>& evaluations);

// What Opik's experiment view shows of a trial, over its finished evaluations (one trace each).
// Kept once the trial has ended, so that listing a run's experiments reads a row per trial, not
// every evaluation again.
struct experiment_summary {
  std::int64_t trace_count = 0;
  // Per score name (trace_scores), the mean over the completed evaluations that have it, by name.
  std::vector<std::pair<std::string, double>> feedback_scores;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0;              // the traces' durations
  std::int64_t prompt_tokens = 0, completion_tokens = 0;  // the task calls', summed
};

// Which dataset items Opik's Compare view shows for some experiments, and in what order: the items
// with a finished evaluation in one of them that every condition keeps (and that the search finds).
struct compare_query {
  std::string dataset_id;
  std::vector<std::string> trial_ids;
  // On each evaluation: its output (=, !=, contains, not_contains; any case), or its score named
  // `score_name` (=, !=, >, >=, <, <= against `number`; is_empty, is_not_empty).
  struct condition {
    std::string score_name;  // empty: on the output
    std::string op;
    std::string text;
    std::optional<double> number;  // a score compare whose value is not a number keeps nothing
  };
  std::vector<condition> conditions;
  std::string search;      // in the item's data or a kept evaluation's output, any case
  std::string sort_score;  // the mean of this score over the item's kept evaluations; empty: by item id
  bool descending = true;
};

struct compare_page {
  std::vector<core::dataset_item> items;  // the page's, in order
  std::vector<evaluation_record> evaluations;  // the kept evaluations of those items
  std::int64_t total = 0;
};

// A call the run made besides its task calls: the optimizer's reasoning, a judge metric's.
// Journaled as pending before it is sent, answered when it is.
struct llm_call_record {
  std::string id;
  std::string run_id;
  std::string purpose;         // "reasoning", "judge" (of an evaluation), "judge setup" (of the run)
  std::string request_json;
  std::string response;
  std::string error;
  core::token_usage tokens;
  double cost_usd = 0;
  std::int64_t latency_us = 0;
  std::int64_t created_ms = 0;
  std::string status = "answered";  // pending, answered
  std::string evaluation_id;        // a judge's: the evaluation it scored
  std::string model;                // what answered (for traces)
  std::string provider;
  std::string logprobs_json;        // the answer's token log-probabilities, when asked for: [{t, lp, top}]
};

struct dataset_record {
  std::string id;
  std::string name;
  std::string description;
  std::int64_t created_ms = 0;
  std::int64_t item_count = 0;
};

// A job of Opik's Studio queue this worker claimed: what its run needs to reach Opik as the job's
// workspace, and how far its end is told (RQ's records in Redis).
struct studio_job_record {
  std::string job_id;
  std::string run_id;  // the optimization's id
  std::string queue;
  std::string execution;  // RQ's execution id (hex UUID)
  std::string workspace_id, workspace_name;
  std::string api_key;  // the job's Opik key, until its run's last write reached Opik; then empty
  std::int64_t claimed_ms = 0;
  std::string state = "claimed";  // claimed (its run goes on), ended (its records are to be written), done
  std::string outcome;            // when ended: finished or failed
  std::string detail;             // when failed: why, for RQ's exc_info
  std::int64_t logs_sent = 0;     // lines of its run's log appended to Opik's log key so far
};

// A write to Opik waiting in the outbox, in the order it must be delivered.
struct outbox_message {
  std::int64_t seq = 0;
  std::string run_id;
  std::string method;  // POST, PUT, PATCH
  std::string path;    // under the Opik base URL, e.g. /v1/private/experiments
  std::string body;    // JSON
  std::int64_t created_ms = 0;
  int attempts = 0;
  std::string last_error;
};

// A trace an Opik client logged into optd, with its spans' cost and tokens and its feedback
// scores; it becomes an evaluation when an experiment item links it to an experiment.
struct received_trace {
  std::string id;
  std::int64_t start_ms = 0, end_ms = 0;
  std::string output;
  bool failed = false;
  double cost_usd = 0;
  core::token_usage tokens;
  std::string scores_json = "[]";  // [{name, value, reason}]
};

struct spend {
  double cost_usd = 0;
  core::token_usage tokens;
};

struct outbox_stats {
  std::int64_t pending = 0;
  std::int64_t dead = 0;           // refused by Opik (a 4xx other than 408/409/429): kept, not retried
  std::int64_t oldest_ms = 0;      // created_ms of the oldest pending message; 0 when none
};

class store {
 public:
  // Opens or creates the file and brings the schema up to date.
  // `busy_timeout`: how long a statement waits for another connection's lock (sqlite.hpp).
  explicit store(const std::string& path, std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));
  ~store();
  store(const store&) = delete;

  // Datasets. Replaces the items when the content hash differs from the stored one; returns the
  // dataset id. Item ids are assigned with `make_id`.
  std::string put_dataset(const std::string& name, const std::vector<nlohmann::json>& rows, const std::string& hash,
                          const std::function<std::string()>& make_id, std::int64_t now_ms);
  std::optional<std::vector<core::dataset_item>> dataset_items(const std::string& name);
  // The items' data only, in order: what config validation checks a run against.
  std::optional<std::vector<nlohmann::json>> dataset_rows(const std::string& name);
  // Opik-style datasets: found by name or id, listed newest first, items upserted by id (new ids
  // are appended in order) and read in pages after a given item.
  std::optional<dataset_record> find_dataset(const std::string& name_or_id);
  std::vector<dataset_record> list_datasets();
  // False when the name is taken.
  bool create_dataset(const std::string& id, const std::string& name, const std::string& description,
                      std::int64_t now_ms);
  void upsert_dataset_items(const std::string& dataset_id, const std::vector<core::dataset_item>& items);
  // Datasets read from Opik (kept with Opik's ids), which optd need not send back.
  void mark_dataset_from_opik(const std::string& name);
  bool dataset_from_opik(const std::string& name);
  // Which content of a dataset (`digest`) is queued for an Opik (`destination`) already, so that
  // the runs after the first do not send it again.
  void mark_dataset_sent(const std::string& destination, const std::string& name, const std::string& digest);
  bool dataset_sent(const std::string& destination, const std::string& name, const std::string& digest);
  std::vector<core::dataset_item> dataset_items_after(const std::string& dataset_id, const std::string& after_id,
                                                      std::int64_t limit, std::int64_t offset = 0);

  // Runs.
  void insert_run(const run_record& r);
  void update_run(const run_record& r);  // status, times, reason, error, scores, spend, spec (unless "{}")
  // What people edit (Opik's PUT): name and metadata, never touched by update_run.
  void update_run_details(const std::string& id, const std::string& name, const std::string& metadata_json,
                          std::int64_t updated_ms);
  std::optional<run_record> find_run(const std::string& id_or_prefix);
  // The ids of up to `limit` runs that start with `prefix` (4 characters at least), in id order:
  // what an ambiguous prefix could have meant.
  std::vector<std::string> run_ids_with_prefix(const std::string& prefix, int limit);
  // The newest `limit` runs, experiment holders too (what lists every experiment reads).
  std::vector<run_record> list_runs(int limit = 100);
  // The runs `q` keeps, newest first, `limit` of them from `offset` on: selected and paged in SQL.
  run_page find_runs(const run_query& q, std::int64_t offset, std::int64_t limit);
  // The project names runs are recorded under (what a project id is resolved against).
  std::vector<std::string> project_names();
  // How many runs have each status (statuses without runs are absent).
  std::vector<std::pair<std::string, std::int64_t>> count_runs_by_status();
  // Runs that were initialized or running when optd stopped: to resume.
  std::vector<run_record> unfinished_runs();
  // What a resumed run replays from: the `occurrence`-th (0-based) trial of the run asked with
  // this request key, in the order they were asked.
  std::optional<trial_record> find_trial(const std::string& run_id, const std::string& request_key, int occurrence);
  // A trial by its number: how a trial journaled by an optd before request keys is found.
  std::optional<trial_record> find_trial(const std::string& run_id, int number);
  // The highest trial number of the run; 0 when it has none.
  int last_trial_number(const std::string& run_id);
  // The `occurrence`-th (0-based) recorded call of this run (of this evaluation, when one is
  // named) with exactly this request, answered or still pending.
  std::optional<llm_call_record> find_llm_call(const std::string& run_id, const std::string& request_json,
                                               int occurrence, const std::string& evaluation_id = {});
  // Removes a run and everything recorded for it.
  void delete_run(const std::string& id);
  // For each score, the best (highest) of its means over the run's experiments: Opik's
  // feedback_scores of an optimization.
  std::vector<std::pair<std::string, double>> best_metric_means(const std::string& run_id);
  // A trial's experiment view: the summary kept when it ended, else summed from its finished
  // evaluations now (a running trial, or one a store before schema 7 finished).
  experiment_summary summary_of(const trial_record& t);

  // Trials.
  void insert_trial(const trial_record& t);
  void update_trial(const trial_record& t);
  // What an Opik client may change of an experiment it logged: type, candidate, name, metadata,
  // prompt, origin, experiment scores.
  void update_trial_details(const trial_record& t);
  std::vector<trial_record> trials(const std::string& run_id);
  std::optional<trial_record> trial_by_id(const std::string& id);

  // Evaluations: journal first (all pending rows of a trial in one transaction), then complete.
  void begin_evaluations(const std::vector<const evaluation_record*>& rows);
  void complete_evaluation(const evaluation_record& e);
  // Several completions in one transaction (group commit).
  void complete_evaluations(const std::vector<const evaluation_record*>& rows);
  std::vector<evaluation_record> evaluations(const std::string& trial_id);
  // A page of the Compare view, selected, sorted and paged in SQL.
  compare_page find_compare_items(const compare_query& q, std::int64_t offset, std::int64_t limit);
  std::optional<evaluation_record> evaluation_by_id(const std::string& id);
  // Rewrites a whole row (an SDK's experiment item, as more of its trace arrives).
  void replace_evaluation(const evaluation_record& e);
  // The experiment items that link an SDK's trace, and whether there is one.
  std::vector<evaluation_record> evaluations_of_trace(const std::string& trace_id);
  bool trace_linked(const std::string& trace_id);
  std::int64_t count_evaluations(const std::string& run_id, const std::string& status = {});
  // What the run's journal says it has spent: its evaluations' task answers and every model call
  // journaled under it (reasoning and judges). What a resumed run starts its budget from.
  double journaled_spend(const std::string& run_id);

  // What a provider's calls cost on a day ("2026-12-03", UTC), all runs together, kept apart
  // from the runs (deleting one does not give its money back): its daily budget's ledger.
  double provider_spend(std::string_view provider, std::string_view day);
  void add_provider_spend(std::string_view provider, std::string_view day, double usd);

  // Journals a call before it is sent (status pending), then its answer.
  void begin_llm_call(const llm_call_record& c);
  void complete_llm_call(const llm_call_record& c);
  // The judge calls of a trial's evaluations, in the order they were made.
  std::vector<llm_call_record> judge_calls(const std::string& trial_id);

  // The Opik outbox: appended in one transaction, delivered from the head in order.
  void enqueue(const std::vector<outbox_message>& messages, std::int64_t now_ms);
  std::vector<outbox_message> outbox_head(int limit);
  void outbox_delivered(std::int64_t seq);
  void outbox_failed(std::int64_t seq, const std::string& error, bool dead);
  outbox_stats outbox_state();

  // What Opik clients log into optd (idempotent by id; a score is replaced by name).
  void receive_trace(const received_trace& t);
  void receive_span(const std::string& id, const std::string& trace_id, double cost_usd, const core::token_usage& tokens);
  void receive_score(const std::string& trace_id, const std::string& name, double value, const std::string& reason);
  // A PATCH of a trace or span changes the fields it gives (the others stay); one not seen yet
  // is created with what the patch has.
  void patch_received_trace(const std::string& id, std::optional<std::int64_t> end_ms, std::optional<std::string> output,
                            std::optional<bool> failed, std::int64_t now_ms);
  void patch_received_span(const std::string& id, const std::string& trace_id, std::optional<double> cost_usd,
                           std::optional<core::token_usage> tokens);
  std::optional<received_trace> received(const std::string& trace_id);
  // Traces tagged with an optimization id that are no experiment item (the optimizer's own LLM
  // calls): Opik adds their spans' cost to the optimization's total. Linking a trace to an
  // experiment item untags it.
  void tag_received_trace(const std::string& trace_id, const std::string& run_id);
  void untag_received_trace(const std::string& trace_id);
  std::optional<std::string> tagged_run(const std::string& trace_id);
  spend tagged_spend(const std::string& run_id);

  // A run's log: one line per event, in order.
  void append_log(const std::string& run_id, std::int64_t ts_ms, std::string_view line);
  // From its `skip`th line on.
  std::vector<std::pair<std::int64_t, std::string>> logs(const std::string& run_id, std::int64_t skip = 0);

  // The Studio jobs this worker claimed from Opik's queue (by job id), until their records in
  // Redis are written; then `done`, and their API key forgotten.
  void save_studio_job(const studio_job_record& j);
  std::vector<studio_job_record> unfinished_studio_jobs();
  // The job run `run_id` was claimed for, the latest when several.
  std::optional<studio_job_record> studio_job_of_run(const std::string& run_id);
  // Forgets the keys of done jobs whose run has nothing left in the outbox (all written to Opik).
  void forget_delivered_studio_keys();
  std::vector<llm_call_record> llm_calls(const std::string& run_id);

 private:
  experiment_summary sum_experiment(const std::string& trial_id);

  struct statements;
  std::unique_ptr<database> db_;
  std::unique_ptr<statements> st_;
};

}  // namespace optd::store
