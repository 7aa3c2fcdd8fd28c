#include "config/duration.hpp"

#include <charconv>
#include <cmath>

namespace optd::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || !std::isfinite(value) || value < 0) return std::nullopt;
  std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  double ms_per = unit.empty() || unit == "s" ? 1000 : unit == "ms" ? 1 : unit == "m" ? 60'000 : unit == "h" ? 3'600'000 : -1;
  if (ms_per < 0 || value * ms_per > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(std::llround(value * ms_per)));
}

}  // namespace optd::config
