#pragma once
// Inside the store only: the column lists and row readers its files share, and the statements it
// prepares once (store.cpp opens the store; store_*.cpp hold one topic each).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite.hpp"
#include "store/store.hpp"

namespace optd::store {
namespace rows {

constexpr std::string_view run_columns =
    "id, name, status, objective_name, dataset_name, spec, created_ms, started_ms, ended_ms, finish_reason, error, "
    "baseline_score, best_score, best_trial_id, cost_usd, tokens_in, tokens_out, llm_calls, project_name, metadata, "
    "studio_config, updated_ms, source, error_info, executor, kind";

constexpr std::string_view trial_columns =
    "id, run_id, number, origin, prompt, status, score, evaluated_count, failed_count, median_duration_s, cost_usd, "
    "tokens_in, tokens_out, started_ms, ended_ms, type, candidate_id, name, metadata, experiment_scores, request_key";

constexpr std::string_view evaluation_columns =
    "id, run_id, trial_id, item_id, request, status, output, scores, objective, tokens_in, tokens_out, cost_usd, "
    "latency_us, attempts, error, created_ms, completed_ms, trace_id, judge_cost_usd, judge_tokens_in, judge_tokens_out, "
    "judge_calls";

constexpr std::string_view llm_call_columns =
    "id, run_id, purpose, request, response, error, tokens_in, tokens_out, cost_usd, latency_us, created_ms, status, "
    "evaluation_id, model, provider, logprobs";

constexpr std::string_view studio_job_columns =
    "job_id, run_id, queue, execution, workspace_id, workspace_name, api_key, claimed_ms, state, outcome, detail, "
    "logs_sent";

inline std::string sql(std::string_view head, std::string_view columns, std::string_view tail = {}) {
  return std::string(head) + std::string(columns) + std::string(tail);
}

// A LIKE pattern (ESCAPE '\\') matching `x` literally, with any text before and after it as asked.
inline std::string like_pattern(const std::string& x, bool any_before, bool any_after) {
  std::string out = any_before ? "%" : "";
  for (char c : x) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  if (any_after) out += '%';
  return out;
}

// SQL text built in pieces with the values of its `?`s, bound in the order they were added (the
// order of the `?`s in the text).
struct sql_builder {
  std::string text;
  std::vector<std::string> texts;
  std::vector<std::optional<double>> numbers;  // nullopt: the bind is texts' next
  void add(const std::string& s) {
    numbers.emplace_back();
    texts.push_back(s);
  }
  void add(double d) { numbers.emplace_back(d); }
  // Binds them all; returns the number of `?`s bound.
  int bind_to(statement& q) const {
    std::size_t next_text = 0;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      if (numbers[i]) q.bind(static_cast<int>(i + 1), *numbers[i]);
      else q.bind(static_cast<int>(i + 1), texts[next_text++]);
    }
    return static_cast<int>(numbers.size());
  }
};

inline std::optional<double> opt_real(const statement& s, int col) {
  return s.is_null(col) ? std::nullopt : std::optional<double>(s.real(col));
}

inline run_record read_run(const statement& s) {
  run_record r;
  r.id = s.text(0);
  r.name = s.text(1);
  r.status = core::run_status_from_string(s.text(2)).value_or(core::run_status::error);
  r.objective_name = s.text(3);
  r.dataset_name = s.text(4);
  r.spec_json = s.text(5);
  r.created_ms = s.int64(6);
  r.started_ms = s.int64(7);
  r.ended_ms = s.int64(8);
  r.finish_reason = s.text(9);
  r.error = s.text(10);
  r.baseline_score = opt_real(s, 11);
  r.best_score = opt_real(s, 12);
  r.best_trial_id = s.text(13);
  r.cost_usd = s.real(14);
  r.tokens = {s.int64(15), s.int64(16)};
  r.llm_calls = s.int64(17);
  r.project_name = s.text(18);
  r.metadata_json = s.text(19);
  r.studio_config_json = s.text(20);
  r.updated_ms = s.int64(21);
  r.source = s.text(22);
  r.error_info_json = s.text(23);
  r.executor = s.text(24);
  r.kind = s.text(25);
  return r;
}

inline trial_record read_trial(const statement& s) {
  trial_record t;
  t.id = s.text(0);
  t.run_id = s.text(1);
  t.number = static_cast<int>(s.int64(2));
  t.origin = s.text(3);
  t.prompt_json = s.text(4);
  t.status = s.text(5);
  t.score = opt_real(s, 6);
  t.evaluated_count = s.int64(7);
  t.failed_count = s.int64(8);
  t.median_duration_s = s.real(9);
  t.cost_usd = s.real(10);
  t.tokens = {s.int64(11), s.int64(12)};
  t.started_ms = s.int64(13);
  t.ended_ms = s.int64(14);
  t.type = s.text(15);
  t.candidate_id = s.text(16);
  t.name = s.text(17);
  t.metadata_json = s.text(18);
  t.experiment_scores_json = s.text(19);
  t.request_key = s.text(20);
  return t;
}

inline evaluation_record read_evaluation(const statement& s) {
  evaluation_record e;
  e.id = s.text(0);
  e.run_id = s.text(1);
  e.trial_id = s.text(2);
  e.item_id = s.text(3);
  e.request_json = s.text(4);
  e.status = s.text(5);
  e.output = s.text(6);
  e.scores_json = s.text(7);
  e.objective = opt_real(s, 8);
  e.tokens = {s.int64(9), s.int64(10)};
  e.cost_usd = s.real(11);
  e.latency_us = s.int64(12);
  e.attempts = static_cast<int>(s.int64(13));
  e.error = s.text(14);
  e.created_ms = s.int64(15);
  e.completed_ms = s.int64(16);
  e.trace_id = s.text(17);
  e.judge_cost_usd = s.real(18);
  e.judge_tokens = {s.int64(19), s.int64(20)};
  e.judge_calls = static_cast<int>(s.int64(21));
  return e;
}

inline studio_job_record read_studio_job(const statement& s) {
  studio_job_record j;
  j.job_id = s.text(0);
  j.run_id = s.text(1);
  j.queue = s.text(2);
  j.execution = s.text(3);
  j.workspace_id = s.text(4);
  j.workspace_name = s.text(5);
  j.api_key = s.text(6);
  j.claimed_ms = s.int64(7);
  j.state = s.text(8);
  j.outcome = s.text(9);
  j.detail = s.text(10);
  j.logs_sent = s.int64(11);
  return j;
}

inline llm_call_record read_llm_call(const statement& s) {
  return {s.text(0), s.text(1),  s.text(2),  s.text(3),  s.text(4),  s.text(5),  {s.int64(6), s.int64(7)},
          s.real(8), s.int64(9), s.int64(10), s.text(11), s.text(12), s.text(13), s.text(14), s.text(15)};
}

}  // namespace rows

