// The store's schema and its opening (migrations), runs, and their logs.
#include "store/store.hpp"

#include <functional>

#include "store/store_rows.hpp"

namespace optd::store {

using rows::read_run;
using rows::run_columns;
using rows::sql;

namespace {

constexpr int schema_version = 7;

constexpr std::string_view schema = R"sql(
CREATE TABLE IF NOT EXISTS datasets(
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, content_hash TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dataset_items(
  id TEXT PRIMARY KEY, dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  position INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS dataset_items_by_dataset ON dataset_items(dataset_id, position);
CREATE TABLE IF NOT EXISTS runs(
  id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, objective_name TEXT NOT NULL,
  dataset_name TEXT NOT NULL, spec TEXT NOT NULL, created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL, finish_reason TEXT NOT NULL, error TEXT NOT NULL, baseline_score REAL,
  best_score REAL, best_trial_id TEXT NOT NULL, cost_usd REAL NOT NULL, tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL, llm_calls INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trials(
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, number INTEGER NOT NULL,
  origin TEXT NOT NULL, prompt TEXT NOT NULL, status TEXT NOT NULL, score REAL, evaluated_count INTEGER NOT NULL,
  failed_count INTEGER NOT NULL, median_duration_s REAL NOT NULL, cost_usd REAL NOT NULL,
  tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS trials_by_run ON trials(run_id, number);
CREATE TABLE IF NOT EXISTS evaluations(
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, trial_id TEXT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  item_id TEXT NOT NULL, request TEXT NOT NULL, status TEXT NOT NULL, output TEXT NOT NULL, scores TEXT NOT NULL,
  objective REAL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, cost_usd REAL NOT NULL,
  latency_us INTEGER NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL, created_ms INTEGER NOT NULL,
  completed_ms INTEGER NOT NULL);
-- By trial and item: a trial's rows, and an item's evaluation in given trials (the Compare view).
CREATE INDEX IF NOT EXISTS evaluations_by_trial_item ON evaluations(trial_id, item_id);
-- By run only: an index on the status too would be rewritten by every completion (pending → completed).
CREATE INDEX IF NOT EXISTS evaluations_of_run ON evaluations(run_id);
CREATE TABLE IF NOT EXISTS llm_calls(
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, purpose TEXT NOT NULL, request TEXT NOT NULL, response TEXT NOT NULL,
  error TEXT NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, cost_usd REAL NOT NULL,
  latency_us INTEGER NOT NULL, created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS llm_calls_by_run ON llm_calls(run_id);
CREATE TABLE IF NOT EXISTS logs(run_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, line TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_run ON logs(run_id);
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
  body TEXT NOT NULL, created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '', dead INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS received_traces(
  id TEXT PRIMARY KEY, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, output TEXT NOT NULL, failed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS received_spans(
  id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, cost_usd REAL NOT NULL, tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS received_spans_by_trace ON received_spans(trace_id);
CREATE TABLE IF NOT EXISTS opik_datasets(name TEXT PRIMARY KEY);
-- The experiment view of a trial that is no longer running (store::experiment_summary; the
-- feedback scores as [{name, value}]), so that reading a run's experiments does not read every
-- evaluation again.
CREATE TABLE IF NOT EXISTS trial_summaries(
  trial_id TEXT PRIMARY KEY REFERENCES trials(id) ON DELETE CASCADE, trace_count INTEGER NOT NULL,
  feedback_scores TEXT NOT NULL, p50_ms REAL NOT NULL, p90_ms REAL NOT NULL, p99_ms REAL NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS opik_sent_datasets(
  destination TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY(destination, name));
CREATE TABLE IF NOT EXISTS received_tags(trace_id TEXT PRIMARY KEY, run_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS received_tags_by_run ON received_tags(run_id);
CREATE TABLE IF NOT EXISTS provider_spend(
  provider TEXT NOT NULL, day TEXT NOT NULL, usd REAL NOT NULL, PRIMARY KEY(provider, day));
CREATE TABLE IF NOT EXISTS studio_jobs(
  job_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, queue TEXT NOT NULL, execution TEXT NOT NULL,
  workspace_id TEXT NOT NULL, workspace_name TEXT NOT NULL, api_key TEXT NOT NULL, claimed_ms INTEGER NOT NULL,
  state TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, logs_sent INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS studio_jobs_by_run ON studio_jobs(run_id, claimed_ms);
CREATE TABLE IF NOT EXISTS received_scores(
  trace_id TEXT NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, reason TEXT NOT NULL, PRIMARY KEY(trace_id, name));
)sql";

// Columns added after version 1, with the version that added them: a new store gets them the same
// way an old one does, so there is one schema however a store began.
struct added_column {
  int version;
  std::string_view table, column, declaration;
};
constexpr added_column added_columns[] = {
    // 2: what Opik's optimization record carries besides the run itself.
    {2, "runs", "project_name", "TEXT NOT NULL DEFAULT ''"},
    {2, "runs", "metadata", "TEXT NOT NULL DEFAULT '{}'"},
    {2, "runs", "studio_config", "TEXT NOT NULL DEFAULT ''"},
    {2, "runs", "updated_ms", "INTEGER NOT NULL DEFAULT 0"},
    {2, "runs", "source", "TEXT NOT NULL DEFAULT ''"},
    // 3: what Opik's experiments and error reports carry, for runs an SDK logs into optd.
    {3, "runs", "error_info", "TEXT NOT NULL DEFAULT ''"},
    {3, "trials", "type", "TEXT NOT NULL DEFAULT 'trial'"},
    {3, "trials", "candidate_id", "TEXT NOT NULL DEFAULT ''"},
    {3, "trials", "name", "TEXT NOT NULL DEFAULT ''"},
    {3, "trials", "metadata", "TEXT NOT NULL DEFAULT ''"},
    {3, "trials", "experiment_scores", "TEXT NOT NULL DEFAULT '[]'"},
    {3, "evaluations", "trace_id", "TEXT NOT NULL DEFAULT ''"},
    // 4: how optd's engine finds a trial again when it resumes a run (by what was asked).
    {4, "trials", "request_key", "TEXT NOT NULL DEFAULT ''"},
    // 5: judge metrics (their calls' cost on the evaluation, the calls themselves by evaluation)
    // and calls journaled before they are sent.
    {5, "evaluations", "judge_cost_usd", "REAL NOT NULL DEFAULT 0"},
    {5, "evaluations", "judge_tokens_in", "INTEGER NOT NULL DEFAULT 0"},
    {5, "evaluations", "judge_tokens_out", "INTEGER NOT NULL DEFAULT 0"},
    {5, "evaluations", "judge_calls", "INTEGER NOT NULL DEFAULT 0"},
    {5, "llm_calls", "status", "TEXT NOT NULL DEFAULT 'answered'"},
    {5, "llm_calls", "evaluation_id", "TEXT NOT NULL DEFAULT ''"},
    {5, "llm_calls", "model", "TEXT NOT NULL DEFAULT ''"},
    {5, "llm_calls", "provider", "TEXT NOT NULL DEFAULT ''"},
    {5, "llm_calls", "logprobs", "TEXT NOT NULL DEFAULT ''"},
    // 6: one owner per store; which process executes a run, for the next owner to find it.
    {6, "runs", "executor", "TEXT NOT NULL DEFAULT ''"},
    // 7: holders of experiments logged without an optimization.
    {7, "runs", "kind", "TEXT NOT NULL DEFAULT ''"},
};

}  // namespace

store::store(const std::string& path, std::chrono::milliseconds busy_timeout)
    : db_(std::make_unique<database>(path, busy_timeout)) {
  // A 16 MiB page cache keeps a large trial's rows in memory between its insert and its updates.
  db_->exec_when_unlocked("PRAGMA journal_mode=WAL");
  db_->exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;");
  auto version = db_->prepare("PRAGMA user_version");
  version.step();
  auto current = version.int64(0);
  version.reset();
  if (current > schema_version)
    throw std::runtime_error("store " + path + " has schema version " + std::to_string(current) +
                             ", newer than this optd understands (" + std::to_string(schema_version) + ")");
  db_->exec(schema);
  if (current < schema_version) {
    transaction tx(*db_);
    for (const auto& c : added_columns) {  // every one, whatever the version says: a few lookups at open
      auto has = db_->prepare("SELECT count(*) FROM pragma_table_info(?1) WHERE name=?2");
      has.bind_all(c.table, c.column);
      has.step();
      bool present = has.int64(0) > 0;
      has.reset();
      if (!present)
        db_->exec("ALTER TABLE " + std::string(c.table) + " ADD COLUMN " + std::string(c.column) + " " +
                  std::string(c.declaration));
    }
    if (current < 6)  // until then, runs with a source were the daemon's; those without, but with a spec, `optd run`'s
      db_->exec("UPDATE runs SET executor = CASE WHEN source != '' THEN 'optd serve' ELSE 'optd run' END "
                "WHERE executor = '' AND (source != '' OR spec NOT IN ('', '{}'))");
    // 7: trial_summaries hold what trial_means held (per-metric means) and more; a trial that
    // ended before is summed from its evaluations when read.
    db_->exec("DROP TABLE IF EXISTS trial_means");
    db_->exec("PRAGMA user_version=" + std::to_string(schema_version));
    tx.commit();
  }
  // On columns a migration may have added; in place of one that cost every completion a write.
  db_->exec("CREATE INDEX IF NOT EXISTS evaluations_by_trace ON evaluations(trace_id) WHERE trace_id != '';"
            "CREATE INDEX IF NOT EXISTS trials_by_request ON trials(run_id, request_key) WHERE request_key != '';"
            "CREATE INDEX IF NOT EXISTS llm_calls_by_evaluation ON llm_calls(evaluation_id) WHERE evaluation_id != '';"
            "DROP INDEX IF EXISTS evaluations_by_run; DROP INDEX IF EXISTS evaluations_by_trial;");
  st_ = std::make_unique<statements>(*db_);
}

store::~store() = default;

void store::insert_run(const run_record& r) {
  db_->prepare(sql("INSERT INTO runs(", run_columns, ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
      .bind_all(r.id, r.name, core::to_string(r.status), r.objective_name, r.dataset_name, r.spec_json, r.created_ms, r.started_ms,
                r.ended_ms, r.finish_reason, r.error, r.baseline_score, r.best_score, r.best_trial_id, r.cost_usd,
                r.tokens.prompt_tokens, r.tokens.completion_tokens, r.llm_calls, r.project_name, r.metadata_json,
                r.studio_config_json, r.updated_ms, r.source, r.error_info_json, r.executor, r.kind)
      .run();
}

void store::update_run(const run_record& r) {
  st_->update_run
      .bind_all(r.id, core::to_string(r.status), r.started_ms, r.ended_ms, r.finish_reason, r.error, r.baseline_score, r.best_score,
                r.best_trial_id, r.cost_usd, r.tokens.prompt_tokens, r.tokens.completion_tokens, r.llm_calls,
                r.updated_ms, r.spec_json, r.error_info_json)
      .run();
}

void store::update_run_details(const std::string& id, const std::string& name, const std::string& metadata_json,
                               std::int64_t updated_ms) {
  db_->prepare("UPDATE runs SET name=?2, metadata=?3, updated_ms=?4 WHERE id=?1")
      .bind_all(id, name, metadata_json, updated_ms)
      .run();
}

std::optional<run_record> store::find_run(const std::string& id_or_prefix) {
  auto q = db_->prepare(sql("SELECT ", run_columns, " FROM runs WHERE id = ?1 OR (length(?1) >= 4 AND id LIKE ?1 || '%' AND kind = '') "
                                                    "ORDER BY id LIMIT 2"));
  q.bind(1, id_or_prefix);
  if (!q.step()) return std::nullopt;
  auto r = read_run(q);
  if (r.id != id_or_prefix && q.step()) return std::nullopt;  // ambiguous prefix
  return r;
}

std::vector<std::string> store::run_ids_with_prefix(const std::string& prefix, int limit) {
  auto q = db_->prepare("SELECT id FROM runs WHERE length(?1) >= 4 AND id LIKE ?1 || '%' AND kind = '' ORDER BY id LIMIT ?2");
  q.bind_all(prefix, limit);
  std::vector<std::string> ids;
  while (q.step()) ids.push_back(q.text(0));
  return ids;
}

std::vector<run_record> store::list_runs(int limit) {
  auto q = db_->prepare(sql("SELECT ", run_columns, " FROM runs ORDER BY id DESC LIMIT ?"));
  q.bind(1, limit);
  std::vector<run_record> out;
  while (q.step()) out.push_back(read_run(q));
  return out;
}

namespace {

// A metadata key as SQLite's JSON path: `$…` as given, else one top-level key, quoted.
std::string json_path(const std::string& key) {
  if (!key.empty() && key[0] == '$') return key;
  std::string quoted;
  for (char c : key) quoted += c == '"' ? std::string("\\\"") : std::string(1, c);
  return "$.\"" + quoted + "\"";
}

// One condition as SQL over `runs`, appended to `b`.
void add_condition(rows::sql_builder& b, const run_query::condition& c) {
  using on = run_query::condition::on;
  std::string column = c.field == on::status         ? "status"
                       : c.field == on::dataset_name ? "dataset_name"
                       : c.field == on::project_name ? "project_name"
                                                     : "";
  if (c.field == on::metadata) {
    b.add(json_path(c.key));
    column = "CAST(json_extract(CASE WHEN json_valid(metadata) THEN metadata ELSE '{}' END, ?) AS TEXT)";
  }
  bool exact = c.field == on::project_name || c.field == on::dataset_name;  // names an id stands for
  std::string lowered = exact ? column : "lower(coalesce(" + column + ", ''))", value_sql = exact ? "?" : "lower(?)";
  if (c.op == "is_empty" || c.op == "is_not_empty") {
    b.text += "(" + lowered + (c.op == "is_empty" ? " IN ('', 'null'))" : " NOT IN ('', 'null'))");
  } else if (c.op == "in" || c.op == "not_in") {
    std::string list;
    for (const auto& v : c.values) {
      b.add(v);
      list += (list.empty() ? "" : ", ") + value_sql;
    }
    if (list.empty()) b.text += c.op == "in" ? "0" : "1";
    else b.text += lowered + (c.op == "in" ? " IN (" : " NOT IN (") + list + ")";
  } else if (c.op == "=" || c.op == "!=") {
    b.add(c.values.empty() ? std::string() : c.values.front());
    b.text += lowered + " " + c.op + " " + value_sql;
  } else {
    bool anywhere = c.op == "contains" || c.op == "not_contains";
    b.add(rows::like_pattern(c.values.empty() ? std::string() : c.values.front(), anywhere || c.op == "ends_with",
                             anywhere || c.op == "starts_with"));
    b.text += lowered + (c.op == "not_contains" ? " NOT" : "") + " LIKE lower(?) ESCAPE '\\'";
  }
}

}  // namespace

run_page store::find_runs(const run_query& q, std::int64_t offset, std::int64_t limit) {
  rows::sql_builder where;
  where.text = "kind = ''";
  auto contains = [&](const char* column, const std::string& text) {
    where.text += std::string(" AND lower(") + column + ") LIKE lower(?) ESCAPE '\\'";
    where.add(rows::like_pattern(text, true, true));
  };
  if (!q.name_contains.empty()) contains("name", q.name_contains);
  if (!q.dataset_contains.empty()) contains("dataset_name", q.dataset_contains);
  for (const auto& c : q.conditions) {
    where.text += " AND ";
    add_condition(where, c);
  }
  run_page page;
  auto count = db_->prepare("SELECT count(*) FROM runs WHERE " + where.text);
  where.bind_to(count);
  count.step();
  page.total = count.int64(0);
  auto rows = db_->prepare(sql("SELECT ", run_columns, " FROM runs WHERE " + where.text + " ORDER BY id DESC LIMIT ? OFFSET ?"));
  int bound = where.bind_to(rows);
  rows.bind(bound + 1, limit);
  rows.bind(bound + 2, offset);
  while (rows.step()) page.runs.push_back(read_run(rows));
  return page;
}

std::vector<std::string> store::project_names() {
  auto q = db_->prepare("SELECT DISTINCT project_name FROM runs");
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.text(0));
  return out;
}

void store::delete_run(const std::string& id) {
  transaction tx(*db_);
  db_->prepare("DELETE FROM evaluations WHERE run_id=?").bind_all(id).run();
  db_->prepare("DELETE FROM trials WHERE run_id=?").bind_all(id).run();
  db_->prepare("DELETE FROM llm_calls WHERE run_id=?").bind_all(id).run();
  db_->prepare("DELETE FROM received_tags WHERE run_id=?").bind_all(id).run();
  db_->prepare("DELETE FROM logs WHERE run_id=?").bind_all(id).run();
  db_->prepare("DELETE FROM runs WHERE id=?").bind_all(id).run();
  tx.commit();
}

std::vector<run_record> store::unfinished_runs() {
  auto q = db_->prepare(sql("SELECT ", run_columns, " FROM runs WHERE status IN ('initialized', 'running') ORDER BY id"));
  std::vector<run_record> out;
  while (q.step()) out.push_back(read_run(q));
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> store::count_runs_by_status() {
  auto q = db_->prepare("SELECT status, count(*) FROM runs WHERE kind = '' GROUP BY status ORDER BY status");
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (q.step()) out.emplace_back(q.text(0), q.int64(1));
  return out;
}

void store::append_log(const std::string& run_id, std::int64_t ts_ms, std::string_view line) {
  st_->append_log.bind_all(run_id, ts_ms, line).run();
}

std::vector<std::pair<std::int64_t, std::string>> store::logs(const std::string& run_id, std::int64_t skip) {
  auto q = db_->prepare("SELECT ts_ms, line FROM logs WHERE run_id=?1 ORDER BY rowid LIMIT -1 OFFSET ?2");
  q.bind_all(run_id, skip);
  std::vector<std::pair<std::int64_t, std::string>> out;
  while (q.step()) out.emplace_back(q.int64(0), q.text(1));
  return out;
}

}  // namespace optd::store
