#include "config/daemon_config.hpp"

#include <cstdlib>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace optd::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(daemon_config, providers_with_keys_timeouts_retry_and_prices) {
  ::setenv("OPTD_TEST_KEY", "sk-secret-123", 1);
  ::setenv("OPTD_TEST_HOST", "llm.internal", 1);
  auto dir = test::temp_dir("daemon_config");
  std::ofstream(dir + "/key") << "file-secret-456\n";
  auto r = parse_daemon_config(R"(state_dir: /tmp/optd
default_provider: local
providers:
  - name: openai
    base_url: https://${OPTD_TEST_HOST}/v1
    api_key_env: OPTD_TEST_KEY
    timeouts: {connect: 2s, read: 30s, total: 2m}
    retry: {max_attempts: 3, base_delay: 50ms, max_delay: 4s}
    prices:
      gpt-4o-mini: {input: 0.15, output: 0.6}
    rate_limits:
      gpt-4o: {requests_per_minute: 500, tokens_per_minute: 30000}
      gpt-4o-mini: {tokens_per_minute: 200000}
  - name: local
    base_url: ${OPTD_TEST_UNSET:-http://127.0.0.1:11434/v1}
    api_key_file: )" + dir + R"(/key
    auth: api-key
    max_concurrency: 4
)",
                                "optd.yaml");
  ASSERT_TRUE(r.ok()) << format(r.problems.at(0));
  const auto& c = r.config;
  EXPECT_EQ(c.state_dir, "/tmp/optd");
  ASSERT_EQ(c.providers.size(), 2u);
  const auto& o = c.providers[0];
  EXPECT_EQ(o.base_url, "https://llm.internal/v1");
  EXPECT_EQ(o.api_key.reveal(), "sk-secret-123");
  EXPECT_EQ(o.api_key_source, "env OPTD_TEST_KEY");
  EXPECT_EQ(o.connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(o.total_timeout, std::chrono::minutes(2));
  EXPECT_EQ(o.retry.max_attempts, 3);
  EXPECT_EQ(o.retry.base_delay, std::chrono::milliseconds(50));
  EXPECT_EQ(o.prices.at("gpt-4o-mini").output_per_million, 0.6);
  // Rate limits are found as prices are: the model's own entry, else the longest prefix.
  EXPECT_EQ(o.rate_limits_of("gpt-4o-2024-08-06").requests_per_minute, 500);
  EXPECT_EQ(o.rate_limits_of("gpt-4o-mini").tokens_per_minute, 200000);
  EXPECT_FALSE(o.rate_limits_of("gpt-4o-mini").requests_per_minute);
  EXPECT_FALSE(o.rate_limits_of("o3").tokens_per_minute);
  const auto& l = c.providers[1];
  EXPECT_EQ(l.base_url, "http://127.0.0.1:11434/v1");
  EXPECT_EQ(l.api_key.reveal(), "file-secret-456");
  EXPECT_EQ(l.auth, auth_style::api_key_header);
  EXPECT_EQ(c.find_provider("")->name, "local");
}

TEST(daemon_config, problems_are_listed_and_never_show_a_key) {
  ::setenv("OPTD_TEST_KEY", "sk-secret-123", 1);
  auto r = parse_daemon_config(R"(providers:
  - name: a
    kind: anthropic
    base_url: ftp://x
    api_key_env: OPTD_TEST_KEY
    timeouts: {read: never}
  - name: a
    base_url: http://x
default_provider: b
)",
                                "optd.yaml");
  std::vector<std::string> msgs;
  for (const auto& d : r.problems) {
    msgs.push_back(format(d));
    EXPECT_THAT(format(d), ::testing::Not(HasSubstr("sk-secret")));
  }
  EXPECT_THAT(msgs, ElementsAre("optd.yaml:3:11: providers[0].kind: unknown provider kind 'anthropic'; known: "
                                "openai_compatible, opik_gateway",
                                "optd.yaml:4:15: providers[0].base_url must start with http:// or https://",
                                "optd.yaml:6:22: providers[0].timeouts.read must be a positive duration like 500ms, "
                                "30s or 2m",
                                "optd.yaml:7:11: providers[1].name: provider 'a' is defined twice",
                                "optd.yaml:9:19: default_provider 'b' is not one of the providers"));
}

