#include "core/rate_limit.hpp"

#include <charconv>
#include <cmath>
#include <string>

#include "core/iso8601.hpp"

namespace optd::core {
namespace {

// A finite number ≥ 0 at the start of `s`; advances `s` past it.
std::optional<double> take_number(std::string_view& s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || !std::isfinite(v) || v < 0) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return v;
}

std::optional<double> whole_number(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  auto v = take_number(s);
  return v && s.empty() ? v : std::nullopt;
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000.0)));
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_reset_duration(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  if (auto bare = whole_number(text)) return to_ms(*bare);
  double seconds = 0;
  while (!text.empty()) {
    auto v = take_number(text);
    if (!v) return std::nullopt;
    if (text.rfind("ms", 0) == 0) seconds += *v / 1000.0, text.remove_prefix(2);
    else if (text.rfind("h", 0) == 0) seconds += *v * 3600.0, text.remove_prefix(1);
    else if (text.rfind("m", 0) == 0) seconds += *v * 60.0, text.remove_prefix(1);
    else if (text.rfind("s", 0) == 0) seconds += *v, text.remove_prefix(1);
    else return std::nullopt;
  }
  return to_ms(seconds);
}

rate_limit_facts parse_rate_limit_facts(const std::function<std::string_view(std::string_view)>& header,
                                        std::int64_t now_unix_ms) {
  rate_limit_facts f;
  auto number = [&](std::string_view name) { return whole_number(header(name)); };
  // OpenAI and Azure OpenAI.
  f.limit_requests = number("x-ratelimit-limit-requests");
  f.limit_tokens = number("x-ratelimit-limit-tokens");
  f.remaining_requests = number("x-ratelimit-remaining-requests");
  f.remaining_tokens = number("x-ratelimit-remaining-tokens");
  f.reset_requests = parse_reset_duration(header("x-ratelimit-reset-requests"));
  f.reset_tokens = parse_reset_duration(header("x-ratelimit-reset-tokens"));
  if (!f.empty()) return f;
  // Anthropic: the reset is a time; its input-token limit stands for tokens when the combined
  // one is absent (prompt tokens are what optd's estimate is of).
  auto reset_at = [&](std::string_view name) -> std::optional<std::chrono::milliseconds> {
    auto when = parse_iso8601(header(name));
    if (!when) return std::nullopt;
    return std::chrono::milliseconds(std::max<std::int64_t>(0, *when - now_unix_ms));
  };
  f.limit_requests = number("anthropic-ratelimit-requests-limit");
  f.remaining_requests = number("anthropic-ratelimit-requests-remaining");
  f.reset_requests = reset_at("anthropic-ratelimit-requests-reset");
  std::string tokens = header("anthropic-ratelimit-tokens-limit").empty() ? "anthropic-ratelimit-input-tokens-"
                                                                          : "anthropic-ratelimit-tokens-";
  f.limit_tokens = number(tokens + "limit");
  f.remaining_tokens = number(tokens + "remaining");
  f.reset_tokens = reset_at(tokens + "reset");
  return f;
}

}  // namespace optd::core
