// Trials, their evaluations, the reasoning model's calls, and what they sum to.
#include "store/store.hpp"

#include <map>

#include "core/uuid.hpp"
#include "store/store_rows.hpp"

namespace optd::store {

using rows::evaluation_columns;
using rows::llm_call_columns;
using rows::read_llm_call;
using rows::read_evaluation;
using rows::read_trial;
using rows::sql;
using rows::trial_columns;

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
    t.cost_usd += e->cost_usd + e->judge_cost_usd;
    t.tokens.prompt_tokens += e->tokens.prompt_tokens + e->judge_tokens.prompt_tokens;
    t.tokens.completion_tokens += e->tokens.completion_tokens + e->judge_tokens.completion_tokens;
    if (!is_finished(*e)) continue;
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
      if (s.is_object()) out.push_back({s.value("name", ""), s.value("value", 0.0), s.value("reason", ""), s.value("failed", false)});
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

std::optional<trial_record> store::find_trial(const std::string& run_id, const std::string& request_key,
                                             int occurrence) {
  auto q = db_->prepare(sql("SELECT ", trial_columns,
                            " FROM trials WHERE run_id=? AND request_key=? ORDER BY number LIMIT 1 OFFSET ?"));
  q.bind_all(run_id, request_key, occurrence);
  if (!q.step()) return std::nullopt;
  return read_trial(q);
}

std::optional<trial_record> store::find_trial(const std::string& run_id, int number) {
  auto q = db_->prepare(sql("SELECT ", trial_columns, " FROM trials WHERE run_id=? AND number=?"));
  q.bind_all(run_id, number);
  if (!q.step()) return std::nullopt;
  return read_trial(q);
}

int store::last_trial_number(const std::string& run_id) {
  auto q = db_->prepare("SELECT coalesce(max(number), 0) FROM trials WHERE run_id=?");
  q.bind(1, run_id);
  q.step();
  return static_cast<int>(q.int64(0));
}

std::optional<llm_call_record> store::find_llm_call(const std::string& run_id, const std::string& request_json,
                                                    int occurrence, const std::string& evaluation_id) {
  auto q = db_->prepare(sql("SELECT ", llm_call_columns,
                            " FROM llm_calls WHERE run_id=?1 AND request=?2 AND evaluation_id=?4 ORDER BY rowid "
                            "LIMIT 1 OFFSET ?3"));
  q.bind_all(run_id, request_json, occurrence, evaluation_id);
  if (!q.step()) return std::nullopt;
  return read_llm_call(q);
}

std::vector<std::pair<std::string, double>> store::best_metric_means(const std::string& run_id) {
  std::map<std::string, double> best;
  for (const auto& t : trials(run_id))
    for (const auto& [name, mean] : summary_of(t).feedback_scores)
      if (auto [it, fresh] = best.try_emplace(name, mean); !fresh) it->second = std::max(it->second, mean);
  return {best.begin(), best.end()};
}

experiment_summary store::summary_of(const trial_record& t) {
  if (t.status != "running") {
    auto kept = db_->prepare(
        "SELECT trace_count, feedback_scores, p50_ms, p90_ms, p99_ms, prompt_tokens, completion_tokens "
        "FROM trial_summaries WHERE trial_id=?");
    kept.bind(1, t.id);
    if (kept.step()) {
      experiment_summary s{kept.int64(0), {}, kept.real(2), kept.real(3), kept.real(4), kept.int64(5), kept.int64(6)};
      for (const auto& m : parse_scores(kept.text(1))) s.feedback_scores.emplace_back(m.name, m.value);
      return s;
    }
  }
  return sum_experiment(t.id);
}

// Only the columns the summary needs: a trial's evaluations carry their requests and outputs too.
experiment_summary store::sum_experiment(const std::string& trial_id) {
  auto q = db_->prepare(
      "SELECT e.status, e.objective, e.scores, e.latency_us, e.tokens_in, e.tokens_out, r.objective_name "
      "FROM evaluations e JOIN runs r ON r.id = e.run_id WHERE e.trial_id=? AND e.status IN ('completed', 'failed')");
  q.bind(1, trial_id);
  experiment_summary s;
  std::map<std::string, std::pair<double, std::int64_t>> sums;  // per score: sum, count
  std::vector<double> durations_ms;
  evaluation_record e;
  while (q.step()) {
    e.status = q.text(0);
    e.objective = rows::opt_real(q, 1);
    e.scores_json = q.text(2);
    durations_ms.push_back(static_cast<double>(q.int64(3)) / 1000.0);
    s.prompt_tokens += q.int64(4);
    s.completion_tokens += q.int64(5);
    if (e.status != "completed") continue;
    for (const auto& m : trace_scores(e, q.text(6))) {
      auto& [sum, n] = sums[m.name];
      sum += m.value;
      ++n;
    }
  }
  s.trace_count = static_cast<std::int64_t>(durations_ms.size());
  for (const auto& [name, sn] : sums) s.feedback_scores.emplace_back(name, sn.first / static_cast<double>(sn.second));
  s.p50_ms = core::percentile(durations_ms, 0.5);
  s.p90_ms = core::percentile(durations_ms, 0.9);
  s.p99_ms = core::percentile(std::move(durations_ms), 0.99);
  return s;
}

void store::insert_trial(const trial_record& t) {
  db_->prepare(sql("INSERT INTO trials(", trial_columns, ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
      .bind_all(t.id, t.run_id, t.number, t.origin, t.prompt_json, t.status, t.score, t.evaluated_count,
                t.failed_count, t.median_duration_s, t.cost_usd, t.tokens.prompt_tokens, t.tokens.completion_tokens,
                t.started_ms, t.ended_ms, t.type, t.candidate_id, t.name, t.metadata_json, t.experiment_scores_json,
                t.request_key)
      .run();
}

void store::update_trial(const trial_record& t) {
  transaction tx(*db_);
  st_->update_trial
      .bind_all(t.id, t.status, t.score, t.evaluated_count, t.failed_count, t.median_duration_s, t.cost_usd,
                t.tokens.prompt_tokens, t.tokens.completion_tokens, t.ended_ms)
      .run();
  if (t.status != "running") {  // a running trial's summary is summed when read
    auto s = sum_experiment(t.id);
    auto scores = nlohmann::json::array();
    for (const auto& [name, mean] : s.feedback_scores) scores.push_back({{"name", name}, {"value", mean}});
    db_->prepare(
           "INSERT OR REPLACE INTO trial_summaries(trial_id, trace_count, feedback_scores, p50_ms, p90_ms, p99_ms, "
           "prompt_tokens, completion_tokens) VALUES(?,?,?,?,?,?,?,?)")
        .bind_all(t.id, s.trace_count, scores.dump(), s.p50_ms, s.p90_ms, s.p99_ms, s.prompt_tokens, s.completion_tokens)
        .run();
  }
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
                 e.created_ms, e.completed_ms, e.trace_id, e.judge_cost_usd, e.judge_tokens.prompt_tokens,
                 e.judge_tokens.completion_tokens, e.judge_calls)
        .run();
  }
  tx.commit();
}

void store::complete_evaluation(const evaluation_record& e) {
  st_->complete_evaluation
      .bind_all(e.id, e.status, e.output, e.scores_json, e.objective, e.tokens.prompt_tokens,
                e.tokens.completion_tokens, e.cost_usd, e.latency_us, e.attempts, e.error, e.completed_ms,
                e.judge_cost_usd, e.judge_tokens.prompt_tokens, e.judge_tokens.completion_tokens, e.judge_calls)
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
  db_->prepare(sql("INSERT OR REPLACE INTO evaluations(", evaluation_columns,
                   ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
      .bind_all(e.id, e.run_id, e.trial_id, e.item_id, e.request_json, e.status, e.output, e.scores_json, e.objective,
                e.tokens.prompt_tokens, e.tokens.completion_tokens, e.cost_usd, e.latency_us, e.attempts, e.error,
                e.created_ms, e.completed_ms, e.trace_id, e.judge_cost_usd, e.judge_tokens.prompt_tokens,
                e.judge_tokens.completion_tokens, e.judge_calls)
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

double store::journaled_spend(const std::string& run_id) {
  auto q = db_->prepare(
      "SELECT (SELECT coalesce(sum(cost_usd), 0) FROM evaluations WHERE run_id = ?1) + "
      "(SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE run_id = ?1)");
  q.bind_all(run_id);
  q.step();
  return q.real(0);
}

double store::provider_spend(std::string_view provider, std::string_view day) {
  auto q = db_->prepare("SELECT coalesce(sum(usd), 0) FROM provider_spend WHERE provider = ?1 AND day = ?2");
  q.bind_all(provider, day);
  q.step();
  return q.real(0);
}

void store::add_provider_spend(std::string_view provider, std::string_view day, double usd) {
  db_->prepare(
         "INSERT INTO provider_spend(provider, day, usd) VALUES(?1, ?2, ?3) "
         "ON CONFLICT(provider, day) DO UPDATE SET usd = usd + excluded.usd")
      .bind_all(provider, day, usd)
      .run();
}

std::int64_t store::count_evaluations(const std::string& run_id, const std::string& status) {
  auto q = db_->prepare("SELECT count(*) FROM evaluations WHERE run_id=?1 AND (?2 = '' OR status=?2)");
  q.bind_all(run_id, status);
  q.step();
  return q.int64(0);
}

void store::begin_llm_call(const llm_call_record& c) {
  db_->prepare(sql("INSERT INTO llm_calls(", llm_call_columns, ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
      .bind_all(c.id, c.run_id, c.purpose, c.request_json, c.response, c.error, c.tokens.prompt_tokens,
                c.tokens.completion_tokens, c.cost_usd, c.latency_us, c.created_ms, c.status, c.evaluation_id, c.model,
                c.provider, c.logprobs_json)
      .run();
}

void store::complete_llm_call(const llm_call_record& c) {
  db_->prepare(
         "UPDATE llm_calls SET status=?2, response=?3, error=?4, tokens_in=?5, tokens_out=?6, cost_usd=?7, "
         "latency_us=?8, logprobs=?9 WHERE id=?1")
      .bind_all(c.id, c.status, c.response, c.error, c.tokens.prompt_tokens, c.tokens.completion_tokens, c.cost_usd,
                c.latency_us, c.logprobs_json)
      .run();
}

std::vector<llm_call_record> store::llm_calls(const std::string& run_id) {
  auto q = db_->prepare(sql("SELECT ", llm_call_columns, " FROM llm_calls WHERE run_id=? ORDER BY rowid"));
  q.bind(1, run_id);
  std::vector<llm_call_record> out;
  while (q.step()) out.push_back(read_llm_call(q));
  return out;
}

std::vector<llm_call_record> store::judge_calls(const std::string& trial_id) {
  auto q = db_->prepare(sql("SELECT ", llm_call_columns,
                            " FROM llm_calls WHERE evaluation_id IN (SELECT id FROM evaluations WHERE trial_id=?) "
                            "ORDER BY rowid"));
  q.bind(1, trial_id);
  std::vector<llm_call_record> out;
  while (q.step()) out.push_back(read_llm_call(q));
  return out;
}

}  // namespace optd::store
