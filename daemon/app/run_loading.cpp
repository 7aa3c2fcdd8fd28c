#include "app/run_loading.hpp"

#include <iostream>

#include "app/code_sandbox.hpp"

namespace optd::app {

config::load_context make_load_context(store::store* db, const config::daemon_config& cfg) {
  config::load_context ctx;
  for (const auto& p : cfg.providers) ctx.providers.push_back(p.name);
  if (db) ctx.datasets = [db](std::string_view name) { return db->dataset_rows(std::string(name)); };
  ctx.check_code = code_checker(cfg.code_metrics);
  ctx.priced = [&cfg](std::string_view provider, std::string_view model) {
    const auto* p = cfg.find_provider(provider);
    return p != nullptr && p->price_of(model).has_value();
  };
  ctx.daily_budgeted = [&cfg](std::string_view provider) {
    const auto* p = cfg.find_provider(provider);
    return p != nullptr && p->daily_budget_usd.has_value();
  };
  return ctx;
}

std::size_t print_problems(const config::diagnostics& problems, std::ostream& err) {
  for (const auto& d : problems) err << config::format(d) << "\n";
  return problems.size();
}

}  // namespace optd::app
