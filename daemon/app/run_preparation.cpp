#include "app/run_preparation.hpp"

#include "plugins/registry.hpp"

namespace optd::app {

engine::run_submission prepare_run(store::store& db, config::loaded_run& loaded, std::string id, core::clock& clock,
                                   core::uuid_v7_generator& ids) {
  auto& spec = loaded.spec;
  auto make_id = [&] { return ids.next(static_cast<std::uint64_t>(clock.now_ms())); };
  if (!spec.dataset_file.empty())
    db.put_dataset(spec.dataset_name, loaded.dataset_rows, loaded.dataset_hash, make_id, clock.now_ms());
  engine::run_submission s;
  s.id = std::move(id);
  s.dataset = db.dataset_items(spec.dataset_name).value_or(std::vector<core::dataset_item>{});
  for (const auto& m : spec.metrics) s.metrics.push_back(plugins::make_metric(m, s.dataset));
  s.optimizer = plugins::make_optimizer(spec.optimizer, spec.llm_model.model);
  s.spec = spec;
  return s;
}

}  // namespace optd::app
