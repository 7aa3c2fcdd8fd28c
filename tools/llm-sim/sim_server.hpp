#pragma once
// llm-sim's HTTP face: an OpenAI-compatible POST /v1/chat/completions with configurable latency,
// per-minute request and token limits (429 with Retry-After and x-ratelimit-* headers) and fault
// injection, plus GET /stats with what it served. Single-threaded, on the caller's executor.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/http_message.hpp"
#include "sim_rules.hpp"

namespace optd::sim {

struct server_config {
  sim_options model{};
  double latency_ms = 0;      // median
  double latency_sigma = 0;   // log-normal spread; 0 = always the median
  long long rpm = 0;          // requests per minute; 0 = unlimited
  long long tpm = 0;          // tokens per minute; 0 = unlimited
  double fail_rate = 0;       // answer 503
  double reset_rate = 0;      // drop the connection
  double hang_rate = 0;       // never answer
  double malformed_rate = 0;  // answer 200 with broken JSON
  bool logprobs = true;       // answer `logprobs`/`top_logprobs` when asked; false: a provider without them
  std::uint64_t fault_seed = 7;
};

struct server_stats {
  std::uint64_t requests = 0;
  std::uint64_t completions = 0;
  std::uint64_t reasoning = 0;
  std::uint64_t judge = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t failed = 0, reset = 0, hung = 0, malformed = 0, bad_requests = 0;
  std::uint64_t prompt_tokens = 0, completion_tokens = 0;
  std::uint64_t in_flight = 0, max_in_flight = 0;
  std::uint64_t duplicate_completions = 0;  // 200 answers to a body already answered
};

class sim_server {
 public:
  sim_server(boost::asio::any_io_executor ex, server_config config);
  boost::asio::awaitable<net::http_response> handle(net::http_request request);
  // Ends every simulated wait (latency, hangs) at once; requests still waiting get their
  // connection reset. Call before the server and the io_context go away.
  void stop();
  const server_stats& stats() const noexcept { return stats_; }

 private:
  net::http_response completions(const net::http_request& request);
  std::optional<net::http_response> rate_limit(std::int64_t tokens);
  nlohmann::json stats_json() const;

  boost::asio::any_io_executor ex_;
  server_config config_;
  server_stats stats_;
  std::mt19937_64 fault_rng_;
  std::set<std::uint64_t> answered_;
  std::set<boost::asio::steady_timer*> waits_;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point window_start_ = std::chrono::steady_clock::now();
  long long window_requests_ = 0, window_tokens_ = 0;
};

}  // namespace optd::sim
