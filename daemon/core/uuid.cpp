#include "core/uuid.hpp"

#include <array>
#include <cctype>

#include "core/digest.hpp"

namespace optd::core {

namespace {

std::string format_uuid(const std::array<std::uint8_t, 16>& b) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[b[i] >> 4]);
    out.push_back(hex[b[i] & 0x0f]);
  }
  return out;
}

}  // namespace

std::string derived_uuid_v7(std::string_view base, std::string_view label) {
  std::array<std::uint8_t, 16> b{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < base.size() && n < 6 * 2; ++i) {  // the first 12 hex digits: the time
    if (base[i] == '-') continue;
    int v = std::isdigit(static_cast<unsigned char>(base[i])) ? base[i] - '0' : (std::tolower(base[i]) - 'a' + 10);
    b[n / 2] = static_cast<std::uint8_t>(b[n / 2] | (n % 2 ? v : v << 4));
    ++n;
  }
  auto h1 = fnv1a(label, fnv1a(base));
  auto h2 = fnv1a(base, fnv1a(label));
  for (std::size_t i = 6; i < 16; ++i)
    b[i] = static_cast<std::uint8_t>((i < 11 ? h1 : h2) >> (8 * (i % 8)));
  b[6] = static_cast<std::uint8_t>(0x70 | (b[6] & 0x0f));
  b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3f));
  return format_uuid(b);
}

std::string uuid_v7_generator::next(std::uint64_t unix_ms) {
  if (unix_ms <= last_ms_) {
    unix_ms = last_ms_;
    if (++counter_ > 0x0fff) {  // counter overflow: borrow the next millisecond
      ++unix_ms;
      counter_ = 0;
    }
  } else {
    counter_ = static_cast<std::uint16_t>(rng_() & 0x01ff);  // random start leaves room to count
  }
  last_ms_ = unix_ms;

  std::array<std::uint8_t, 16> b{};
  for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(unix_ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | ((counter_ >> 8) & 0x0f));
  b[7] = static_cast<std::uint8_t>(counter_ & 0xff);
  auto r = rng_();
  for (std::size_t i = 8; i < 16; ++i) b[i] = static_cast<std::uint8_t>(r >> (8 * (i - 8)));
  b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3f));
  return format_uuid(b);
}

bool is_uuid_v7(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  char variant = static_cast<char>(std::tolower(static_cast<unsigned char>(s[19])));
  return s[14] == '7' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

}  // namespace optd::core
