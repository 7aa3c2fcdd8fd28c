#pragma once
// UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Opik requires v7 ids for
// optimizations and accepts client-generated ones, which makes writes idempotent.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace optd::core {

// Generates ids that sort by creation time. Within one millisecond a 12-bit counter keeps them
// strictly increasing. Not thread-safe: one generator per event loop.
class uuid_v7_generator {
 public:
  explicit uuid_v7_generator(std::uint64_t seed) : rng_(seed) {}
  std::string next(std::uint64_t unix_ms);

 private:
  std::mt19937_64 rng_;
  std::uint64_t last_ms_ = 0;
  std::uint16_t counter_ = 0;
};

// A v7 id that is a pure function of `base` (a v7 id) and `label`: same 48-bit time as `base`,
// the rest from a hash. Lets optd name what it derives from a journaled row (the trace of an
// evaluation, its span) without storing more ids, and gives the same id after a restart.
std::string derived_uuid_v7(std::string_view base, std::string_view label);

// True for the canonical 8-4-4-4-12 lowercase or uppercase hex form with version 7.
bool is_uuid_v7(std::string_view s) noexcept;

}  // namespace optd::core
