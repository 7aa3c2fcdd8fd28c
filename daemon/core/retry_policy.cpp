#include "core/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <string>

namespace optd::core {
namespace {

std::optional<double> parse_number(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

// RFC 9110 IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
std::optional<long long> parse_http_date(std::string_view s) {
  std::tm tm{};
  std::string copy(s);
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<long long>(timegm(&tm));
}

}  // namespace

bool is_retryable_status(unsigned status) noexcept {
  return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view retry_after,
                                                           std::string_view retry_after_ms,
                                                           long long now_unix_s) {
  if (auto ms = parse_number(retry_after_ms))
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(*ms)));
  if (auto secs = parse_number(retry_after))
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(*secs * 1000.0)));
  if (auto when = parse_http_date(retry_after))
    return std::chrono::milliseconds(std::max(0LL, *when - now_unix_s) * 1000);
  return std::nullopt;
}

std::chrono::milliseconds retry_delay(const retry_policy& policy, int retry,
                                      std::optional<std::chrono::milliseconds> server_hint,
                                      double uniform01) noexcept {
  if (server_hint) return std::min(*server_hint, policy.max_delay);
  double ceiling = static_cast<double>(policy.base_delay.count()) * std::ldexp(1.0, std::clamp(retry - 1, 0, 30));
  ceiling = std::min(ceiling, static_cast<double>(policy.max_delay.count()));
  return std::chrono::milliseconds(static_cast<long long>(ceiling * std::clamp(uniform01, 0.0, 1.0)));
}

}  // namespace optd::core
