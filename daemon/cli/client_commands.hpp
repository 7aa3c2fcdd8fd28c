#pragma once
// The subcommands that talk to a running `optd serve` over its HTTP API. Each returns the exit
// code and writes what a person reads to `out`, problems to `err`.
#include <iosfwd>
#include <string>

#include "config/daemon_config.hpp"

namespace optd::cli {

struct client_options {
  std::string server;  // http://HOST:PORT; empty: $OPTD_SERVER, else the daemon config's listen
  bool json = false;
};

// Validates FILE locally, uploads its dataset_file when the daemon does not have that dataset
// yet, and submits the run. With `watch`, follows it to the end.
int submit_command(const config::daemon_config& cfg, const client_options& o, const std::string& file, bool watch,
                   std::ostream& out, std::ostream& err);
int list_command(const config::daemon_config& cfg, const client_options& o, std::ostream& out, std::ostream& err);
int status_command(const config::daemon_config& cfg, const client_options& o, const std::string& id, std::ostream& out,
                   std::ostream& err);
int watch_command(const config::daemon_config& cfg, const client_options& o, const std::string& id, std::ostream& out,
                  std::ostream& err);
int cancel_command(const config::daemon_config& cfg, const client_options& o, const std::string& id,
                   std::ostream& out, std::ostream& err);
int logs_command(const config::daemon_config& cfg, const client_options& o, const std::string& id, std::ostream& out,
                 std::ostream& err);

}  // namespace optd::cli
