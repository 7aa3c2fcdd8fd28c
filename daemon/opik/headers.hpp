#pragma once
// Opik's request headers for a config: JSON, the raw API key in `authorization` (no "Bearer"),
// and the workspace in `Comet-Workspace`; the empty ones are left out (self-hosted Opik).
#include <vector>

#include "config/daemon_config.hpp"
#include "net/http_message.hpp"

namespace optd::opik {

std::vector<net::http_header> opik_headers(const config::opik_config& cfg);

}  // namespace optd::opik
