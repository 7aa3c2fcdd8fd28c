#pragma once
// zlib's two framings of deflate, for what arrives compressed: gzip (RFC 1952, HTTP bodies) and
// zlib (RFC 1950, the `data` and `exc_info` of Python RQ's job hashes). Inflating stops at a limit,
// so a small input that inflates to gigabytes (a bomb) costs no more memory than the limit.
#include <cstddef>
#include <string>
#include <string_view>

namespace optd::net {

enum class zlib_format { gzip, zlib };
enum class inflate_result { ok, too_large, invalid };

// Appends what `in` inflates to (for gzip, members back to back, as RFC 1952 allows) to `out`,
// never past `limit` bytes in all.
inflate_result inflate(std::string_view in, zlib_format format, std::size_t limit, std::string& out);

// `data` compressed in `format`.
std::string deflate(std::string_view data, zlib_format format);

}  // namespace optd::net
