// `optd results ID`, and the summary `optd run` prints at the end: both read the run back from
// the store, so what a person sees is what was recorded.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "app/paths.hpp"
#include "app/results_view.hpp"
#include "engine/progress.hpp"
#include "store/store.hpp"

namespace optd::app {

namespace {

std::string score_text(const std::optional<double>& v) {
  if (!v) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(4) << *v;
  return s.str();
}

}  // namespace

nlohmann::json results_json(store::store& db, const store::run_record& run) {
  auto trials = db.trials(run.id);
  auto jt = nlohmann::json::array();
  nlohmann::json best_prompt = nullptr;
  for (const auto& t : trials) {
    jt.push_back({{"id", t.id}, {"number", t.number}, {"origin", t.origin}, {"status", t.status},
                  {"score", t.score ? nlohmann::json(*t.score) : nlohmann::json()},
                  {"evaluated_count", t.evaluated_count}, {"failed_count", t.failed_count},
                  {"cost_usd", t.cost_usd}, {"prompt", nlohmann::json::parse(t.prompt_json)}});
    if (t.id == run.best_trial_id) best_prompt = nlohmann::json::parse(t.prompt_json);
  }
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  return {{"id", run.id},
          {"name", run.name},
          {"status", run.status},
          {"finish_reason", run.finish_reason},
          {"error", run.error},
          {"objective_name", run.objective_name},
          {"dataset_name", run.dataset_name},
          {"baseline_objective_score", opt(run.baseline_score)},
          {"best_objective_score", opt(run.best_score)},
          {"best_trial_id", run.best_trial_id},
          {"best_prompt", best_prompt},
          {"num_trials", trials.size()},
          {"llm_calls", run.llm_calls},
          {"evaluations", db.count_evaluations(run.id)},
          {"failed_evaluations", db.count_evaluations(run.id, "failed")},
          {"tokens", {{"prompt", run.tokens.prompt_tokens}, {"completion", run.tokens.completion_tokens}}},
          {"total_optimization_cost", run.cost_usd},
          {"duration_ms", run.ended_ms > run.started_ms ? run.ended_ms - run.started_ms : 0},
          {"trials", jt}};
}

void print_results(store::store& db, const store::run_record& run, std::ostream& out) {
  auto j = results_json(db, run);
  out << "run " << run.id << (run.name.empty() ? "" : "  (" + run.name + ")") << "\n";
  out << "  status      " << run.status << (run.finish_reason.empty() ? "" : " · " + run.finish_reason)
      << (run.error.empty() ? "" : " · " + run.error) << "\n";
  out << "  objective   " << run.objective_name << " on dataset '" << run.dataset_name << "'\n";
  out << "  baseline    " << score_text(run.baseline_score) << "\n";
  out << "  best        " << score_text(run.best_score);
  if (run.baseline_score && run.best_score)
    out << "  (" << std::showpos << std::fixed << std::setprecision(4) << (*run.best_score - *run.baseline_score)
        << std::noshowpos << ")";
  out << "\n";
  out << "  trials      " << j["num_trials"].get<std::size_t>() << "\n";
  out << "  evaluations " << j["evaluations"].get<std::int64_t>() << " (" << j["failed_evaluations"].get<std::int64_t>()
      << " failed)\n";
  out << "  LLM calls   " << run.llm_calls << "\n";
  out << "  tokens      " << run.tokens.prompt_tokens << " in, " << run.tokens.completion_tokens << " out\n";
  out << "  cost        $" << std::fixed << std::setprecision(6) << run.cost_usd << "\n";
  out << "  duration    " << engine::human_duration(std::chrono::milliseconds(j["duration_ms"].get<std::int64_t>()))
      << "\n\n";
  out << "  trial  score   items  origin\n";
  for (const auto& t : j["trials"]) {
    out << "  " << std::setw(5) << t["number"].get<int>() << "  " << std::setw(6)
        << (t["score"].is_null() ? std::string("-") : score_text(t["score"].get<double>())) << "  " << std::setw(5)
        << t["evaluated_count"].get<std::int64_t>() << "  " << t["origin"].get<std::string>()
        << (t["id"] == run.best_trial_id ? "  ← best" : "") << "\n";
  }
  if (!j["best_prompt"].is_null()) {
    out << "\nbest prompt:\n";
    for (const auto& m : j["best_prompt"])
      out << "  [" << m["role"].get<std::string>() << "] " << m["content"].get<std::string>() << "\n";
  }
}

int results_command(const common_options& common, const std::string& run_id, bool json, std::ostream& out,
                    std::ostream& err) {
  auto cfg = load_daemon_config(common.config);
  for (const auto& d : cfg.problems) err << config::format(d) << "\n";
  if (!cfg.ok()) return exit_config;
  store::store db(store_path(resolve_state_dir(common.state_dir, cfg.config)));
  auto run = db.find_run(run_id);
  if (!run) {
    err << "optd: no run '" << run_id << "' in the store (or the prefix is ambiguous)\n";
    return exit_failure;
  }
  if (json) out << results_json(db, *run).dump(2) << "\n";
  else print_results(db, *run, out);
  return exit_ok;
}

}  // namespace optd::app
