#pragma once
// Absolute http(s) URLs as a client needs them.
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace optd::net {

struct url {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::string port;    // always set: the default for the scheme when the URL has none
  std::string path;    // without a trailing slash; "" for the root
  std::string query;   // without '?'
  bool tls() const noexcept { return scheme == "https"; }
  // The request target for `suffix` (which starts with '/'), keeping the URL's own query.
  std::string target(std::string_view suffix) const;
  std::string origin() const { return scheme + "://" + host + ":" + port; }
};

boost::system::result<url> parse_url(std::string_view text);

}  // namespace optd::net