TEST(daemon_config, rate_limits_are_checked_where_they_are_written) {
  auto r = parse_daemon_config(R"(providers:
  - name: a
    base_url: http://x
    rate_limits:
      gpt-4o: {requests_per_minute: 0, tokens: 5}
)",
                                "optd.yaml");
  std::vector<std::string> msgs;
  for (const auto& d : r.problems) msgs.push_back(format(d));
  EXPECT_THAT(msgs, ::testing::Contains(HasSubstr("optd.yaml:5:")));
  EXPECT_THAT(msgs, ::testing::Contains(HasSubstr("requests_per_minute")));
  EXPECT_THAT(msgs, ::testing::Contains(HasSubstr("tokens")));
}

TEST(daemon_config, a_daily_budget_needs_prices_to_count_with) {
  auto r = parse_daemon_config(R"(providers:
  - name: a
    base_url: http://x
    daily_budget_usd: 25
  - name: b
    base_url: http://y
    daily_budget_usd: 10
    prices: {gpt-4o: {input: 2.5, output: 10}}
  - name: c
    base_url: http://z
    daily_budget_usd: -1
    prices: {gpt-4o: {input: 2.5, output: 10}}
)",
                                "optd.yaml");
  std::vector<std::string> msgs;
  for (const auto& d : r.problems) msgs.push_back(format(d));
  EXPECT_THAT(msgs, ::testing::ElementsAre(
                        "optd.yaml:4:23: providers[0].daily_budget_usd needs the prices of the models this provider "
                        "serves (add them under prices)",
                        "optd.yaml:11:23: providers[2].daily_budget_usd must be between 0.000001 and 1000000000, got -1"));
  EXPECT_EQ(r.config.providers.at(1).daily_budget_usd, 10.0);
  EXPECT_EQ(r.config.providers.at(0).daily_budget_usd, 25.0);
}

TEST(daemon_config, listen_needs_a_port_from_0_to_65535) {
  EXPECT_THAT(format(parse_daemon_config("listen: 127.0.0.1:70000\n", "optd.yaml").problems.at(0)),
              "optd.yaml:1:9: listen: port '70000' is not a number from 1 to 65535 (or 0: any free port)");
  EXPECT_THAT(format(parse_daemon_config("listen: localhost\n", "optd.yaml").problems.at(0)),
              "optd.yaml:1:9: listen: 'localhost' is not HOST:PORT");
  auto ok = parse_listen("[::1]:8600");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->host, "::1");
  EXPECT_EQ(ok->port, 8600);
  EXPECT_EQ(parse_listen("127.0.0.1:0")->port, 0);
  EXPECT_FALSE(parse_listen("127.0.0.1:-1"));
  EXPECT_FALSE(parse_listen("127.0.0.1:80x"));
}

