#include "app/studio_jobs.hpp"

#include "app/run_loading.hpp"
#include "core/uuid.hpp"

namespace optd::app {

namespace {

// Ends the job's run before it started: in the store, and in Opik through the observer (the
// recorder's PUT {status: error, error_info}).
void record_refusal(const studio_job_context& ctx, const queue::studio_job& job, const core::run_error& e) {
  auto now = ctx.env.clock.now_ms();
  store::run_record r;
  r.id = job.optimization_id;
  r.name = "optimization-" + r.id.substr(0, 8);
  r.status = core::run_status::error;
  r.finish_reason = "error";
  r.error = e.what();
  r.error_info_json =
      nlohmann::json{{"exception_type", e.type()}, {"message", e.what()}, {"traceback", e.details().empty() ? e.what() : e.details()}}
          .dump();
  if (job.config.is_object()) {
    r.dataset_name = job.config.value("dataset_name", "");
    r.studio_config_json = job.config.dump();
  }
  r.project_name = job.project_name;
  r.spec_json = "{}";
  r.metadata_json = "{}";
  r.executor = "optd serve";
  r.created_ms = r.updated_ms = r.ended_ms = now;
  ctx.db.insert_run(r);
  ctx.db.append_log(r.id, now, std::string("Studio job ") + job.id + " cannot run: " + e.type() + ": " + e.what());
  if (ctx.env.observer) ctx.env.observer->run_finished(r);
}

}  // namespace

std::string studio_error_type(const config::diagnostics& problems) {
  for (const auto& p : problems) {
    if (p.message.find("unknown optimizer type") != std::string::npos) return "InvalidOptimizerError";
    if (p.message.find("unknown metric type") != std::string::npos) return "InvalidMetricError";
  }
  return "InvalidConfigError";
}

std::optional<core::run_error> start_studio_job(const studio_job_context& ctx, const queue::parsed_job& parsed) {
  const auto& job = parsed.job;
  auto refuse = [&](core::run_error e) -> std::optional<core::run_error> {
    if (!job.optimization_id.empty() && core::is_uuid_v7(job.optimization_id)) record_refusal(ctx, job, e);
    return e;
  };
  if (!parsed.ok()) return refuse(core::run_error("InvalidJobError", parsed.problem));
  if (!core::is_uuid_v7(job.optimization_id))
    return refuse(core::run_error("InvalidJobError", "the job's optimization_id '" + job.optimization_id.substr(0, 64) +
                                                         "' is not a version 7 UUID"));
  auto body = queue::run_request(job).dump();
  auto load = make_load_context(&ctx.db, ctx.cfg);
  load.read_dataset_files = false;  // a job never names a file of this machine
  load.opik_datasets = true;        // its dataset is Opik's
  auto loaded = config::parse_run_config(body, "Studio job " + job.id, "", load);
  if (!loaded.ok()) {
    std::string message, details;
    for (const auto& p : loaded.problems) {
      if (message.empty()) message = p.message;
      details += config::format(p) + "\n";
    }
    return refuse(core::run_error(studio_error_type(loaded.problems), message, details));
  }
  if (loaded.spec.name.empty()) loaded.spec.name = "optimization-" + job.optimization_id.substr(0, 8);
  auto submission = ctx.make_submission(loaded, job.optimization_id);
  submission.source = body;
  submission.studio_config_json = job.config.dump();
  // Opik's worker sets its run running as soon as it takes the job (this also revives a run its
  // stalled-run reaper had marked failed meanwhile).
  ctx.db.enqueue({{0, job.optimization_id, "PUT", "/v1/private/optimizations/" + job.optimization_id,
                   R"({"status":"running"})", 0, 0, ""}},
                 ctx.env.clock.now_ms());
  if (ctx.outbox_queued) ctx.outbox_queued();
  ctx.runs.submit(std::move(submission));
  return std::nullopt;
}

}  // namespace optd::app
