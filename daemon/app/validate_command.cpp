// `optd validate FILE`: every problem of a run config at once, exit 78 when there is any.
#include <filesystem>
#include <iostream>

#include "app/commands.hpp"
#include "app/paths.hpp"
#include "app/run_loading.hpp"

namespace optd::app {

int validate_command(const common_options& common, const std::string& file, std::ostream& out, std::ostream& err) {
  auto cfg = load_daemon_config(common.config);
  if (print_problems(cfg.problems, err)) return exit_config;
  // Read stored datasets only when a store already exists, where the daemon keeps it (the same
  // state directory as optd serve's): validating creates nothing. A store this user cannot open,
  // or one its owner keeps locked, is read as no store: the config is checked without it.
  std::unique_ptr<store::store> db;
  auto path = store_path(state_dir_of(common.state_dir, cfg.config));
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    try {
      db = std::make_unique<store::store>(path);
    } catch (const std::exception& e) {
      err << "optd: not reading stored datasets: " << e.what() << "\n";
    }
  }
  auto ctx = make_load_context(db.get(), cfg.config);
  ctx.opik_datasets = cfg.config.opik.has_value();  // as optd serve takes them
  auto loaded = config::load_run_config_file(file, ctx);
  if (auto n = print_problems(loaded.problems, err)) {
    err << file << ": " << n << (n == 1 ? " problem" : " problems") << "\n";
    return exit_config;
  }
  for (const auto& n : loaded.notes) err << config::format(n) << "\n";
  const auto& s = loaded.spec;
  auto dataset = loaded.dataset_in_opik
                     ? "dataset '" + s.dataset_name + "' from Opik (read, and the prompt's variables checked, when the run starts)"
                     : std::to_string(loaded.dataset_rows.size()) + " items in '" + s.dataset_name + "'";
  out << file << ": ok — " << s.prompt.size() << " messages, " << dataset << ", " << s.metrics.size() << (s.metrics.size() == 1 ? " metric" : " metrics")
      << " (objective " << s.objective_name << "), optimizer " << s.optimizer.type << ", up to " << s.limits.max_trials
      << " trials\n";
  return exit_ok;
}

}  // namespace optd::app
