#pragma once
// Where optd finds its daemon config and keeps its state.
#include <string>

#include "config/daemon_config.hpp"

namespace optd::app {

// The daemon config: `explicit_path` if given, else $OPTD_CONFIG, else /etc/optd/optd.yaml when it
// exists, else the built-in default (one OpenAI provider, keys from OPENAI_API_KEY).
config::loaded_daemon_config load_daemon_config(const std::string& explicit_path);

// The state directory: `explicit_dir`, else $OPTD_STATE_DIR, else the config's state_dir when the
// config came from a file, else $XDG_STATE_HOME/optd or ~/.local/state/optd. Created if missing.
std::string resolve_state_dir(const std::string& explicit_dir, const config::daemon_config& cfg);
// The same directory, not created (for readers).
std::string state_dir_of(const std::string& explicit_dir, const config::daemon_config& cfg);

std::string store_path(const std::string& state_dir);

// Exit codes (sysexits.h where one fits).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 64;
inline constexpr int exit_in_use = 75;  // EX_TEMPFAIL: the state directory has its owner
inline constexpr int exit_store_unavailable = 75;  // EX_TEMPFAIL: the store cannot be written now
inline constexpr int exit_config = 78;
inline constexpr int exit_cancelled = 130;

}  // namespace optd::app
