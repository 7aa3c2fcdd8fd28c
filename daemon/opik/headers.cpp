#include "opik/headers.hpp"

namespace optd::opik {

std::vector<net::http_header> opik_headers(const config::opik_config& cfg) {
  std::vector<net::http_header> h{{"Content-Type", "application/json"}};
  if (!cfg.api_key.empty()) h.push_back({"authorization", cfg.api_key.reveal()});
  if (!cfg.workspace.empty()) h.push_back({"Comet-Workspace", cfg.workspace});
  return h;
}

}  // namespace optd::opik
