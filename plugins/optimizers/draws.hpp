#pragma once
// Random draws for optimizers from the run's generator, with algorithms of our own: the
// standard distributions' algorithms are unspecified, and a run must draw the same numbers on
// every platform to replay its journal.
#include <cstddef>
#include <random>
#include <utility>
#include <vector>

namespace optd::plugins {

// A uniform index in [0, n); 0 when n is 0.
inline std::size_t draw(std::mt19937_64& rng, std::size_t n) {
  if (n <= 1) return 0;
  // Rejection sampling below the largest multiple of n: no modulo bias.
  const auto limit = std::mt19937_64::max() - std::mt19937_64::max() % n;
  std::uint64_t x;
  do x = rng();
  while (x >= limit);
  return static_cast<std::size_t>(x % n);
}

// A uniform number in [0, 1).
inline double draw_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Fisher–Yates.
template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[draw(rng, i)]);
}

}  // namespace optd::plugins
