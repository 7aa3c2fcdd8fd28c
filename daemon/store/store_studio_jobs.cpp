#include "store/store_rows.hpp"

namespace optd::store {

void store::save_studio_job(const studio_job_record& j) {
  db_->prepare(rows::sql("INSERT INTO studio_jobs(", rows::studio_job_columns,
                         ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                         "ON CONFLICT(job_id) DO UPDATE SET run_id=excluded.run_id, execution=excluded.execution, "
                         "workspace_id=excluded.workspace_id, workspace_name=excluded.workspace_name, "
                         "api_key=excluded.api_key, state=excluded.state, outcome=excluded.outcome, "
                         "detail=excluded.detail, logs_sent=excluded.logs_sent"))
      .bind_all(j.job_id, j.run_id, j.queue, j.execution, j.workspace_id, j.workspace_name, j.api_key, j.claimed_ms,
                j.state, j.outcome, j.detail, j.logs_sent)
      .run();
}

std::optional<studio_job_record> store::studio_job_of_run(const std::string& run_id) {
  auto q = db_->prepare(
      rows::sql("SELECT ", rows::studio_job_columns, " FROM studio_jobs WHERE run_id = ?1 ORDER BY claimed_ms DESC LIMIT 1"));
  q.bind(1, run_id);
  if (!q.step()) return std::nullopt;
  return rows::read_studio_job(q);
}

void store::forget_delivered_studio_keys() {
  db_->exec("UPDATE studio_jobs SET api_key = '' WHERE state = 'done' AND api_key != '' "
            "AND run_id NOT IN (SELECT run_id FROM outbox)");
}

std::vector<studio_job_record> store::unfinished_studio_jobs() {
  auto q = db_->prepare(
      rows::sql("SELECT ", rows::studio_job_columns, " FROM studio_jobs WHERE state != 'done' ORDER BY claimed_ms"));
  std::vector<studio_job_record> out;
  while (q.step()) out.push_back(rows::read_studio_job(q));
  return out;
}

}  // namespace optd::store
