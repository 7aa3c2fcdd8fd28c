#pragma once
// Timestamps as Opik writes them: "2026-11-22T04:05:06.789Z" (UTC, milliseconds).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace optd::core {

std::string iso8601(std::int64_t unix_ms);

// The reverse, for what clients send ("…Z", optional fraction, or a ±hh:mm offset); nullopt when
// it is not such a timestamp.
std::optional<std::int64_t> parse_iso8601(std::string_view text);

}  // namespace optd::core
