#pragma once
// When and how long to wait before retrying an HTTP call. Pure: the caller supplies the attempt
// number, the response facts and a uniform random number, and sleeps itself.
#include <chrono>
#include <optional>
#include <string_view>

namespace optd::core {

struct retry_policy {
  int max_attempts = 5;                          // including the first
  std::chrono::milliseconds base_delay{250};     // backoff ceiling of the first retry
  std::chrono::milliseconds max_delay{20'000};   // backoff ceiling, and cap on a server's hint
};

// 408, 409, 429 and every 5xx are worth retrying; other statuses are final.
bool is_retryable_status(unsigned status) noexcept;

// The server's wish, from `retry-after-ms` (milliseconds, OpenAI) or `Retry-After` (seconds or an
// HTTP date). `now_unix_s` resolves the date form. Absent or unparsable: nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view retry_after,
                                                           std::string_view retry_after_ms,
                                                           long long now_unix_s);

// Delay before retry number `retry` (1 for the first retry): the server's hint when it gave one
// (capped at max_delay), otherwise full jitter, uniform in [0, min(max_delay, base·2^(retry-1))).
// `uniform01` is in [0, 1).
std::chrono::milliseconds retry_delay(const retry_policy& policy, int retry,
                                      std::optional<std::chrono::milliseconds> server_hint,
                                      double uniform01) noexcept;

}  // namespace optd::core
