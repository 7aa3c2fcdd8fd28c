#include "opik/headers.hpp"

namespace optd::opik {

std::vector<net::http_header> opik_headers(const config::opik_config& cfg, const std::optional<run_identity>& who) {
  std::vector<net::http_header> h{{"Content-Type", "application/json"}};
  const auto& key = who && !who->api_key.empty() ? who->api_key : cfg.api_key.reveal();
  const auto& workspace = who && !who->workspace.empty() ? who->workspace : cfg.workspace;
  if (!key.empty()) h.push_back({"authorization", key});
  if (!workspace.empty()) h.push_back({"Comet-Workspace", workspace});
  return h;
}

std::vector<net::http_header> opik_headers(const config::opik_config& cfg, const identity_lookup& lookup,
                                           const std::string& run_id) {
  return opik_headers(cfg, lookup && !run_id.empty() ? lookup(run_id) : std::nullopt);
}

}  // namespace optd::opik
