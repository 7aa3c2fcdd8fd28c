// What Opik clients log into optd: traces, spans, scores, and the tags that tie an optimizer's
// own calls to its run.
#include "store/store.hpp"

#include "store/sqlite.hpp"

namespace optd::store {

void store::receive_trace(const received_trace& t) {
  db_->prepare("INSERT OR IGNORE INTO received_traces(id, start_ms, end_ms, output, failed) VALUES(?,?,?,?,?)")
      .bind_all(t.id, t.start_ms, t.end_ms, t.output, t.failed ? 1 : 0)
      .run();
}

void store::receive_span(const std::string& id, const std::string& trace_id, double cost_usd,
                         const core::token_usage& tokens) {
  db_->prepare("INSERT OR IGNORE INTO received_spans(id, trace_id, cost_usd, tokens_in, tokens_out) VALUES(?,?,?,?,?)")
      .bind_all(id, trace_id, cost_usd, tokens.prompt_tokens, tokens.completion_tokens)
      .run();
}

void store::receive_score(const std::string& trace_id, const std::string& name, double value, const std::string& reason) {
  db_->prepare("INSERT OR REPLACE INTO received_scores(trace_id, name, value, reason) VALUES(?,?,?,?)")
      .bind_all(trace_id, name, value, reason)
      .run();
}

void store::patch_received_trace(const std::string& id, std::optional<std::int64_t> end_ms,
                                 std::optional<std::string> output, std::optional<bool> failed, std::int64_t now_ms) {
  std::optional<std::int64_t> failed_flag;
  if (failed) failed_flag = *failed ? 1 : 0;
  db_->prepare(
         "INSERT INTO received_traces(id, start_ms, end_ms, output, failed) "
         "VALUES(?1, coalesce(?2, ?5), coalesce(?2, ?5), coalesce(?3, ''), coalesce(?4, 0)) ON CONFLICT(id) DO UPDATE "
         "SET end_ms = coalesce(?2, end_ms), output = coalesce(?3, output), failed = coalesce(?4, failed)")
      .bind_all(id, end_ms, output, failed_flag, now_ms)
      .run();
}

void store::patch_received_span(const std::string& id, const std::string& trace_id, std::optional<double> cost_usd,
                                std::optional<core::token_usage> tokens) {
  std::optional<std::int64_t> in, out;
  if (tokens) in = tokens->prompt_tokens, out = tokens->completion_tokens;
  db_->prepare(
         "INSERT INTO received_spans(id, trace_id, cost_usd, tokens_in, tokens_out) "
         "VALUES(?1, ?2, coalesce(?3, 0), coalesce(?4, 0), coalesce(?5, 0)) ON CONFLICT(id) DO UPDATE "
         "SET cost_usd = coalesce(?3, cost_usd), tokens_in = coalesce(?4, tokens_in), tokens_out = coalesce(?5, tokens_out)")
      .bind_all(id, trace_id, cost_usd, in, out)
      .run();
}

std::optional<received_trace> store::received(const std::string& trace_id) {
  auto q = db_->prepare(
      "SELECT t.id, t.start_ms, t.end_ms, t.output, t.failed, "
      "coalesce((SELECT sum(cost_usd) FROM received_spans WHERE trace_id = t.id), 0), "
      "coalesce((SELECT sum(tokens_in) FROM received_spans WHERE trace_id = t.id), 0), "
      "coalesce((SELECT sum(tokens_out) FROM received_spans WHERE trace_id = t.id), 0), "
      "(SELECT json_group_array(json_object('name', name, 'value', value, 'reason', reason)) "
      " FROM received_scores WHERE trace_id = t.id) FROM received_traces t WHERE t.id = ?");
  q.bind(1, trace_id);
  if (!q.step()) return std::nullopt;
  return received_trace{q.text(0), q.int64(1), q.int64(2), q.text(3), q.int64(4) != 0, q.real(5),
                        {q.int64(6), q.int64(7)}, q.text(8)};
}

void store::tag_received_trace(const std::string& trace_id, const std::string& run_id) {
  db_->prepare("INSERT OR IGNORE INTO received_tags(trace_id, run_id) VALUES(?,?)").bind_all(trace_id, run_id).run();
}

void store::untag_received_trace(const std::string& trace_id) {
  db_->prepare("DELETE FROM received_tags WHERE trace_id=?").bind_all(trace_id).run();
}

std::optional<std::string> store::tagged_run(const std::string& trace_id) {
  auto q = db_->prepare("SELECT run_id FROM received_tags WHERE trace_id=?");
  q.bind_all(trace_id);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

spend store::tagged_spend(const std::string& run_id) {
  auto q = db_->prepare(
      "SELECT coalesce(sum(s.cost_usd), 0), coalesce(sum(s.tokens_in), 0), coalesce(sum(s.tokens_out), 0) "
      "FROM received_tags t JOIN received_spans s ON s.trace_id = t.trace_id WHERE t.run_id=?");
  q.bind_all(run_id);
  q.step();
  return {q.real(0), {q.int64(1), q.int64(2)}};
}

}  // namespace optd::store
