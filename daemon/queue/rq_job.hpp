#pragma once
// A job of Opik's Studio queue as Opik's Java backend writes it: the hash rq:job:{id} (id,
// created_at, enqueued_at, status, origin, timeout, description, data), where `data` is Python
// RQ's JSON call [function, null, [message], {kwargs}] — plain JSON, or zlib-compressed when an
// older backend or a Python RQ worker wrote it (its first byte tells). The message names the
// optimization, its workspace, the Studio config and, on Opik's cloud, the user's API key.
//
// Parsing is lenient as Opik's fields came and went across versions: unknown fields are ignored,
// `timeout` or the older `timeout_in_sec`, timestamps with 0 to 9 fraction digits, the message in
// the args or the kwargs. Nothing is ever unpickled.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "config/daemon_config.hpp"

namespace optd::queue {

// The job function of a Studio run, the one optd executes.
inline constexpr std::string_view studio_job_function = "opik_backend.rq_worker.process_optimizer_job";

struct studio_job {
  std::string id;        // the RQ job id (not the optimization's)
  std::string function;  // data[0]
  std::int64_t enqueued_ms = 0;  // 0: not given or not a timestamp
  std::int64_t timeout_s = 0;    // the hash's `timeout` (Opik: its TTL); 0: not given
  // The message:
  std::string optimization_id;
  std::string workspace_id;
  std::string workspace_name;
  std::string project_name;  // empty: none
  nlohmann::json config;     // the Studio config (dataset_name, prompt, llm_model, evaluation, optimizer)
  config::secret opik_api_key;  // empty on a self-hosted Opik
};

// What HGETALL rq:job:{id} gave, parsed: the job, or why it cannot be run (`problem`); a job with a
// problem still carries what could be read (its optimization id, to report the error there).
struct parsed_job {
  studio_job job;
  std::string problem;
  bool ok() const noexcept { return problem.empty(); }
};

parsed_job parse_studio_job(std::string id, const std::map<std::string, std::string>& hash);

// The body Opik's POST /v1/private/optimizations would carry for the job's run
// ({"id", "studio_config", "project_name"}): what optd's run-config loader reads.
nlohmann::json run_request(const studio_job& job);

}  // namespace optd::queue
