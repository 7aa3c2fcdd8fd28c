// JSON bodies for Opik's write endpoints: the first byte picks the endpoint, the rest is the body.
// Fails on any 5xx.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>

#include "api_target.hpp"

namespace {

const std::pair<const char*, const char*> endpoints[] = {
    {"POST", "/api/v1/private/optimizations"},
    {"PUT", "/api/v1/private/optimizations/01a0c450-6c00-70b6-a03c-c17d66c8da09"},
    {"POST", "/api/v1/private/optimizations/delete"},
    {"POST", "/api/v1/private/experiments"},
    {"PATCH", "/api/v1/private/experiments/01a0c450-6c00-70b7-a83c-0c41c882ac39"},
    {"POST", "/api/v1/private/experiments/items"},
    {"POST", "/api/v1/private/experiments/items/stream"},
    {"POST", "/api/v1/private/traces/batch"},
    {"PATCH", "/api/v1/private/traces/01a0c450-6c00-70b7-a83c-0c41c882ac3a"},
    {"POST", "/api/v1/private/spans/batch"},
    {"PATCH", "/api/v1/private/spans/01a0c450-6c00-70b7-a83c-0c41c882ac3b"},
    {"PUT", "/api/v1/private/traces/feedback-scores"},
    {"POST", "/api/v1/private/datasets"},
    {"POST", "/api/v1/private/datasets/retrieve"},
    {"PUT", "/api/v1/private/datasets/items"},
    {"POST", "/api/v1/private/datasets/items/stream"},
    {"POST", "/api/optd/runs"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static optd::fuzz::api_target api;
  if (size == 0) return 0;
  const auto& [method, path] = endpoints[data[0] % std::size(endpoints)];
  optd::net::http_request request;
  request.method = method;
  request.target = path;
  request.headers = {{"Content-Type", "application/json"}};
  request.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  api.route(request);
  return 0;
}