TEST(daemon_config, opik_recording_from_the_file_or_opiks_environment_variables) {
  const char* providers = "providers: [{name: p, base_url: http://127.0.0.1:1/v1}]\n";
  ::unsetenv("OPIK_URL_OVERRIDE");
  EXPECT_FALSE(parse_daemon_config(providers, "optd.yaml").config.opik);  // not recording

  ::setenv("OPTD_TEST_OPIK_KEY", "opik-secret-1", 1);
  auto r = parse_daemon_config(std::string(providers) + R"(opik:
  url: https://www.comet.com/opik/api/
  api_key_env: OPTD_TEST_OPIK_KEY
  workspace: team
  project_name: Prompts
)",
                               "optd.yaml");
  ASSERT_TRUE(r.ok()) << format(r.problems[0]);
  ASSERT_TRUE(r.config.opik);
  EXPECT_EQ(r.config.opik->url, "https://www.comet.com/opik/api");
  EXPECT_EQ(r.config.opik->api_key.reveal(), "opik-secret-1");
  EXPECT_EQ(r.config.opik->workspace, "team");
  EXPECT_EQ(r.config.opik->project_name, "Prompts");

  // Opik's SDK variables are the defaults, and turn recording on by themselves.
  ::setenv("OPIK_URL_OVERRIDE", "http://localhost:5173/api", 1);
  ::setenv("OPIK_API_KEY", "opik-secret-2", 1);
  ::setenv("OPIK_WORKSPACE", "default", 1);
  ::setenv("OPIK_PROJECT_NAME", "From Env", 1);
  auto env = parse_daemon_config(providers, "optd.yaml");
  ::unsetenv("OPIK_URL_OVERRIDE");
  ::unsetenv("OPIK_API_KEY");
  ::unsetenv("OPIK_WORKSPACE");
  ::unsetenv("OPIK_PROJECT_NAME");
  ASSERT_TRUE(env.config.opik);
  EXPECT_EQ(env.config.opik->url, "http://localhost:5173/api");
  EXPECT_EQ(env.config.opik->api_key.reveal(), "opik-secret-2");
  EXPECT_EQ(env.config.opik->project_name, "From Env");

  auto bad = parse_daemon_config(std::string(providers) + "opik: {url: localhost:5173, api_key_env: OPTD_TEST_OPIK_KEY}\n",
                                 "optd.yaml");
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_EQ(format(bad.problems[0]),
            "optd.yaml:2:7: opik.url must start with http:// or https:// (or set OPIK_URL_OVERRIDE)");
}

TEST(daemon_config, code_metrics_sandbox_and_limits) {
  constexpr std::string_view providers = "providers: [{name: local, base_url: http://127.0.0.1:1/v1, auth: none}]\n";
  auto defaults = parse_daemon_config(providers, "optd.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults.config.code_metrics.sandbox, "bubblewrap");
  EXPECT_EQ(defaults.config.code_metrics.wall_time, std::chrono::seconds(10));

  auto set = parse_daemon_config(std::string(providers) + R"(code_metrics:
  sandbox: none
  python: /opt/py/bin/python3
  read_only_paths: [/opt/py]
  workers: 4
  cpu_time: 2s
  wall_time: 5s
  memory_mb: 1024
)",
                                 "optd.yaml");
  ASSERT_TRUE(set.ok()) << format(set.problems.at(0));
  const auto& c = set.config.code_metrics;
  EXPECT_EQ(c.sandbox, "none");
  EXPECT_EQ(c.read_only_paths, std::vector<std::string>{"/opt/py"});
  EXPECT_EQ(c.workers, 4);
  EXPECT_EQ(c.cpu_time, std::chrono::seconds(2));
  EXPECT_EQ(c.memory_mb, 1024);

  auto bad = parse_daemon_config(std::string(providers) + "code_metrics: {sandbox: docker, read_only_paths: [opt], workers: 0}\n",
                                 "optd.yaml");
  std::vector<std::string> problems;
  for (const auto& d : bad.problems) problems.push_back(format(d));
  EXPECT_THAT(problems, ElementsAre("optd.yaml:2:25: code_metrics.sandbox must be bubblewrap or none, got 'docker'",
                                    "optd.yaml:2:51: code_metrics.read_only_paths: 'opt' is not an absolute path",
                                    HasSubstr("optd.yaml:2:66: code_metrics.workers must be between 1 and 64")));
}

TEST(daemon_config, the_shipped_configs_are_valid) {
  for (auto name : {"/config/optd.yaml", "/config/examples/demo-optd.yaml"}) {
    auto r = load_daemon_config_file(std::string(OPTD_SOURCE_DIR) + name);
    EXPECT_TRUE(r.ok()) << name << ": " << (r.problems.empty() ? "" : format(r.problems[0]));
  }
}

}  // namespace
}  // namespace optd::config

