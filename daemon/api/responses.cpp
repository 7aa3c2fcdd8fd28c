#include "api/responses.hpp"

#include "opik/opik_json.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

namespace optd::api {

using net::http_response;

http_response json_response(unsigned status, const nlohmann::json& body) {
  return {status, {{"Content-Type", "application/json"}}, body.dump()};
}
http_response error_response(unsigned status, std::string message) {
  return json_response(status, opik::error_body(status, std::move(message)));
}
http_response errors_response(unsigned status, std::vector<std::string> errors) {
  return json_response(status, opik::errors_body(std::move(errors)));
}
http_response no_content() { return {204, {}, {}}; }

std::string origin_of(const net::http_request& req) {
  auto host = req.header("host");
  return "http://" + std::string(host.empty() ? "localhost" : host);
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out.push_back(' ');
    else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else out.push_back(s[i]);
  }
  return out;
}


}  // namespace

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::map<std::string, std::string> parse_query(std::string_view target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    out[percent_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

std::optional<long long> positive_param(const std::map<std::string, std::string>& q, const char* key,
                                        long long fallback) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) return fallback;
  try {
    std::size_t used = 0;
    auto v = std::stoll(it->second, &used);
    if (used != it->second.size() || v < 1 || v > std::numeric_limits<std::int32_t>::max()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

page_slice slice_of(long long page, long long size, std::size_t total) {
  auto first = std::min(static_cast<std::size_t>((page - 1) * size), total);
  return {first, std::min(first + static_cast<std::size_t>(size), total)};
}

std::string text_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

long long whole_field(const nlohmann::json& j, const char* key, long long fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<long long>() : fallback;
}

}  // namespace optd::api
