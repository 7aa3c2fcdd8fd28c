#pragma once
// The daemon config (config/optd.yaml): where state lives and which LLM providers exist, with
// their keys, limits, timeouts, retry policy and prices. String values may use ${VAR} or
// ${VAR:-default} to read the environment.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "config/diagnostic.hpp"
#include "core/price.hpp"
#include "core/rate_limit.hpp"
#include "core/retry_policy.hpp"

namespace optd::config {

// A secret read from the environment or a file. It has no stream operator and no formatter, so
// it cannot reach a log line by accident; reveal() is called only where the key goes on the wire.
class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

 private:
  std::string value_;
};

// How a provider's key is sent: `Authorization: Bearer KEY`, Azure's `api-key: KEY`, nothing, or
// Opik's raw `authorization: KEY`.
enum class auth_style { bearer, api_key_header, none, opik };

// `kind: opik_gateway` is an OpenAI-compatible provider whose defaults come from the `opik:`
// section: base_url {opik.url}/v1/private (Opik's chat completions gateway, which holds the
// workspace's provider keys), Opik's key sent raw, and the workspace (Opik answers 403 without it).
struct provider_config {
  std::string name;
  std::string kind = "openai_compatible";  // or opik_gateway
  std::string base_url;  // e.g. https://api.openai.com/v1 — the provider appends /chat/completions
  std::string workspace;  // sent as Comet-Workspace when set
  secret api_key;
  std::string api_key_source;  // "env OPENAI_API_KEY" / "file /run/…": safe to show
  auth_style auth = auth_style::bearer;
  int max_concurrency = 64;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds read_timeout{60'000};
  std::chrono::milliseconds total_timeout{180'000};
  core::retry_policy retry;
  std::map<std::string, core::model_price, std::less<>> prices;  // model → USD per million tokens
  // model → requests and tokens per minute. optd also learns them from the provider's answers
  // and paces at the lower of the two; each model has its own pace, as providers limit per model.
  std::map<std::string, core::rate_limits, std::less<>> rate_limits;
  // USD a day (UTC) for all runs together; calls past it wait for the next day. Every model a run
  // calls through this provider then needs a price.
  std::optional<double> daily_budget_usd;

  // The price of `model`: its own entry, else the longest entry it starts with ("gpt-4o" prices
  // "gpt-4o-2024-08-06"); nullopt when none does.
  std::optional<core::model_price> price_of(std::string_view model) const;
  // The configured limits of `model`, found as its price is; none when no entry matches.
  core::rate_limits rate_limits_of(std::string_view model) const;
};

// Where optd records its runs: an Opik backend (`url` as an SDK's base URL, e.g.
// http://localhost:5173/api or https://www.comet.com/opik/api).
struct opik_config {
  std::string url;
  secret api_key;          // sent raw in `authorization`; empty for a self-hosted Opik
  std::string workspace;   // Comet-Workspace header; empty: none
  std::string project_name = "Optimization";
};

// How `code` metrics run (the user's Python): in bubblewrap, with these limits per score.
struct code_metrics_config {
  // "bubblewrap", or "none": unsandboxed, limits only — an explicit opt-in for a machine where
  // bubblewrap cannot work and every config author is trusted.
  std::string sandbox = "bubblewrap";
  std::string bwrap = "bwrap";
  std::string python = "/usr/bin/python3";
  std::vector<std::string> read_only_paths;
  int workers = 2;
  std::chrono::milliseconds cpu_time{5'000};
  std::chrono::milliseconds wall_time{10'000};
  int memory_mb = 512;
  int processes = 16;
  int output_kb = 1024;
  int tmp_mb = 16;
};

// Redis, as Opik's deployments name it: redis://[[user]:password@]host[:port][/db].
struct redis_endpoint {
  std::string host = "127.0.0.1";
  unsigned short port = 6379;
  int db = 0;
  std::string username;  // empty: AUTH with the password alone (Redis < 6 style)
  secret password;
};
// Parses a redis:// URL (compose's `redis://:opik@redis:6379/`, helm's without a db); or why not.
boost::system::result<redis_endpoint, std::string> parse_redis_url(std::string_view url);

// `studio_worker:` — optd takes the Studio runs Opik's backend queues on Redis for its Python
// worker (the RQ protocol of reference/studio-worker.md), recording them through `opik:`.
struct studio_worker_config {
  bool enabled = true;
  redis_endpoint redis;
  std::string queue = "opik:optimizer-cloud";  // RQ's name, without the rq:queue: prefix
  int max_jobs = 0;                            // at once; 0: max_concurrent_runs
  // Unique among the workers sharing the queue and the same across this worker's restarts (it
  // finds its claims by it); empty: optd-{host name}-{a digest of the state directory}.
  std::string name;
  // A worker that has not renewed its lease for this long is taken for dead: any other worker
  // puts its claimed jobs back on the queue. Renewed every lease/4.
  std::chrono::milliseconds lease{60'000};
  // How often the queue's cancel keys (opik:cancel:{id}) are read for the running jobs.
  std::chrono::milliseconds cancel_poll{2'000};
};

struct daemon_config {
  std::string state_dir = "/var/lib/optd";
  std::string listen = "127.0.0.1:8600";  // optd serve's HTTP API
  int max_concurrent_runs = 4;            // more wait in a queue
  std::chrono::milliseconds drain_timeout{30'000};  // SIGTERM: how long calls in flight may finish
  secret api_token;                       // when set, every API request but health needs it
  std::string inbox_dir;                  // optd serve submits *.yaml dropped here; empty: none
  std::optional<opik_config> opik;        // record runs in Opik; nullopt: do not
  std::string default_provider;
  std::vector<provider_config> providers;
  code_metrics_config code_metrics;
  std::optional<studio_worker_config> studio_worker;  // nullopt: no section, or enabled: false
  std::string source;  // the file it came from, or "(built-in)"

  const provider_config* find_provider(std::string_view name) const noexcept;
};

struct loaded_daemon_config {
  daemon_config config;
  diagnostics problems;
  bool ok() const noexcept { return problems.empty(); }
};

loaded_daemon_config load_daemon_config_file(const std::string& path);
loaded_daemon_config parse_daemon_config(std::string_view text, const std::string& name);

// Expands ${VAR} and ${VAR:-default}; an unset VAR without default expands to "".
std::string expand_env(std::string_view text);

// HOST:PORT split, the port a number in 0–65535 (0: any free port, as the tests use); or why not.
struct listen_address {
  std::string host;
  unsigned short port = 0;
};
boost::system::result<listen_address, std::string> parse_listen(std::string_view text);

}  // namespace optd::config
