// optd: argv → subcommand; nothing else.
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/commands.hpp"
#include "app/paths.hpp"
#include "app/process_limits.hpp"
#include "cli/client_commands.hpp"
#include "store/sqlite.hpp"

int main(int argc, char** argv) {
  // A closed pipe (`optd run x.yaml | head`) must not end a run mid-way: writes to it fail
  // instead, and the run finishes into its store. Asio's sockets send with MSG_NOSIGNAL already.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"optd: prompt optimization runs for Opik, from YAML configs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("optd ") + OPTD_VERSION);
  // The options of optd itself are taken after a subcommand too (`optd serve --config F`), and
  // --server before one (`optd --server URL list`): the same wherever they are written.
  app.fallthrough();
  optd::app::common_options common;
  optd::cli::client_options client;
  app.add_option("--config", common.config, "daemon config (default: $OPTD_CONFIG, /etc/optd/optd.yaml, built-in)");
  app.add_option("--state-dir", common.state_dir, "where the store lives (default: see README)");
  const char* server_help = "http://HOST:PORT of optd serve, or the URL it prints (default: $OPTD_SERVER, config listen)";
  app.add_option("--server", client.server, server_help);

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

  // Client subcommands: they talk to a running `optd serve`.
  std::string client_id, submit_file;
  bool submit_watch = false;
  auto add_client = [&](const char* name, const char* what, bool takes_id) {
    auto* cmd = app.add_subcommand(name, what);
    cmd->add_option("--server", client.server, server_help);
    if (takes_id) cmd->add_option("id", client_id, "run id or a unique prefix of it")->required();
    return cmd;
  };
  auto* submit_cmd = add_client("submit", "submit a run config to optd serve (uploads its dataset_file)", false);
  submit_cmd->add_option("file", submit_file, "run config (YAML)")->required();
  submit_cmd->add_flag("--watch", submit_watch, "follow the run to its end");
  auto* list_cmd = add_client("list", "list the daemon's runs", false);
  list_cmd->add_flag("--json", client.json, "print as JSON");
  auto* status_cmd = add_client("status", "one run's status, trials, scores and spend", true);
  status_cmd->add_flag("--json", client.json, "print as JSON");
  auto* watch_cmd = add_client("watch", "follow a run until it ends", true);
  auto* cancel_cmd = add_client("cancel", "cancel a queued or running run", true);
  auto* logs_cmd = add_client("logs", "print a run's log", true);

  auto* results_cmd = add_client("results", "print a run from the local store, else from the daemon", true);
  results_cmd->add_flag("--json", client.json, "print as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : optd::app::exit_usage;
  }

  if (!client.server.empty() && (*run_cmd || *serve_cmd || *validate_cmd)) {
    std::cerr << "optd: --server is for the commands that talk to optd serve (submit, list, status, watch, cancel, "
                 "logs, results)\n";
    return optd::app::exit_usage;
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
    if (*submit_cmd || *list_cmd || *status_cmd || *watch_cmd || *cancel_cmd || *logs_cmd || *results_cmd) {
      auto cfg = optd::app::load_daemon_config(common.config);
      for (const auto& d : cfg.problems) std::cerr << optd::config::format(d) << "\n";
      if (!cfg.ok()) return optd::app::exit_config;
      auto& out = std::cout;
      auto& err = std::cerr;
      if (*submit_cmd) return optd::cli::submit_command(cfg.config, client, submit_file, submit_watch, out, err);
      if (*list_cmd) return optd::cli::list_command(cfg.config, client, out, err);
      if (*status_cmd) return optd::cli::status_command(cfg.config, client, client_id, out, err);
      if (*watch_cmd) return optd::cli::watch_command(cfg.config, client, client_id, out, err);
      if (*cancel_cmd) return optd::cli::cancel_command(cfg.config, client, client_id, out, err);
      if (*results_cmd) {
        auto store = optd::app::store_path(optd::app::resolve_state_dir(common.state_dir, cfg.config));
        return optd::cli::results_command(cfg.config, client, store, client_id, out, err);
      }
      return optd::cli::logs_command(cfg.config, client, client_id, out, err);
    }
    if (*validate_cmd) return optd::app::validate_command(common, validate_file, std::cout, std::cerr);
  } catch (const optd::store::unavailable& e) {
    // A full disk, or another process holding the store's lock: what is journaled stays, and a
    // run left unfinished is resumed by the same command (or the daemon) once the store can be written.
    std::cerr << "optd: the store cannot be written: " << e.what()
              << "\noptd: nothing journaled is lost; make room (or end what holds the store) and run the same command "
                 "again: an unfinished run resumes, asking only what was not answered\n";
    return optd::app::exit_store_unavailable;
  } catch (const std::exception& e) {
    std::cerr << "optd: " << e.what() << "\n";
    return optd::app::exit_failure;
  }
  return optd::app::exit_usage;
}
