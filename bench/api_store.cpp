// Fills a state directory's store with what bench/api.sh reads back through optd's Opik API: one
// finished run of ITEMS evaluations in TRIALS trials over a dataset of ITEMS / TRIALS items, and
// RUNS more small finished runs (one trial of a few evaluations each) for the optimization list.
//   bench-api-store STATE_DIR ITEMS TRIALS RUNS
// Rows go in through optd's own store, as a run writes them (journal, complete, end the trial), so
// the store is the one a real run of that size leaves, minus the LLM calls.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/uuid.hpp"
#include "store/store.hpp"

namespace {

using namespace optd;

constexpr std::int64_t start_ms = 1'780'000'000'000;

store::run_record finished_run(const std::string& id, const std::string& name, const std::string& dataset) {
  store::run_record r;
  r.id = id;
  r.name = name;
  r.status = core::run_status::completed;
  r.objective_name = "equals";
  r.dataset_name = dataset;
  r.spec_json = "{}";
  r.created_ms = r.started_ms = start_ms;
  r.ended_ms = start_ms + 60'000;
  r.finish_reason = "completed";
  r.project_name = "bench";
  return r;
}

// One ended trial of `items`, its evaluations answered and scored as a run completes them.
void write_trial(store::store& db, core::uuid_v7_generator& ids, const store::run_record& run, int number,
                 const std::vector<core::dataset_item>& items) {
  store::trial_record t;
  t.id = ids.next(start_ms + number);
  t.run_id = run.id;
  t.number = number;
  t.origin = number == 1 ? "baseline" : "candidate";
  t.prompt_json = R"([{"role":"system","content":"Answer briefly."},{"role":"user","content":"{{question}}"}])";
  t.started_ms = start_ms + number * 1000;
  db.insert_trial(t);
  std::vector<store::evaluation_record> rows(items.size());
  std::vector<const store::evaluation_record*> batch;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto& e = rows[i];
    e.id = ids.next(start_ms + number);
    e.run_id = run.id;
    e.trial_id = t.id;
    e.item_id = items[i].id;
    e.request_json = R"({"model":"sim-small","messages":[{"role":"user","content":"what is 2 + 2?"}]})";
    e.created_ms = t.started_ms;
    batch.push_back(&e);
  }
  db.begin_evaluations(batch);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& e = rows[i];
    bool right = (i + static_cast<std::size_t>(number)) % 3 != 0;
    e.status = "completed";
    e.output = right ? "4" : "5";
    e.objective = right ? 1.0 : 0.0;
    e.scores_json = right ? R"([{"name":"equals","value":1,"reason":""},{"name":"levenshtein_ratio","value":0.5,"reason":""}])"
                          : R"([{"name":"equals","value":0,"reason":""},{"name":"levenshtein_ratio","value":0.5,"reason":""}])";
    e.tokens = {40, 2};
    e.cost_usd = 0.000007;
    e.latency_us = 200'000 + static_cast<std::int64_t>(i % 1000) * 100;
    e.completed_ms = t.started_ms + 500;
  }
  db.complete_evaluations(batch);
  std::vector<const store::evaluation_record*> all(batch.begin(), batch.end());
  store::summarize_trial(t, all);
  t.status = "completed";
  t.ended_ms = t.started_ms + 900;
  db.update_trial(t);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: bench-api-store STATE_DIR ITEMS TRIALS RUNS\n");
    return 64;
  }
  std::string dir = argv[1];
  long items = std::atol(argv[2]), trials = std::atol(argv[3]), runs = std::atol(argv[4]);
  std::filesystem::create_directories(dir);
  store::store db(dir + "/optd.db");
  core::uuid_v7_generator ids(7);

  long per_trial = items / trials;
  std::vector<nlohmann::json> data;
  for (long i = 0; i < per_trial; ++i) data.push_back({{"question", "what is " + std::to_string(i) + " + 2?"}, {"answer", "4"}});
  db.put_dataset("bench-big", data, "big", [&] { return ids.next(start_ms); }, start_ms);
  auto dataset_items = *db.dataset_items("bench-big");
  auto big = finished_run(ids.next(start_ms), "one million", "bench-big");
  db.insert_run(big);
  for (int t = 1; t <= trials; ++t) write_trial(db, ids, big, t, dataset_items);

  db.put_dataset("bench-small", {{{"question", "2 + 2?"}, {"answer", "4"}}}, "small", [&] { return ids.next(start_ms); },
                 start_ms);
  auto small_items = *db.dataset_items("bench-small");
  for (long r = 0; r < runs; ++r) {
    auto run = finished_run(ids.next(start_ms + 1 + r), "run-" + std::to_string(r), "bench-small");
    run.metadata_json = R"({"team":")" + std::string(r % 2 ? "search" : "support") + R"("})";
    db.insert_run(run);
    write_trial(db, ids, run, 1, small_items);
  }
  std::printf("{\"evaluations\": %ld, \"runs\": %ld}\n", per_trial * trials + runs, runs + 1);
  return 0;
}
