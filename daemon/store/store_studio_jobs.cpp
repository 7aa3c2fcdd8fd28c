#include "store/sqlite.hpp"
#include "store/store.hpp"

namespace optd::store {

void store::save_studio_job(const studio_job_record& j) {
  db_->prepare(
         "INSERT INTO studio_jobs(job_id, run_id, queue, execution, workspace_id, workspace_name, api_key, claimed_ms, "
         "state, outcome, detail, logs_sent) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
         "ON CONFLICT(job_id) DO UPDATE SET run_id=excluded.run_id, execution=excluded.execution, "
         "workspace_id=excluded.workspace_id, workspace_name=excluded.workspace_name, api_key=excluded.api_key, "
         "state=excluded.state, outcome=excluded.outcome, detail=excluded.detail, logs_sent=excluded.logs_sent")
      .bind_all(j.job_id, j.run_id, j.queue, j.execution, j.workspace_id, j.workspace_name, j.api_key, j.claimed_ms,
                j.state, j.outcome, j.detail, j.logs_sent)
      .run();
}

namespace {

constexpr const char* studio_job_columns =
    "job_id, run_id, queue, execution, workspace_id, workspace_name, api_key, claimed_ms, state, outcome, detail, "
    "logs_sent";

studio_job_record studio_job_from(const statement& q) {
  studio_job_record j;
  j.job_id = q.text(0);
  j.run_id = q.text(1);
  j.queue = q.text(2);
  j.execution = q.text(3);
  j.workspace_id = q.text(4);
  j.workspace_name = q.text(5);
  j.api_key = q.text(6);
  j.claimed_ms = q.int64(7);
  j.state = q.text(8);
  j.outcome = q.text(9);
  j.detail = q.text(10);
  j.logs_sent = q.int64(11);
  return j;
}

}  // namespace

std::optional<studio_job_record> store::studio_job_of_run(const std::string& run_id) {
  auto q = db_->prepare(std::string("SELECT ") + studio_job_columns +
                        " FROM studio_jobs WHERE run_id = ?1 ORDER BY claimed_ms DESC LIMIT 1");
  q.bind(1, run_id);
  if (!q.step()) return std::nullopt;
  return studio_job_from(q);
}

void store::forget_delivered_studio_keys() {
  db_->exec("UPDATE studio_jobs SET api_key = '' WHERE state = 'done' AND api_key != '' "
            "AND run_id NOT IN (SELECT run_id FROM outbox)");
}

std::vector<studio_job_record> store::unfinished_studio_jobs() {
  auto q = db_->prepare(std::string("SELECT ") + studio_job_columns +
                        " FROM studio_jobs WHERE state != 'done' ORDER BY claimed_ms");
  std::vector<studio_job_record> out;
  while (q.step()) out.push_back(studio_job_from(q));
  return out;
}

}  // namespace optd::store
