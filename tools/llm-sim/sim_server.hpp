#pragma once
// llm-sim's HTTP face: an OpenAI-compatible POST /v1/chat/completions with configurable latency,
// per-minute request and token limits over a sliding window (checked when a request arrives, as
// a provider's edge does; x-ratelimit-* headers on every answer, 429 with Retry-After beyond the
// limit) and fault injection, plus GET /stats with what it served. Single-threaded, on the
// caller's executor.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
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
  long long tpm = 0;          // prompt tokens per minute; 0 = unlimited
  // The sliding window the limits are enforced over, each scaled to it: rpm 3600 over 1 s allows
  // 60 requests in any second. OpenAI enforces over windows shorter than a minute.
  std::chrono::milliseconds rate_window{60'000};
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
  // The first chat request's arrival, the last one the rate limit let in, and the last answer: the
  // rate the limit saw, and the time the calls took as the provider saw them.
  std::optional<std::chrono::steady_clock::time_point> first_request, last_accepted, last_answer;
  std::uint64_t accepted = 0;  // chat requests the rate limit let in
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
  // Counts a request of `tokens` prompt tokens arriving now, adding the x-ratelimit-* headers to
  // `headers`; the 429 answer when it is over a limit (then it is not counted).
  std::optional<net::http_response> rate_limit(std::int64_t tokens, std::vector<net::http_header>& headers);
  nlohmann::json stats_json() const;

  boost::asio::any_io_executor ex_;
  server_config config_;
  server_stats stats_;
  std::mt19937_64 fault_rng_;
  std::set<std::uint64_t> answered_;
  std::set<boost::asio::steady_timer*> waits_;
  bool stopped_ = false;
  struct arrival {
    std::chrono::steady_clock::time_point at;
    std::int64_t tokens;
  };
  std::deque<arrival> window_;  // the requests counted in the last rate_window
  std::int64_t window_tokens_ = 0;
};

}  // namespace optd::sim
