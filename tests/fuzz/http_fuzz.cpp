// Raw bytes as an HTTP request to optd's API: parsed as a session parses them (Beast, the body
// limit), then routed as `optd serve` routes them. Fails on any 5xx.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api_target.hpp"
#include "net/http_server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static optd::fuzz::api_target api;
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  auto parsed = optd::net::parse_request(raw, 1u << 20);
  if (parsed && parsed->request) api.route(*parsed->request);
  return 0;
}
