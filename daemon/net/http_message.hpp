#pragma once
// HTTP messages as plain structs, so that layers above net/ never include Beast.
#include <string>
#include <string_view>
#include <vector>

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
  std::string_view header(std::string_view name) const noexcept { return find_header(headers, name); }
};

}  // namespace optd::net
