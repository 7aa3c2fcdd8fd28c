#include "app/run_preparation.hpp"

#include "app/code_sandbox.hpp"
#include "app/run_loading.hpp"
#include "core/run_error.hpp"
#include "plugins/registry.hpp"

namespace optd::app {

engine::run_submission prepare_run(store::store& db, config::loaded_run& loaded,
                                   const config::code_metrics_config& code_metrics, std::string id, core::clock& clock,
                                   core::uuid_v7_generator& ids) {
  auto& spec = loaded.spec;
  auto make_id = [&] { return ids.next(static_cast<std::uint64_t>(clock.now_ms())); };
  if (!spec.dataset_file.empty())
    db.put_dataset(spec.dataset_name, loaded.dataset_rows, loaded.dataset_hash, make_id, clock.now_ms());
  engine::run_submission s;
  s.id = std::move(id);
  s.dataset = db.dataset_items(spec.dataset_name).value_or(std::vector<core::dataset_item>{});
  plugins::metric_services services;
  if (std::any_of(spec.metrics.begin(), spec.metrics.end(), [](const auto& m) { return m.type == "code"; }))
    services.code_sandbox = code_sandbox(code_metrics);
  for (const auto& m : spec.metrics) s.metrics.push_back(plugins::make_metric(m, spec, s.dataset, services));
  s.optimizer = plugins::make_optimizer(spec);
  s.spec = spec;
  return s;
}

namespace {

// A free coroutine, not a capturing lambda: a lambda's captures die with its closure object.
boost::asio::awaitable<void> read_dataset_then_prepare(store::store& db, opik::dataset_reader& reader,
                                                       config::load_context context,
                                                       config::code_metrics_config code_metrics, core::clock& clock,
                                                       core::uuid_v7_generator& ids, std::optional<opik::run_identity> who,
                                                       engine::run_submission& s) {
  auto name = s.spec.dataset_name, project = s.spec.project_name;
  db.append_log(s.id, clock.now_ms(), "reading dataset '" + name + "' from Opik");
  auto dataset = co_await reader.read(name, project, std::move(who));
  db.append_log(s.id, clock.now_ms(), "read " + std::to_string(dataset.items.size()) + " items of dataset '" + name +
                                          "' (" + dataset.id + ") from Opik");
  // False when it was stored meanwhile (another run read it first, or someone uploaded it): that
  // one is used.
  if (db.create_dataset(dataset.id, dataset.name, dataset.description, clock.now_ms())) {
    db.upsert_dataset_items(dataset.id, dataset.items);
    db.mark_dataset_from_opik(dataset.name);
  }
  auto loaded = config::parse_run_config(s.source, "run " + s.id, "", context);
  if (!loaded.ok()) {
    std::string problems, lines;
    for (const auto& p : loaded.problems) {
      problems += (problems.empty() ? "" : "; ") + config::format(p);
      lines += (lines.empty() ? "" : "\n") + config::format(p);
    }
    throw core::run_error("InvalidConfigError", problems, lines);
  }
  if (loaded.spec.name.empty()) loaded.spec.name = s.spec.name;
  auto prepared = prepare_run(db, loaded, code_metrics, s.id, clock, ids);
  s.spec = std::move(prepared.spec);
  s.dataset = std::move(prepared.dataset);
  s.optimizer = std::move(prepared.optimizer);
  s.metrics = std::move(prepared.metrics);
}

}  // namespace

engine::run_submission serve_submission(store::store& db, opik::dataset_reader* opik_datasets,
                                        const config::daemon_config& cfg, config::loaded_run& loaded, std::string id,
                                        core::clock& clock, core::uuid_v7_generator& ids,
                                        const opik::identity_lookup& identity) {
  if (!loaded.dataset_in_opik || !opik_datasets) return prepare_run(db, loaded, cfg.code_metrics, std::move(id), clock, ids);
  engine::run_submission s;
  s.id = std::move(id);
  s.spec = loaded.spec;
  auto ctx = make_load_context(&db, cfg);
  ctx.read_dataset_files = false;  // as for every config that reached the daemon
  s.prepare = [&db, reader = opik_datasets, ctx, code_metrics = cfg.code_metrics, &clock, &ids,
               identity](engine::run_submission& sub) {
    return read_dataset_then_prepare(db, *reader, ctx, code_metrics, clock, ids,
                                     identity ? identity(sub.id) : std::nullopt, sub);
  };
  return s;
}

}  // namespace optd::app
