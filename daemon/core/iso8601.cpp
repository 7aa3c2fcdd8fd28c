#include "core/iso8601.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace optd::core {

std::string iso8601(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(unix_ms % 1000));
  return out;
}

std::optional<std::int64_t> parse_iso8601(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, used = 0;
  std::string t(text);
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  std::int64_t ms = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  std::size_t i = static_cast<std::size_t>(used);
  if (i < t.size() && t[i] == '.') {  // fraction: milliseconds from its first three digits
    int scale = 100;
    for (++i; i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])); ++i, scale /= 10)
      if (scale > 0) ms += (t[i] - '0') * scale;
  }
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(t.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    ms -= (t[i] == '+' ? 1 : -1) * (oh * 60 + om) * 60'000LL;
  } else if (i >= t.size() || (t[i] != 'Z' && t[i] != 'z')) {
    return std::nullopt;
  }
  return ms;
}

}  // namespace optd::core
