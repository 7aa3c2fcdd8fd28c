#include "net/url.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "net/http_message.hpp"

namespace optd::net {

std::string_view find_header(const std::vector<http_header>& headers, std::string_view name) noexcept {
  for (const auto& h : headers)
    if (h.name.size() == name.size() &&
        std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return h.value;
  return {};
}

std::string url::target(std::string_view suffix) const {
  std::string t = path + std::string(suffix);
  if (t.empty()) t = "/";
  if (!query.empty()) t += (t.find('?') == std::string::npos ? "?" : "&") + query;
  return t;
}

boost::system::result<url> parse_url(std::string_view text) {
  url u;
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return core::errc::invalid_argument;
  u.scheme = std::string(text.substr(0, sep));
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (u.scheme != "http" && u.scheme != "https") return core::errc::invalid_argument;
  auto rest = text.substr(sep + 3);
  auto path_start = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_start);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return core::errc::invalid_argument;
  if (authority.front() == '[') {  // IPv6 literal
    auto close = authority.find(']');
    if (close == std::string_view::npos) return core::errc::invalid_argument;
    u.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return core::errc::invalid_argument;
      u.port = std::string(authority.substr(close + 2));
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
  } else {
    u.host = std::string(authority);
  }
  if (u.host.empty()) return core::errc::invalid_argument;
  if (u.port.empty()) u.port = u.tls() ? "443" : "80";
  if (!std::all_of(u.port.begin(), u.port.end(), [](unsigned char c) { return std::isdigit(c); }) || u.port.size() > 5)
    return core::errc::invalid_argument;
  if (path_start != std::string_view::npos) {
    auto pq = rest.substr(path_start);
    auto q = pq.find('?');
    u.path = std::string(pq.substr(0, q));
    if (q != std::string_view::npos) u.query = std::string(pq.substr(q + 1));
  }
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  return u;
}

}  // namespace optd::net
