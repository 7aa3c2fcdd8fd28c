// `optd validate FILE`: every problem of a run config at once, exit 78 when there is any.
#include <filesystem>
#include <iostream>

#include "app/commands.hpp"
#include "app/paths.hpp"
#include "app/run_loading.hpp"

namespace optd::app {

config::load_context make_load_context(store::store* db, const config::daemon_config& cfg) {
  config::load_context ctx;
  for (const auto& p : cfg.providers) ctx.providers.push_back(p.name);
  if (db)
    ctx.datasets = [db](std::string_view name) -> std::optional<std::vector<nlohmann::json>> {
      auto items = db->dataset_items(std::string(name));
      if (!items) return std::nullopt;
      std::vector<nlohmann::json> rows;
      for (auto& i : *items) rows.push_back(std::move(i.data));
      return rows;
    };
  return ctx;
}

std::size_t print_problems(const config::diagnostics& problems, std::ostream& err) {
  for (const auto& d : problems) err << config::format(d) << "\n";
  return problems.size();
}

int validate_command(const common_options& common, const std::string& file, std::ostream& out, std::ostream& err) {
  auto cfg = load_daemon_config(common.config);
  if (print_problems(cfg.problems, err)) return exit_config;
  // Read stored datasets only when a store already exists: validating creates nothing.
  std::unique_ptr<store::store> db;
  std::string dir = common.state_dir;
  if (dir.empty())
    if (const char* env = std::getenv("OPTD_STATE_DIR"); env && *env) dir = env;
  if (!dir.empty() && std::filesystem::exists(store_path(dir))) db = std::make_unique<store::store>(store_path(dir));
  auto loaded = config::load_run_config_file(file, make_load_context(db.get(), cfg.config));
  if (auto n = print_problems(loaded.problems, err)) {
    err << file << ": " << n << (n == 1 ? " problem" : " problems") << "\n";
    return exit_config;
  }
  const auto& s = loaded.spec;
  out << file << ": ok — " << s.prompt.size() << " messages, " << loaded.dataset_rows.size() << " items in '"
      << s.dataset_name << "', " << s.metrics.size() << (s.metrics.size() == 1 ? " metric" : " metrics")
      << " (objective " << s.objective_name << "), optimizer " << s.optimizer.type << ", up to " << s.limits.max_trials
      << " trials\n";
  return exit_ok;
}

}  // namespace optd::app
