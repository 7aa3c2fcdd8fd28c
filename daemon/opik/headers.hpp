#pragma once
// Opik's request headers for a config: JSON, the raw API key in `authorization` (no "Bearer"),
// and the workspace in `Comet-Workspace`; the empty ones are left out (self-hosted Opik).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/daemon_config.hpp"
#include "net/http_message.hpp"

namespace optd::opik {

// Who a run is in Opik when it is not the config's workspace and key: a Studio job's workspace
// and its user's key (Opik's cloud puts it in the job). An empty key: the config's.
struct run_identity {
  std::string workspace;
  std::string api_key;
};
// A run's identity by its id; nullopt: the config's.
using identity_lookup = std::function<std::optional<run_identity>(const std::string& run_id)>;

std::vector<net::http_header> opik_headers(const config::opik_config& cfg, const std::optional<run_identity>& who = {});
// The same for run `run_id` as `lookup` (when set) knows it.
std::vector<net::http_header> opik_headers(const config::opik_config& cfg, const identity_lookup& lookup,
                                           const std::string& run_id);

}  // namespace optd::opik
