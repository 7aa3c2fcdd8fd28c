#pragma once
// The subcommands that talk to a running `optd serve` over its HTTP API (and `optd results`,
// which reads a local store first). Each returns the exit code and writes what a person reads to
// `out`, problems to `err`.
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
// `optd results ID`: the run as `optd run` prints it at its end, from the store at `store_path`
// when it is there (a run of `optd run`, or of a daemon on the same store), else from the daemon;
// with `o.server` given, from the daemon only. `o.json` prints the JSON instead.
int results_command(const config::daemon_config& cfg, const client_options& o, const std::string& store_path,
                    const std::string& id, std::ostream& out, std::ostream& err);
int logs_command(const config::daemon_config& cfg, const client_options& o, const std::string& id, std::ostream& out,
                 std::ostream& err);

}  // namespace optd::cli
