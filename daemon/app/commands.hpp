#pragma once
// The subcommands that run here: in the foreground, as the daemon, or on a config alone. Each returns the process exit code and writes
// what a person reads to `out` and problems to `err`.
#include <iosfwd>
#include <string>

namespace optd::app {

struct common_options {
  std::string config;     // daemon config path; empty: see paths.hpp
  std::string state_dir;  // empty: see paths.hpp
};

struct run_options {
  common_options common;
  std::string file;
  bool quiet = false;  // no progress bar, no log lines
  bool json = false;   // print the result as JSON
};

struct serve_options {
  common_options common;
  std::string listen;     // HOST:PORT; empty: the daemon config's
  std::string port_file;  // write the bound port here once listening (for tests and scripts)
};

int serve_command(const serve_options& options, std::ostream& out, std::ostream& err);
int run_command(const run_options& options, std::ostream& out, std::ostream& err);
int validate_command(const common_options& common, const std::string& file, std::ostream& out, std::ostream& err);

}  // namespace optd::app