namespace optd::config {
namespace {

TEST(daemon_config, redis_urls_as_opiks_deployments_write_them) {
  auto compose = parse_redis_url("redis://:opik@redis:6379/");  // docker-compose's backend
  ASSERT_TRUE(compose.has_value());
  EXPECT_EQ(compose->host, "redis");
  EXPECT_EQ(compose->port, 6379);
  EXPECT_EQ(compose->db, 0);
  EXPECT_EQ(compose->password.reveal(), "opik");
  EXPECT_TRUE(compose->username.empty());
  auto acl = parse_redis_url("redis://worker:s3cret@10.0.0.5:6380/2");
  ASSERT_TRUE(acl.has_value());
  EXPECT_EQ(acl->username, "worker");
  EXPECT_EQ(acl->password.reveal(), "s3cret");
  EXPECT_EQ(acl->port, 6380);
  EXPECT_EQ(acl->db, 2);
  auto bare = parse_redis_url("redis://opik-redis-master");  // helm's, without port or db
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->port, 6379);
  EXPECT_EQ(parse_redis_url("redis://[::1]:7000")->host, "::1");
  EXPECT_EQ(parse_redis_url("localhost:6379").error(), "'localhost:6379' does not start with redis://");
  EXPECT_THAT(parse_redis_url("rediss://h").error(), HasSubstr("TLS"));
  EXPECT_THAT(parse_redis_url("redis://h:0").error(), HasSubstr("port '0'"));
  EXPECT_THAT(parse_redis_url("redis://h/x").error(), HasSubstr("database 'x'"));
}

TEST(daemon_config, a_studio_worker_section_takes_opiks_queue_and_needs_opik) {
  const std::string providers = "providers: [{name: p, base_url: http://127.0.0.1:1/v1}]\n";
  const std::string opik = "opik: {url: http://127.0.0.1:5173/api}\n";
  ::unsetenv("REDIS_URL");
  ::unsetenv("OPIK_URL_OVERRIDE");
  EXPECT_FALSE(parse_daemon_config(providers + opik, "optd.yaml").config.studio_worker);
  auto r = parse_daemon_config(providers + opik + "studio_worker:\n  redis_url: redis://:opik@127.0.0.1:6379/0\n  max_jobs: 3\n"
                                                  "  name: optd-a\n  lease: 30s\n",
                               "optd.yaml");
  ASSERT_TRUE(r.ok()) << format(r.problems.at(0));
  ASSERT_TRUE(r.config.studio_worker);
  EXPECT_EQ(r.config.studio_worker->queue, "opik:optimizer-cloud");  // the only queue Opik's backend writes
  EXPECT_EQ(r.config.studio_worker->max_jobs, 3);
  EXPECT_EQ(r.config.studio_worker->name, "optd-a");
  EXPECT_EQ(r.config.studio_worker->lease, std::chrono::seconds(30));
  EXPECT_EQ(r.config.studio_worker->cancel_poll, std::chrono::seconds(2));
  EXPECT_EQ(r.config.studio_worker->redis.password.reveal(), "opik");
  EXPECT_FALSE(parse_daemon_config(providers + opik + "studio_worker: {enabled: false, redis_url: redis://h}\n", "optd.yaml")
                   .config.studio_worker);

  auto bad = parse_daemon_config(providers + "studio_worker:\n  redis_url: http://h\n  lease: 1s\n  name: a b\n", "optd.yaml");
  std::vector<std::string> problems;
  for (const auto& p : bad.problems) problems.push_back(format(p));
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("optd.yaml:3:14: studio_worker.redis_url: 'http://h' does not start with redis://")));
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("optd.yaml:4:10: studio_worker.lease must be at least 2s")));
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("studio_worker.name must be a name without spaces")));
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("studio_worker needs an opik: section")));

  setenv("REDIS_URL", "redis://:from-env@127.0.0.1:6390/1", 1);
  auto env = parse_daemon_config(providers + opik + "studio_worker: {}\n", "optd.yaml");
  unsetenv("REDIS_URL");
  ASSERT_TRUE(env.ok()) << format(env.problems.at(0));
  EXPECT_EQ(env.config.studio_worker->redis.port, 6390);
  EXPECT_EQ(env.config.studio_worker->redis.db, 1);
  auto missing = parse_daemon_config(providers + opik + "studio_worker: {}\n", "optd.yaml");
  EXPECT_THAT(format(missing.problems.at(0)), HasSubstr("studio_worker.redis_url is missing (or set REDIS_URL)"));
}

}  // namespace
}  // namespace optd::config
