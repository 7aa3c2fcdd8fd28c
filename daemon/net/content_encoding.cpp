#include "net/content_encoding.hpp"

#include <algorithm>

#include <boost/beast/core/string.hpp>

#include "net/zlib_codec.hpp"

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
  switch (inflate(request.body, zlib_format::gzip, inflated_limit, body)) {
    case inflate_result::too_large:
      return refusal(413, "request body is too large once inflated (at most " + std::to_string(inflated_limit) + " bytes)");
    case inflate_result::invalid: return refusal(400, "request body is not valid gzip (Content-Encoding: gzip)");
    case inflate_result::ok: break;
  }
  request.body = std::move(body);
  request.headers.erase(at);
  return std::nullopt;
}

std::string gzip(std::string_view data) { return deflate(data, zlib_format::gzip); }

}  // namespace optd::net
