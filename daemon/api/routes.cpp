#include "api/routes.hpp"

#include "api/responses.hpp"

namespace optd::api {

namespace {

struct route {
  std::string_view pattern;
  std::string_view methods;  // comma-separated, as the Allow header lists them
};

constexpr route routes[] = {
    {"/metrics", "GET"},
    {"/api/optd/health", "GET"},
    {"/api/optd/ready", "GET"},
    {"/api/is-alive/ping", "GET"},
    {"/api/is-alive/ver", "GET"},
    {"/api/optd/runs", "POST"},
    {"/api/optd/runs/{id}", "GET"},
    {"/api/optd/runs/{id}/log", "GET"},
    {"/api/optd/runs/{id}/log.gz", "GET"},
    {"/api/optd/runs/{id}/events", "GET"},
    {"/api/optd/runs/{id}/progress", "GET"},
    {"/api/v1/private/optimizations", "GET, POST, PUT"},
    {"/api/v1/private/optimizations/delete", "POST"},
    {"/api/v1/private/optimizations/{id}", "GET, PUT"},
    {"/api/v1/private/optimizations/studio/{id}/cancel", "GET"},
    {"/api/v1/private/optimizations/studio/{id}/logs", "GET"},
    {"/api/v1/private/datasets", "GET, POST"},
    {"/api/v1/private/datasets/retrieve", "POST"},
    {"/api/v1/private/datasets/items", "PUT"},
    {"/api/v1/private/datasets/items/stream", "POST"},
    {"/api/v1/private/datasets/{id}", "GET"},
    {"/api/v1/private/datasets/{id}/items", "GET"},
    {"/api/v1/private/datasets/{id}/versions", "GET"},
    {"/api/v1/private/datasets/{id}/items/experiments/items", "GET"},
    {"/api/v1/private/experiments", "GET, POST"},
    {"/api/v1/private/experiments/{id}", "GET, PATCH"},
    {"/api/v1/private/experiments/items", "POST"},
    {"/api/v1/private/experiments/items/stream", "POST"},
    {"/api/v1/private/experiments/stream", "POST"},
    {"/api/v1/private/experiments/finish", "POST"},
    {"/api/v1/private/experiments/feedback-scores/names", "GET"},
    {"/api/v1/private/experiments/items/{id}", "GET"},
    {"/api/v1/private/traces/batch", "POST"},
    {"/api/v1/private/traces/feedback-scores", "PUT"},
    {"/api/v1/private/traces/{id}", "PATCH"},
    {"/api/v1/private/spans/batch", "POST"},
    {"/api/v1/private/spans/{id}", "PATCH"},
    {"/api/v1/private/projects/{id}/optimizations", "GET"},
    {"/api/v1/private/projects/{id}/experiments", "GET"},
    {"/api/v1/private/projects/{id}/datasets", "GET"},
};

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0; at < path.size();) {
    auto slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > at) out.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}

// The number of literal segments `path` matches `pattern` with; nullopt when it does not.
std::optional<int> literal_match(std::string_view pattern, const std::vector<std::string_view>& path) {
  auto want = segments(pattern);
  if (want.size() != path.size()) return std::nullopt;
  int literal = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "{id}") continue;
    if (want[i] != path[i]) return std::nullopt;
    ++literal;
  }
  return literal;
}

}  // namespace

std::vector<std::string> allowed_methods(std::string_view path) {
  auto parts = segments(path);
  int best = -1;
  std::string_view methods;
  for (const auto& r : routes)
    if (auto literal = literal_match(r.pattern, parts); literal && *literal > best) {
      best = *literal;
      methods = r.methods;
    }
  std::vector<std::string> out;
  for (std::size_t at = 0; at < methods.size();) {
    auto comma = methods.find(',', at);
    if (comma == std::string_view::npos) comma = methods.size();
    auto one = methods.substr(at, comma - at);
    if (auto first = one.find_first_not_of(' '); first != std::string_view::npos) out.emplace_back(one.substr(first));
    at = comma + 1;
  }
  return out;
}

bool accepted_media_type(std::string_view path, std::string_view content_type) {
  auto type = lower(std::string(content_type.substr(0, content_type.find(';'))));
  type.erase(0, type.find_first_not_of(' '));
  type.erase(type.find_last_not_of(' ') + 1);
  if (type.empty()) return true;
  bool json = type == "application/json" || (type.size() > 5 && type.compare(type.size() - 5, 5, "+json") == 0);
  if (path == "/api/optd/runs")
    return json || type == "application/yaml" || type == "application/x-yaml" || type == "text/yaml" ||
           type == "text/x-yaml" || type == "text/plain";
  return json;
}

}  // namespace optd::api
