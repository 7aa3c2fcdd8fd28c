#pragma once
// HTTP messages as plain structs, so that layers above net/ never include Beast.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace optd::net {

struct http_header {
  std::string name;
  std::string value;
};

// Case-insensitive lookup; empty when absent.
std::string_view find_header(const std::vector<http_header>& headers, std::string_view name) noexcept;

struct http_request {
  std::string method = "POST";
  std::string target;  // path and query; for the client, appended to the base URL's path
  std::vector<http_header> headers;
  std::string body;
  std::string_view header(std::string_view name) const noexcept { return find_header(headers, name); }
};

struct http_response {
  unsigned status = 200;
  std::vector<http_header> headers;
  std::string body;
  // Server side only: drop the connection instead of answering (fault injection, abuse).
  bool reset_connection = false;
  // Server side only: a streamed body (Server-Sent Events). After the headers the server writes
  // each piece `stream` yields, until it yields nullopt or the client goes away, then closes the
  // connection; `body` is not sent.
  std::function<boost::asio::awaitable<std::optional<std::string>>()> stream = nullptr;
  std::string_view header(std::string_view name) const noexcept { return find_header(headers, name); }
};

}  // namespace optd::net
