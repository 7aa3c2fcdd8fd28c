#include "queue/rq_job.hpp"

#include <gtest/gtest.h>

#include "net/zlib_codec.hpp"

namespace optd::queue {
namespace {

// A message as Opik's Java backend serializes it (OptimizationStudioJobMessage, snake_case, nulls
// left out), inside RQ's JSON call.
const std::string message =
    R"({"optimization_id":"0198a7e4-3a90-7c2e-b6f3-2f0d4c8e9a11","workspace_id":"0190babc-62a0-71d2-832a-0feffa4676eb",)"
    R"("workspace_name":"default","config":{"dataset_name":"Demo","prompt":{"messages":[{"role":"user","content":"{{q}}"}]},)"
    R"("llm_model":{"model":"gpt-4o-mini"},"evaluation":{"metrics":[{"type":"equals"}]},"optimizer":{"type":"gepa"}},)"
    R"("opik_api_key":"sk-secret","project_name":"Default Project"})";

std::map<std::string, std::string> hash(std::string data) {
  return {{"id", "job-1"},
          {"created_at", "2026-07-16T09:47:52.123456Z"},
          {"enqueued_at", "2026-07-16T09:47:52.123456Z"},
          {"status", "queued"},
          {"origin", "opik:optimizer-cloud"},
          {"timeout", "86400"},
          {"description", "opik_backend.rq_worker.process_optimizer_job"},
          {"data", std::move(data)}};
}

const std::string call = R"(["opik_backend.rq_worker.process_optimizer_job",null,[)" + message + "],{}]";

TEST(rq_job, reads_the_message_opiks_backend_writes) {
  auto p = parse_studio_job("job-1", hash(call));
  ASSERT_TRUE(p.ok()) << p.problem;
  EXPECT_EQ(p.job.id, "job-1");
  EXPECT_EQ(p.job.function, studio_job_function);
  EXPECT_EQ(p.job.optimization_id, "0198a7e4-3a90-7c2e-b6f3-2f0d4c8e9a11");
  EXPECT_EQ(p.job.workspace_id, "0190babc-62a0-71d2-832a-0feffa4676eb");
  EXPECT_EQ(p.job.workspace_name, "default");
  EXPECT_EQ(p.job.project_name, "Default Project");
  EXPECT_EQ(p.job.opik_api_key.reveal(), "sk-secret");
  EXPECT_EQ(p.job.config["optimizer"]["type"], "gepa");
  EXPECT_EQ(p.job.timeout_s, 86400);
  EXPECT_EQ(p.job.enqueued_ms, 1784195272123);
  auto body = run_request(p.job);
  EXPECT_EQ(body["id"], p.job.optimization_id);
  EXPECT_EQ(body["studio_config"]["dataset_name"], "Demo");
  EXPECT_EQ(body["project_name"], "Default Project");
  EXPECT_FALSE(body.dump().find("sk-secret") != std::string::npos);  // the key is not part of the run's config
}

TEST(rq_job, reads_zlib_data_as_older_backends_and_python_rq_write_it) {
  auto p = parse_studio_job("job-1", hash(net::deflate(call, net::zlib_format::zlib)));
  ASSERT_TRUE(p.ok()) << p.problem;
  EXPECT_EQ(p.job.optimization_id, "0198a7e4-3a90-7c2e-b6f3-2f0d4c8e9a11");
}

TEST(rq_job, takes_the_older_field_names_and_timestamps) {
  auto h = hash(call);
  h.erase("timeout");
  h["timeout_in_sec"] = "3600";
  h["enqueued_at"] = "2026-07-16T09:47:52.123456789Z";  // Instant.toString(): nine digits
  auto p = parse_studio_job("job-1", h);
  ASSERT_TRUE(p.ok()) << p.problem;
  EXPECT_EQ(p.job.timeout_s, 3600);
  EXPECT_EQ(p.job.enqueued_ms, 1784195272123);
  h["enqueued_at"] = "2026-07-16T09:47:52Z";
  EXPECT_EQ(parse_studio_job("job-1", h).job.enqueued_ms, 1784195272000);
}

TEST(rq_job, finds_the_message_in_the_keyword_arguments_and_ignores_unknown_fields) {
  auto with_extra = message;
  with_extra.insert(1, R"("added_in_a_later_version":{"x":1},)");
  auto p = parse_studio_job("job-1", hash(R"(["opik_backend.rq_worker.process_optimizer_job",null,[],)" + with_extra + "]"));
  ASSERT_TRUE(p.ok()) << p.problem;
  EXPECT_EQ(p.job.workspace_name, "default");
}

TEST(rq_job, says_why_a_job_cannot_run_and_keeps_its_optimization_id) {
  auto other = parse_studio_job(
      "job-1", hash(R"(["opik_backend.rq_worker.process_framework_optimizer_job",null,[)" + message + "],{}]"));
  EXPECT_FALSE(other.ok());
  EXPECT_NE(other.problem.find("process_framework_optimizer_job"), std::string::npos) << other.problem;
  EXPECT_EQ(other.job.optimization_id, "0198a7e4-3a90-7c2e-b6f3-2f0d4c8e9a11");  // to fail it in Opik

  auto no_id = parse_studio_job("job-1", hash(R"(["opik_backend.rq_worker.process_optimizer_job",null,[{"workspace_name":"default","config":{}}],{}])"));
  EXPECT_EQ(no_id.problem, "the job's message has no optimization_id");

  EXPECT_FALSE(parse_studio_job("job-1", hash("not json")).ok());
  EXPECT_FALSE(parse_studio_job("job-1", hash(std::string("\x78\x9c garbage", 10))).ok());
  EXPECT_FALSE(parse_studio_job("job-1", hash("{}")).ok());
  auto deep = parse_studio_job("job-1", hash(std::string(100'000, '[') + std::string(100'000, ']')));
  EXPECT_EQ(deep.problem, "the job's data nests deeper than 64 levels");
  EXPECT_TRUE(parse_studio_job("job-1", hash(R"(["opik_backend.rq_worker.process_optimizer_job",null,[)" + message +
                                              R"(],{"k":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}])"))
                  .ok());  // brackets inside a string do not nest
  auto gone = parse_studio_job("job-1", {});
  EXPECT_NE(gone.problem.find("gone"), std::string::npos);
}

}  // namespace
}  // namespace optd::queue
