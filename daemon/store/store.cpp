#include "store/store.hpp"

#include <functional>

#include "core/uuid.hpp"
#include "store/sqlite.hpp"

namespace optd::store {
namespace {

constexpr int schema_version = 3;

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
CREATE INDEX IF NOT EXISTS evaluations_by_trial ON evaluations(trial_id);
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
-- Per-metric means of a trial that is no longer running, [{name, mean}], so that reading a run's
-- best means does not parse every evaluation's scores again.
CREATE TABLE IF NOT EXISTS trial_means(trial_id TEXT PRIMARY KEY, means TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS opik_sent_datasets(
  destination TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY(destination, name));
CREATE TABLE IF NOT EXISTS received_tags(trace_id TEXT PRIMARY KEY, run_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS received_tags_by_run ON received_tags(run_id);
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
};

constexpr std::string_view run_columns =
    "id, name, status, objective_name, dataset_name, spec, created_ms, started_ms, ended_ms, finish_reason, error, "
    "baseline_score, best_score, best_trial_id, cost_usd, tokens_in, tokens_out, llm_calls, project_name, metadata, "
    "studio_config, updated_ms, source, error_info";

constexpr std::string_view trial_columns =
    "id, run_id, number, origin, prompt, status, score, evaluated_count, failed_count, median_duration_s, cost_usd, "
    "tokens_in, tokens_out, started_ms, ended_ms, type, candidate_id, name, metadata, experiment_scores";

constexpr std::string_view evaluation_columns =
    "id, run_id, trial_id, item_id, request, status, output, scores, objective, tokens_in, tokens_out, cost_usd, "
    "latency_us, attempts, error, created_ms, completed_ms, trace_id";

std::string sql(std::string_view head, std::string_view columns, std::string_view tail = {}) {
  return std::string(head) + std::string(columns) + std::string(tail);
}

std::optional<double> opt_real(const statement& s, int col) {
  return s.is_null(col) ? std::nullopt : std::optional<double>(s.real(col));
}

run_record read_run(const statement& s) {
  run_record r;
  r.id = s.text(0);
  r.name = s.text(1);
  r.status = s.text(2);
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
  return r;
}

trial_record read_trial(const statement& s) {
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
  return t;
}

evaluation_record read_evaluation(const statement& s) {
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
  return e;
}

}  // namespace

// Statements on the hot path are prepared once.
struct store::statements {
  statement insert_evaluation;
  statement complete_evaluation;
  statement update_run;
  statement update_trial;
  statement append_log;
  explicit statements(const database& db)
      : insert_evaluation(db.prepare(sql("INSERT INTO evaluations(", evaluation_columns,
                                         ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))),
        complete_evaluation(db.prepare(
            "UPDATE evaluations SET status=?2, output=?3, scores=?4, objective=?5, tokens_in=?6, tokens_out=?7, "
            "cost_usd=?8, latency_us=?9, attempts=?10, error=?11, completed_ms=?12 WHERE id=?1")),
        update_run(db.prepare(
            "UPDATE runs SET status=?2, started_ms=?3, ended_ms=?4, finish_reason=?5, error=?6, baseline_score=?7, "
            "best_score=?8, best_trial_id=?9, cost_usd=?10, tokens_in=?11, tokens_out=?12, llm_calls=?13, "
            "updated_ms=?14, spec=CASE WHEN ?15 = '{}' THEN spec ELSE ?15 END, error_info=?16 WHERE id=?1")),
        update_trial(db.prepare(
            "UPDATE trials SET status=?2, score=?3, evaluated_count=?4, failed_count=?5, median_duration_s=?6, "
            "cost_usd=?7, tokens_in=?8, tokens_out=?9, ended_ms=?10 WHERE id=?1")),
        append_log(db.prepare("INSERT INTO logs(run_id, ts_ms, line) VALUES(?,?,?)")) {}
};

store::store(const std::string& path) : db_(std::make_unique<database>(path)) {
  // A 16 MiB page cache keeps a large trial's rows in memory between its insert and its updates.
  db_->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;");
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
    db_->exec("PRAGMA user_version=" + std::to_string(schema_version));
    tx.commit();
  }
  // On columns a migration may have added; in place of one that cost every completion a write.
  db_->exec("CREATE INDEX IF NOT EXISTS evaluations_by_trace ON evaluations(trace_id) WHERE trace_id != '';"
            "DROP INDEX IF EXISTS evaluations_by_run;");
  st_ = std::make_unique<statements>(*db_);
}

store::~store() = default;

std::string store::put_dataset(const std::string& name, const std::vector<nlohmann::json>& rows,
                               const std::string& hash, const std::function<std::string()>& make_id,
                               std::int64_t now_ms) {
  auto find = db_->prepare("SELECT id, content_hash FROM datasets WHERE name=?");
  find.bind(1, name);
  std::string id;
  if (find.step()) {
    id = find.text(0);
    if (find.text(1) == hash) return id;
  }
  find.reset();
  transaction tx(*db_);
  if (id.empty()) {
    id = make_id();
    db_->prepare("INSERT INTO datasets(id, name, content_hash, created_ms) VALUES(?,?,?,?)")
        .bind_all(id, name, hash, now_ms)
        .run();
  } else {
    db_->prepare("UPDATE datasets SET content_hash=? WHERE id=?").bind_all(hash, id).run();
    db_->prepare("DELETE FROM dataset_items WHERE dataset_id=?").bind_all(id).run();
    db_->prepare("DELETE FROM opik_datasets WHERE name=?").bind_all(name).run();  // optd's own now
  }
  auto insert = db_->prepare("INSERT INTO dataset_items(id, dataset_id, position, data) VALUES(?,?,?,?)");
  std::int64_t pos = 0;
  for (const auto& row : rows) insert.bind_all(make_id(), id, pos++, row.dump()).run();
  tx.commit();
  return id;
}

std::optional<std::vector<core::dataset_item>> store::dataset_items(const std::string& name) {
  auto q = db_->prepare(
      "SELECT i.id, i.data FROM dataset_items i JOIN datasets d ON d.id = i.dataset_id WHERE d.name=? "
      "ORDER BY i.position");
  q.bind(1, name);
  std::vector<core::dataset_item> items;
  while (q.step()) items.push_back({q.text(0), nlohmann::json::parse(q.text(1))});
  if (items.empty()) {
    auto exists = db_->prepare("SELECT 1 FROM datasets WHERE name=?");
    exists.bind(1, name);
    if (!exists.step()) return std::nullopt;
  }
  return items;
}

namespace {

constexpr std::string_view dataset_query =
    "SELECT d.id, d.name, d.content_hash, d.created_ms, (SELECT count(*) FROM dataset_items i WHERE i.dataset_id = d.id) "
    "FROM datasets d";

dataset_record read_dataset(const statement& q) {
  return {q.text(0), q.text(1), "", q.int64(3), q.int64(4)};
}

}  // namespace

std::vector<core::trial_stats> trial_stats(const std::vector<trial_record>& trials, const std::string& objective_name) {
  std::vector<core::trial_stats> stats;
  stats.reserve(trials.size());
  for (const auto& t : trials) {
    auto& s = stats.emplace_back();
    s.id = t.id;
    s.candidate_id = t.candidate_id;
    s.screening = t.type == "mini-batch" || t.type == "mutation";
    s.created_order = t.number;
    s.trace_count = t.evaluated_count + t.failed_count;
    s.score = t.score;
    if (!s.score)  // Opik's fallback: an experiment-level score of the objective's name
      for (const auto& e : parse_scores(t.experiment_scores_json))
        if (e.name == objective_name) s.score = e.value;
    if (s.trace_count > 0) s.median_duration_s = t.median_duration_s;
    s.cost_usd = t.cost_usd;
  }
  return stats;
}

void summarize_trial(trial_record& t, const std::vector<const evaluation_record*>& evaluations) {
  double sum = 0;
  std::vector<double> durations;
  t.evaluated_count = t.failed_count = 0;
  t.cost_usd = 0;
  t.tokens = {};
  for (const auto* e : evaluations) {
    t.cost_usd += e->cost_usd;
    t.tokens.prompt_tokens += e->tokens.prompt_tokens;
    t.tokens.completion_tokens += e->tokens.completion_tokens;
    if (e->status == "pending") continue;
    durations.push_back(static_cast<double>(e->latency_us) / 1e6);
    if (e->status == "completed" && e->objective) {
      ++t.evaluated_count;
      sum += *e->objective;
    } else {
      ++t.failed_count;
    }
  }
  t.score = t.evaluated_count ? std::optional<double>(sum / static_cast<double>(t.evaluated_count)) : std::nullopt;
  t.median_duration_s = core::median(std::move(durations));
}

std::string trace_id_of(const evaluation_record& e) {
  return e.trace_id.empty() ? core::derived_uuid_v7(e.id, "trace") : e.trace_id;
}

std::int64_t call_started_ms(const evaluation_record& e) {
  if (e.completed_ms == 0) return e.created_ms;
  return std::max(e.created_ms, e.completed_ms - e.latency_us / 1000);
}

std::vector<metric_score> parse_scores(const std::string& scores_json) {
  std::vector<metric_score> out;
  auto scores = nlohmann::json::parse(scores_json, nullptr, false);
  if (scores.is_array())
    for (const auto& s : scores)
      if (s.is_object()) out.push_back({s.value("name", ""), s.value("value", 0.0), s.value("reason", "")});
  return out;
}

std::vector<metric_score> trace_scores(const evaluation_record& e, const std::string& objective_name) {
  auto metrics = parse_scores(e.scores_json);
  std::vector<metric_score> out;
  out.reserve(metrics.size() + 1);
  if (e.objective) out.push_back({objective_name, *e.objective, ""});
  for (auto& m : metrics) {
    if (m.name != objective_name) out.push_back(std::move(m));
    else if (!e.objective) out.push_back(std::move(m));
    else out.front().reason = std::move(m.reason);  // the objective is this metric: keep its reason
  }
  return out;
}

std::optional<dataset_record> store::find_dataset(const std::string& name_or_id) {
  auto q = db_->prepare(std::string(dataset_query) + " WHERE d.name = ?1 OR d.id = ?1 LIMIT 1");
  q.bind(1, name_or_id);
  if (!q.step()) return std::nullopt;
  return read_dataset(q);
}

std::vector<dataset_record> store::list_datasets() {
  auto q = db_->prepare(std::string(dataset_query) + " ORDER BY d.created_ms DESC, d.id DESC");
  std::vector<dataset_record> out;
  while (q.step()) out.push_back(read_dataset(q));
  return out;
}

bool store::create_dataset(const std::string& id, const std::string& name, const std::string& description,
                           std::int64_t now_ms) {
  if (find_dataset(name)) return false;
  (void)description;
  db_->prepare("INSERT INTO datasets(id, name, content_hash, created_ms) VALUES(?,?,'',?)").bind_all(id, name, now_ms).run();
  return true;
}

void store::upsert_dataset_items(const std::string& dataset_id, const std::vector<core::dataset_item>& items) {
  transaction tx(*db_);
  auto next = db_->prepare("SELECT coalesce(max(position), -1) + 1 FROM dataset_items WHERE dataset_id=?");
  next.bind(1, dataset_id);
  next.step();
  auto position = next.int64(0);
  next.reset();
  auto update = db_->prepare("UPDATE dataset_items SET data=?3 WHERE id=?1 AND dataset_id=?2");
  auto insert = db_->prepare("INSERT INTO dataset_items(id, dataset_id, position, data) VALUES(?,?,?,?)");
  for (const auto& item : items) {
    auto data = item.data.dump();
    update.bind_all(item.id, dataset_id, data).run();
    if (db_->changes() == 0) insert.bind_all(item.id, dataset_id, position++, data).run();
  }
  // A changed dataset is no longer the file `optd run` stored: the next run of that file reloads it.
  db_->prepare("UPDATE datasets SET content_hash='' WHERE id=?").bind_all(dataset_id).run();
  tx.commit();
}

std::vector<core::dataset_item> store::dataset_items_after(const std::string& dataset_id, const std::string& after_id,
                                                           std::int64_t limit, std::int64_t offset) {
  auto q = db_->prepare(
      "SELECT id, data FROM dataset_items WHERE dataset_id=?1 AND position > coalesce((SELECT position FROM "
      "dataset_items WHERE id=?2 AND dataset_id=?1), -1) ORDER BY position LIMIT ?3 OFFSET ?4");
  q.bind_all(dataset_id, after_id, limit, offset);
  std::vector<core::dataset_item> out;
  while (q.step()) out.push_back({q.text(0), nlohmann::json::parse(q.text(1))});
  return out;
}

std::optional<std::vector<nlohmann::json>> store::dataset_rows(const std::string& name) {
  auto items = dataset_items(name);
  if (!items) return std::nullopt;
  std::vector<nlohmann::json> rows;
  rows.reserve(items->size());
  for (auto& i : *items) rows.push_back(std::move(i.data));
  return rows;
}

void store::insert_run(const run_record& r) {
  db_->prepare(sql("INSERT INTO runs(", run_columns, ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
      .bind_all(r.id, r.name, r.status, r.objective_name, r.dataset_name, r.spec_json, r.created_ms, r.started_ms,
                r.ended_ms, r.finish_reason, r.error, r.baseline_score, r.best_score, r.best_trial_id, r.cost_usd,
                r.tokens.prompt_tokens, r.tokens.completion_tokens, r.llm_calls, r.project_name, r.metadata_json,
                r.studio_config_json, r.updated_ms, r.source, r.error_info_json)
      .run();
}

void store::update_run(const run_record& r) {
  st_->update_run
      .bind_all(r.id, r.status, r.started_ms, r.ended_ms, r.finish_reason, r.error, r.baseline_score, r.best_score,
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
  auto q = db_->prepare(sql("SELECT ", run_columns, " FROM runs WHERE id = ?1 OR (length(?1) >= 4 AND id LIKE ?1 || '%') "
                                                    "ORDER BY id LIMIT 2"));
  q.bind(1, id_or_prefix);
  if (!q.step()) return std::nullopt;
  auto r = read_run(q);
  if (r.id != id_or_prefix && q.step()) return std::nullopt;  // ambiguous prefix
  return r;
}

std::vector<run_record> store::list_runs(int limit) {
  auto q = db_->prepare(sql("SELECT ", run_columns, " FROM runs ORDER BY id DESC LIMIT ?"));
  q.bind(1, limit);
  std::vector<run_record> out;
  while (q.step()) out.push_back(read_run(q));
  return out;
}

void store::delete_run(const std::string& id) {
  transaction tx(*db_);
  db_->prepare("DELETE FROM evaluations WHERE run_id=?").bind_all(id).run();
  db_->prepare("DELETE FROM trial_means WHERE trial_id IN (SELECT id FROM trials WHERE run_id=?)").bind_all(id).run();
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
  auto q = db_->prepare("SELECT status, count(*) FROM runs GROUP BY status ORDER BY status");
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (q.step()) out.emplace_back(q.text(0), q.int64(1));
  return out;
}

void store::enqueue(const std::vector<outbox_message>& messages, std::int64_t now_ms) {
  transaction tx(*db_);
  auto q = db_->prepare("INSERT INTO outbox(run_id, method, path, body, created_ms) VALUES(?,?,?,?,?)");
  for (const auto& m : messages) q.bind_all(m.run_id, m.method, m.path, m.body, now_ms).run();
  tx.commit();
}

std::vector<outbox_message> store::outbox_head(int limit) {
  auto q = db_->prepare(
      "SELECT seq, run_id, method, path, body, created_ms, attempts, last_error FROM outbox WHERE dead = 0 "
      "ORDER BY seq LIMIT ?");
  q.bind(1, limit);
  std::vector<outbox_message> out;
  while (q.step())
    out.push_back({q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4), q.int64(5), static_cast<int>(q.int64(6)),
                   q.text(7)});
  return out;
}

void store::outbox_delivered(std::int64_t seq) { db_->prepare("DELETE FROM outbox WHERE seq=?").bind_all(seq).run(); }

void store::outbox_failed(std::int64_t seq, const std::string& error, bool dead) {
  db_->prepare("UPDATE outbox SET attempts = attempts + 1, last_error=?2, dead=?3 WHERE seq=?1")
      .bind_all(seq, error, dead ? 1 : 0)
      .run();
}

outbox_stats store::outbox_state() {
  auto q = db_->prepare("SELECT count(*) FILTER (WHERE dead = 0), count(*) FILTER (WHERE dead = 1), "
                        "coalesce(min(created_ms) FILTER (WHERE dead = 0), 0) FROM outbox");
  q.step();
  return {q.int64(0), q.int64(1), q.int64(2)};
}

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

std::optional<trial_record> store::find_trial(const std::string& run_id, int number) {
  auto q = db_->prepare(sql("SELECT ", trial_columns, " FROM trials WHERE run_id=? AND number=?"));
  q.bind_all(run_id, number);
  if (!q.step()) return std::nullopt;
  return read_trial(q);
}

void store::mark_dataset_from_opik(const std::string& name) {
  db_->prepare("INSERT OR IGNORE INTO opik_datasets(name) VALUES(?)").bind_all(name).run();
}

bool store::dataset_from_opik(const std::string& name) {
  auto q = db_->prepare("SELECT 1 FROM opik_datasets WHERE name=?");
  q.bind_all(name);
  return q.step();
}

void store::mark_dataset_sent(const std::string& destination, const std::string& name, const std::string& digest) {
  db_->prepare("INSERT OR REPLACE INTO opik_sent_datasets(destination, name, digest) VALUES(?,?,?)")
      .bind_all(destination, name, digest)
      .run();
}

bool store::dataset_sent(const std::string& destination, const std::string& name, const std::string& digest) {
  auto q = db_->prepare("SELECT 1 FROM opik_sent_datasets WHERE destination=? AND name=? AND digest=?");
  q.bind_all(destination, name, digest);
  return q.step();
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

std::optional<llm_call_record> store::find_llm_call(const std::string& run_id, const std::string& request_json,
                                                    int occurrence) {
  auto q = db_->prepare(
      "SELECT id, run_id, purpose, request, response, error, tokens_in, tokens_out, cost_usd, latency_us, created_ms "
      "FROM llm_calls WHERE run_id=? AND request=? ORDER BY rowid LIMIT 1 OFFSET ?");
  q.bind_all(run_id, request_json, occurrence);
  if (!q.step()) return std::nullopt;
  return llm_call_record{q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5), {q.int64(6), q.int64(7)},
                         q.real(8), q.int64(9), q.int64(10)};
}

std::vector<std::pair<std::string, double>> store::best_metric_means(const std::string& run_id) {
  // Finished trials' means from trial_means; the others' (running, or finished before that table
  // existed) from their evaluations.
  auto q = db_->prepare(
      "SELECT name, max(mean) FROM ("
      " SELECT json_extract(m.value, '$.name') AS name, json_extract(m.value, '$.mean') AS mean"
      " FROM trials t JOIN trial_means c ON c.trial_id = t.id, json_each(c.means) m"
      " WHERE t.run_id = ?1 AND t.status != 'running'"
      " UNION ALL"
      " SELECT json_extract(s.value, '$.name'), avg(json_extract(s.value, '$.value'))"
      " FROM trials t JOIN evaluations e ON e.trial_id = t.id, json_each(e.scores) s"
      " WHERE t.run_id = ?1 AND e.status = 'completed'"
      "  AND (t.status = 'running' OR NOT EXISTS (SELECT 1 FROM trial_means c WHERE c.trial_id = t.id))"
      " GROUP BY t.id, 1) GROUP BY name ORDER BY name");
  q.bind(1, run_id);
  std::vector<std::pair<std::string, double>> out;
  while (q.step()) out.emplace_back(q.text(0), q.real(1));
  return out;
}

void store::insert_trial(const trial_record& t) {
  db_->prepare(sql("INSERT INTO trials(", trial_columns, ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
      .bind_all(t.id, t.run_id, t.number, t.origin, t.prompt_json, t.status, t.score, t.evaluated_count,
                t.failed_count, t.median_duration_s, t.cost_usd, t.tokens.prompt_tokens, t.tokens.completion_tokens,
                t.started_ms, t.ended_ms, t.type, t.candidate_id, t.name, t.metadata_json, t.experiment_scores_json)
      .run();
}

void store::update_trial(const trial_record& t) {
  transaction tx(*db_);
  st_->update_trial
      .bind_all(t.id, t.status, t.score, t.evaluated_count, t.failed_count, t.median_duration_s, t.cost_usd,
                t.tokens.prompt_tokens, t.tokens.completion_tokens, t.ended_ms)
      .run();
  if (t.status != "running")  // a running trial's means are computed when read
    db_->prepare(
           "INSERT OR REPLACE INTO trial_means(trial_id, means) SELECT ?1, json_group_array(json_object('name', "
           "name, 'mean', mean)) FROM (SELECT json_extract(s.value, '$.name') AS name, avg(json_extract(s.value, "
           "'$.value')) AS mean FROM evaluations e, json_each(e.scores) s WHERE e.trial_id = ?1 AND e.status = "
           "'completed' GROUP BY name)")
        .bind_all(t.id)
        .run();
  tx.commit();
}

void store::update_trial_details(const trial_record& t) {
  db_->prepare(
         "UPDATE trials SET type=?2, candidate_id=?3, name=?4, metadata=?5, prompt=?6, origin=?7, "
         "experiment_scores=?8 WHERE id=?1")
      .bind_all(t.id, t.type, t.candidate_id, t.name, t.metadata_json, t.prompt_json, t.origin, t.experiment_scores_json)
      .run();
}

std::vector<trial_record> store::trials(const std::string& run_id) {
  auto q = db_->prepare(sql("SELECT ", trial_columns, " FROM trials WHERE run_id=? ORDER BY number"));
  q.bind(1, run_id);
  std::vector<trial_record> out;
  while (q.step()) out.push_back(read_trial(q));
  return out;
}

std::optional<trial_record> store::trial_by_id(const std::string& id) {
  auto q = db_->prepare(sql("SELECT ", trial_columns, " FROM trials WHERE id=?"));
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_trial(q);
}

void store::begin_evaluations(const std::vector<const evaluation_record*>& rows) {
  transaction tx(*db_);
  auto& ins = st_->insert_evaluation;
  for (const auto* row : rows) {
    const auto& e = *row;
    ins.bind_all(e.id, e.run_id, e.trial_id, e.item_id, e.request_json, e.status, e.output, e.scores_json, e.objective,
                 e.tokens.prompt_tokens, e.tokens.completion_tokens, e.cost_usd, e.latency_us, e.attempts, e.error,
                 e.created_ms, e.completed_ms, e.trace_id)
        .run();
  }
  tx.commit();
}

void store::complete_evaluation(const evaluation_record& e) {
  st_->complete_evaluation
      .bind_all(e.id, e.status, e.output, e.scores_json, e.objective, e.tokens.prompt_tokens,
                e.tokens.completion_tokens, e.cost_usd, e.latency_us, e.attempts, e.error, e.completed_ms)
      .run();
}

void store::complete_evaluations(const std::vector<const evaluation_record*>& rows) {
  if (rows.empty()) return;
  transaction tx(*db_);
  for (const auto* e : rows) complete_evaluation(*e);
  tx.commit();
}

std::vector<evaluation_record> store::evaluations(const std::string& trial_id) {
  auto q = db_->prepare(sql("SELECT ", evaluation_columns, " FROM evaluations WHERE trial_id=? ORDER BY rowid"));
  q.bind(1, trial_id);
  std::vector<evaluation_record> out;
  while (q.step()) out.push_back(read_evaluation(q));
  return out;
}

std::optional<evaluation_record> store::evaluation_by_id(const std::string& id) {
  auto q = db_->prepare(sql("SELECT ", evaluation_columns, " FROM evaluations WHERE id=?"));
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_evaluation(q);
}

void store::replace_evaluation(const evaluation_record& e) {
  db_->prepare(sql("INSERT OR REPLACE INTO evaluations(", evaluation_columns, ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
      .bind_all(e.id, e.run_id, e.trial_id, e.item_id, e.request_json, e.status, e.output, e.scores_json, e.objective,
                e.tokens.prompt_tokens, e.tokens.completion_tokens, e.cost_usd, e.latency_us, e.attempts, e.error,
                e.created_ms, e.completed_ms, e.trace_id)
      .run();
}

std::vector<evaluation_record> store::evaluations_of_trace(const std::string& trace_id) {
  auto q = db_->prepare(sql("SELECT ", evaluation_columns, " FROM evaluations WHERE trace_id=? AND trace_id != ''"));
  q.bind(1, trace_id);
  std::vector<evaluation_record> out;
  while (q.step()) out.push_back(read_evaluation(q));
  return out;
}

bool store::trace_linked(const std::string& trace_id) {
  auto q = db_->prepare("SELECT 1 FROM evaluations WHERE trace_id=? AND trace_id != '' LIMIT 1");
  q.bind(1, trace_id);
  return q.step();
}

std::int64_t store::count_evaluations(const std::string& run_id, const std::string& status) {
  auto q = db_->prepare("SELECT count(*) FROM evaluations WHERE run_id=?1 AND (?2 = '' OR status=?2)");
  q.bind_all(run_id, status);
  q.step();
  return q.int64(0);
}

void store::record_llm_call(const llm_call_record& c) {
  db_->prepare(
         "INSERT INTO llm_calls(id, run_id, purpose, request, response, error, tokens_in, tokens_out, cost_usd, "
         "latency_us, created_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?)")
      .bind_all(c.id, c.run_id, c.purpose, c.request_json, c.response, c.error, c.tokens.prompt_tokens,
                c.tokens.completion_tokens, c.cost_usd, c.latency_us, c.created_ms)
      .run();
}

std::vector<llm_call_record> store::llm_calls(const std::string& run_id) {
  auto q = db_->prepare(
      "SELECT id, run_id, purpose, request, response, error, tokens_in, tokens_out, cost_usd, latency_us, created_ms "
      "FROM llm_calls WHERE run_id=? ORDER BY rowid");
  q.bind(1, run_id);
  std::vector<llm_call_record> out;
  while (q.step())
    out.push_back({q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5), {q.int64(6), q.int64(7)},
                   q.real(8), q.int64(9), q.int64(10)});
  return out;
}

void store::append_log(const std::string& run_id, std::int64_t ts_ms, std::string_view line) {
  st_->append_log.bind_all(run_id, ts_ms, line).run();
}

std::vector<std::pair<std::int64_t, std::string>> store::logs(const std::string& run_id) {
  auto q = db_->prepare("SELECT ts_ms, line FROM logs WHERE run_id=? ORDER BY rowid");
  q.bind(1, run_id);
  std::vector<std::pair<std::int64_t, std::string>> out;
  while (q.step()) out.emplace_back(q.int64(0), q.text(1));
  return out;
}

}  // namespace optd::store
