#pragma once
// FNV-1a, 64 bits: a content fingerprint that is the same across builds, platforms and restarts
// (std::hash is not). Not for anything an adversary chooses.
#include <cstdint>
#include <string>
#include <string_view>

namespace optd::core {

constexpr std::uint64_t fnv1a_basis = 0xcbf29ce484222325ULL;

// Folds `s` into `h`, so that a digest can be taken over several pieces.
constexpr std::uint64_t fnv1a(std::string_view s, std::uint64_t h = fnv1a_basis) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// `h` as 16 lowercase hex digits.
inline std::string digest_hex(std::uint64_t h) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = hex[h & 15];
  return out;
}

}  // namespace optd::core
