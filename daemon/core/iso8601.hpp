#pragma once
// Timestamps as Opik writes them: "2026-11-22T04:05:06.789Z" (UTC, milliseconds).
#include <cstdint>
#include <string>

namespace optd::core {

std::string iso8601(std::int64_t unix_ms);

}  // namespace optd::core
