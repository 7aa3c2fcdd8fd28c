// optd: argv → subcommand; nothing else.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/commands.hpp"
#include "app/paths.hpp"
#include "app/process_limits.hpp"

int main(int argc, char** argv) {
  CLI::App app{"optd: prompt optimization runs for Opik, from YAML configs"};
  app.require_subcommand(1);
  optd::app::common_options common;
  app.add_option("--config", common.config, "daemon config (default: $OPTD_CONFIG, /etc/optd/optd.yaml, built-in)");
  app.add_option("--state-dir", common.state_dir, "where the store lives (default: see README)");

  optd::app::run_options run;
  auto* run_cmd = app.add_subcommand("run", "run one optimization in the foreground");
  run_cmd->add_option("file", run.file, "run config (YAML)")->required();
  run_cmd->add_flag("--quiet,-q", run.quiet, "no progress bar or log lines");
  run_cmd->add_flag("--json", run.json, "print the result as JSON");

  std::string validate_file;
  auto* validate_cmd = app.add_subcommand("validate", "check a run config; every problem as file:line:column");
  validate_cmd->add_option("file", validate_file, "run config (YAML)")->required();

  optd::app::serve_options serve;
  auto* serve_cmd = app.add_subcommand("serve", "run the daemon: Opik's optimization API and a queue of runs");
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT (default: the daemon config's listen)");
  serve_cmd->add_option("--port-file", serve.port_file, "write the bound port to this file once listening");

  std::string results_id;
  bool results_json = false;
  auto* results_cmd = app.add_subcommand("results", "print a run from the store");
  results_cmd->add_option("id", results_id, "run id or a unique prefix of it")->required();
  results_cmd->add_flag("--json", results_json, "print as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : optd::app::exit_usage;
  }

  optd::app::raise_open_file_limit();
  try {
    if (*run_cmd) {
      run.common = common;
      return optd::app::run_command(run, std::cout, std::cerr);
    }
    if (*serve_cmd) {
      serve.common = common;
      return optd::app::serve_command(serve, std::cout, std::cerr);
    }
    if (*validate_cmd) return optd::app::validate_command(common, validate_file, std::cout, std::cerr);
    if (*results_cmd) return optd::app::results_command(common, results_id, results_json, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "optd: " << e.what() << "\n";
    return optd::app::exit_failure;
  }
  return optd::app::exit_usage;
}
