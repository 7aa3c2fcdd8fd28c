#pragma once
// Durations in configs: "250ms", "90s", "30m", "2h", or a bare number of seconds.
#include <chrono>
#include <optional>
#include <string_view>

namespace optd::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace optd::config
