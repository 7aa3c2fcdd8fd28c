// A Studio job's `data` as Redis may hold it (JSON, zlib-compressed JSON, or anything another
// writer left there) through the job parser, and a job that parses through the run-config loader,
// as the worker takes them: a job or a problem, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/run_config.hpp"
#include "queue/rq_job.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::map<std::string, std::string> hash{{"enqueued_at", "2026-07-16T09:47:52.123456Z"},
                                          {"timeout", "86400"},
                                          {"data", std::string(reinterpret_cast<const char*>(data), size)}};
  auto parsed = optd::queue::parse_studio_job("fuzz", hash);
  if (parsed.ok()) {
    optd::config::load_context ctx;
    ctx.read_dataset_files = false;
    ctx.opik_datasets = true;
    (void)optd::config::parse_run_config(optd::queue::run_request(parsed.job).dump(), "fuzz", "", ctx);
  }
  return 0;
}