// Statements on the hot path are prepared once.
struct store::statements {
  statement insert_evaluation;
  statement complete_evaluation;
  statement update_run;
  statement update_trial;
  statement append_log;
  explicit statements(const database& db)
      : insert_evaluation(db.prepare(rows::sql("INSERT INTO evaluations(", rows::evaluation_columns,
                                               ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))),
        complete_evaluation(db.prepare(
            "UPDATE evaluations SET status=?2, output=?3, scores=?4, objective=?5, tokens_in=?6, tokens_out=?7, "
            "cost_usd=?8, latency_us=?9, attempts=?10, error=?11, completed_ms=?12, judge_cost_usd=?13, "
            "judge_tokens_in=?14, judge_tokens_out=?15, judge_calls=?16 WHERE id=?1")),
        update_run(db.prepare(
            "UPDATE runs SET status=?2, started_ms=?3, ended_ms=?4, finish_reason=?5, error=?6, baseline_score=?7, "
            "best_score=?8, best_trial_id=?9, cost_usd=?10, tokens_in=?11, tokens_out=?12, llm_calls=?13, "
            "updated_ms=?14, spec=CASE WHEN ?15 = '{}' THEN spec ELSE ?15 END, error_info=?16 WHERE id=?1")),
        update_trial(db.prepare(
            "UPDATE trials SET status=?2, score=?3, evaluated_count=?4, failed_count=?5, median_duration_s=?6, "
            "cost_usd=?7, tokens_in=?8, tokens_out=?9, ended_ms=?10 WHERE id=?1")),
        append_log(db.prepare("INSERT INTO logs(run_id, ts_ms, line) VALUES(?,?,?)")) {}
};

}  // namespace optd::store
