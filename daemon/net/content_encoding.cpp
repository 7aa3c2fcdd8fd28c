#include "net/content_encoding.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/beast/core/string.hpp>
#include <zlib.h>

namespace optd::net {

namespace {

http_response refusal(unsigned status, std::string_view message) {
  std::string body = R"({"code":)" + std::to_string(status) + R"(,"message":")";
  body += message;  // plain text of ours: no quote or backslash to escape
  body += "\"}";
  return {status, {{"Content-Type", "application/json"}}, std::move(body)};
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

enum class inflated { ok, too_large, invalid };

// Inflates gzip members back to back (RFC 1952 allows several), into `out`, up to `limit` bytes.
inflated inflate_gzip(std::string_view in, std::size_t limit, std::string& out) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char chunk[16384];
  inflated result = inflated::ok;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    int rc = inflate(&z, Z_NO_FLUSH);
    std::size_t produced = sizeof chunk - z.avail_out;
    if (out.size() + produced > limit) {
      result = inflated::too_large;
      break;
    }
    out.append(chunk, produced);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // another member follows
      continue;
    }
    if (rc != Z_OK || (z.avail_in == 0 && produced == 0)) {  // corrupt, or it ends before its end
      result = inflated::invalid;
      break;
    }
  }
  inflateEnd(&z);
  return result;
}

}  // namespace

std::optional<http_response> decode_request_body(http_request& request, std::size_t inflated_limit) {
  auto at = std::find_if(request.headers.begin(), request.headers.end(),
                         [](const http_header& h) { return boost::beast::iequals(h.name, "Content-Encoding"); });
  if (at == request.headers.end()) return std::nullopt;
  auto coding = trimmed(at->value);
  if (coding.empty() || boost::beast::iequals(coding, "identity")) {
    request.headers.erase(at);
    return std::nullopt;
  }
  if (!boost::beast::iequals(coding, "gzip") && !boost::beast::iequals(coding, "x-gzip"))
    return refusal(415, "Content-Encoding must be gzip or identity");
  if (request.body.size() > 0xffff'ffffu) return refusal(413, "request body is too large");
  std::string body;
  switch (inflate_gzip(request.body, inflated_limit, body)) {
    case inflated::too_large:
      return refusal(413, "request body is too large once inflated (at most " + std::to_string(inflated_limit) + " bytes)");
    case inflated::invalid: return refusal(400, "request body is not valid gzip (Content-Encoding: gzip)");
    case inflated::ok: break;
  }
  request.body = std::move(body);
  request.headers.erase(at);
  return std::nullopt;
}

std::string gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace optd::net
