#include "app/paths.hpp"

#include <cstdlib>
#include <filesystem>

namespace optd::app {

namespace {

constexpr std::string_view builtin_config = R"yaml(
providers:
  - name: openai
    kind: openai_compatible
    base_url: ${OPENAI_BASE_URL:-https://api.openai.com/v1}
    api_key_env: OPENAI_API_KEY
    prices:
      gpt-4o-mini: {input: 0.15, output: 0.60}
      gpt-4o: {input: 2.50, output: 10.00}
)yaml";

}  // namespace

config::loaded_daemon_config load_daemon_config(const std::string& explicit_path) {
  std::string path = explicit_path;
  if (path.empty())
    if (const char* env = std::getenv("OPTD_CONFIG"); env && *env) path = env;
  if (path.empty() && std::filesystem::exists("/etc/optd/optd.yaml")) path = "/etc/optd/optd.yaml";
  if (!path.empty()) return config::load_daemon_config_file(path);
  auto loaded = config::parse_daemon_config(builtin_config, "(built-in daemon config)");
  loaded.config.source = "(built-in)";
  return loaded;
}

std::string state_dir_of(const std::string& explicit_dir, const config::daemon_config& cfg) {
  std::string dir = explicit_dir;
  if (dir.empty())
    if (const char* env = std::getenv("OPTD_STATE_DIR"); env && *env) dir = env;
  if (dir.empty() && cfg.source != "(built-in)") dir = cfg.state_dir;
  if (dir.empty()) {
    if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) dir = std::string(xdg) + "/optd";
    else if (const char* home = std::getenv("HOME"); home && *home) dir = std::string(home) + "/.local/state/optd";
    else dir = ".optd";
  }
  return dir;
}

std::string resolve_state_dir(const std::string& explicit_dir, const config::daemon_config& cfg) {
  auto dir = state_dir_of(explicit_dir, cfg);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string store_path(const std::string& state_dir) { return state_dir + "/optd.db"; }

}  // namespace optd::app
