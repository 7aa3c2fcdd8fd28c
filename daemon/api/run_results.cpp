#include "api/run_results.hpp"

#include <iomanip>
#include <ostream>
#include <sstream>

#include "engine/progress.hpp"

namespace optd::api {

namespace {

std::string score_text(const nlohmann::json& v) {
  if (!v.is_number()) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(4) << v.get<double>();
  return s.str();
}

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

}  // namespace

nlohmann::json run_results_json(store::store& db, const store::run_record& run) {
  auto trials = db.trials(run.id);
  auto jt = nlohmann::json::array();
  nlohmann::json best_prompt = nullptr;
  for (const auto& t : trials) {
    auto prompt = nlohmann::json::parse(t.prompt_json.empty() ? "[]" : t.prompt_json, nullptr, false);
    jt.push_back({{"id", t.id}, {"number", t.number}, {"origin", t.origin}, {"status", t.status},
                  {"score", opt(t.score)}, {"evaluated_count", t.evaluated_count}, {"failed_count", t.failed_count},
                  {"cost_usd", t.cost_usd}, {"prompt", prompt}});
    if (t.id == run.best_trial_id) best_prompt = prompt;
  }
  return {{"id", run.id},
          {"name", run.name},
          {"status", core::to_string(run.status)},
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

void print_run_results(const nlohmann::json& r, std::ostream& out) {
  auto text = [&](const char* key) { return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : ""; };
  auto number = [&](const char* key) { return r.contains(key) && r[key].is_number() ? r[key].get<std::int64_t>() : 0; };
  auto name = text("name"), reason = text("finish_reason"), error = text("error");
  out << "run " << text("id") << (name.empty() ? "" : "  (" + name + ")") << "\n";
  out << "  status      " << text("status") << (reason.empty() ? "" : " · " + reason) << (error.empty() ? "" : " · " + error)
      << "\n";
  out << "  objective   " << text("objective_name") << " on dataset '" << text("dataset_name") << "'\n";
  const auto& baseline = r.value("baseline_objective_score", nlohmann::json());
  const auto& best = r.value("best_objective_score", nlohmann::json());
  out << "  baseline    " << score_text(baseline) << "\n";
  out << "  best        " << score_text(best);
  if (baseline.is_number() && best.is_number())
    out << "  (" << std::showpos << std::fixed << std::setprecision(4) << (best.get<double>() - baseline.get<double>())
        << std::noshowpos << ")";
  out << "\n";
  auto tokens = r.value("tokens", nlohmann::json::object());
  out << "  trials      " << number("num_trials") << "\n";
  out << "  evaluations " << number("evaluations") << " (" << number("failed_evaluations") << " failed)\n";
  out << "  LLM calls   " << number("llm_calls") << "\n";
  out << "  tokens      " << tokens.value("prompt", std::int64_t{0}) << " in, " << tokens.value("completion", std::int64_t{0})
      << " out\n";
  out << "  cost        $" << std::fixed << std::setprecision(6) << r.value("total_optimization_cost", 0.0) << "\n";
  out << "  duration    " << engine::human_duration(std::chrono::milliseconds(number("duration_ms"))) << "\n\n";
  out << "  trial  score   items  origin\n";
  auto best_id = text("best_trial_id");
  for (const auto& t : r.value("trials", nlohmann::json::array())) {
    out << "  " << std::setw(5) << t.value("number", 0) << "  " << std::setw(6) << score_text(t.value("score", nlohmann::json()))
        << "  " << std::setw(5) << t.value("evaluated_count", std::int64_t{0}) << "  " << t.value("origin", "")
        << (!best_id.empty() && t.value("id", "") == best_id ? "  ← best" : "") << "\n";
  }
  const auto& prompt = r.value("best_prompt", nlohmann::json());
  if (prompt.is_array()) {
    out << "\nbest prompt:\n";
    for (const auto& m : prompt) out << "  [" << m.value("role", "") << "] " << m.value("content", "") << "\n";
  }
}

std::string ambiguous_run_prefix(store::store& db, const std::string& prefix) {
  constexpr int shown = 5;
  auto ids = db.run_ids_with_prefix(prefix, shown + 1);
  if (ids.size() < 2) return {};
  std::string why = "run id prefix '" + prefix + "' is ambiguous: ";
  for (std::size_t i = 0; i < ids.size() && i < shown; ++i) why += (i ? ", " : "") + ids[i];
  if (ids.size() > shown) why += ", …";
  return why + " (give more of it)";
}

}  // namespace optd::api
