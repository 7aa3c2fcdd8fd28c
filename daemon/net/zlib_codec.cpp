#include "net/zlib_codec.hpp"

#include <new>

#include <zlib.h>

namespace optd::net {

namespace {

int window_bits(zlib_format f) { return f == zlib_format::gzip ? 16 + MAX_WBITS : MAX_WBITS; }

}  // namespace

inflate_result inflate(std::string_view in, zlib_format format, std::size_t limit, std::string& out) {
  z_stream z{};
  if (inflateInit2(&z, window_bits(format)) != Z_OK) throw std::bad_alloc();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char chunk[16384];
  auto result = inflate_result::ok;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    int rc = ::inflate(&z, Z_NO_FLUSH);
    std::size_t produced = sizeof chunk - z.avail_out;
    if (out.size() + produced > limit) {
      result = inflate_result::too_large;
      break;
    }
    out.append(chunk, produced);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      if (format == zlib_format::zlib) {  // one stream only: bytes after it are not zlib
        result = inflate_result::invalid;
        break;
      }
      inflateReset(&z);  // another gzip member follows
      continue;
    }
    if (rc != Z_OK || (z.avail_in == 0 && produced == 0)) {  // corrupt, or it ends before its end
      result = inflate_result::invalid;
      break;
    }
  }
  inflateEnd(&z);
  return result;
}

std::string deflate(std::string_view data, zlib_format format) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits(format), 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  ::deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace optd::net
