#include "engine/progress.hpp"

#include <sys/ioctl.h>

#include <cstdio>
#include <cstdlib>

namespace optd::engine {

std::string human_duration(std::chrono::milliseconds d) {
  if (d.count() < 1000) return std::to_string(d.count()) + "ms";  // a short run is not 0.0s long
  long long s = static_cast<long long>(d.count() / 1000);
  long long tenths = static_cast<long long>((d.count() % 1000) / 100);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lld.%llds", s, tenths);
  return buf;
}

nlohmann::json to_json(const run_progress& p) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  nlohmann::json j = {{"id", p.run_id},
                      {"name", p.name},
                      {"status", core::to_string(p.status)},
                      {"trials_done", p.trials_done},
                      {"max_trials", p.max_trials},
                      {"evals_done", p.evals_done},
                      {"evals_in_trial", p.evals_in_trial},
                      {"baseline_objective_score", opt(p.baseline)},
                      {"best_objective_score", opt(p.best)},
                      {"cost_usd", p.cost_usd},
                      {"prompt_tokens", p.tokens.prompt_tokens},
                      {"completion_tokens", p.tokens.completion_tokens},
                      {"llm_calls", p.llm_calls},
                      {"failed_calls", p.failed_calls},
                      {"elapsed_ms", p.elapsed.count()}};
  if (p.eta) j["eta_ms"] = p.eta->count();
  if (p.budget_total > 0)
    j["budget"] = {{"used", p.budget_used}, {"total", p.budget_total}, {"unit", p.budget_unit}};
  return j;
}

run_progress progress_from_json(const nlohmann::json& j) {
  run_progress p;
  auto opt = [&](const char* k) {
    return j.contains(k) && j[k].is_number() ? std::optional<double>(j[k].get<double>()) : std::nullopt;
  };
  p.run_id = j.value("id", "");
  p.name = j.value("name", "");
  p.status = core::run_status_from_string(j.value("status", "")).value_or(core::run_status::initialized);
  p.trials_done = j.value("trials_done", 0);
  p.max_trials = j.value("max_trials", 0);
  p.evals_done = j.value("evals_done", 0);
  p.evals_in_trial = j.value("evals_in_trial", 0);
  p.baseline = opt("baseline_objective_score");
  p.best = opt("best_objective_score");
  p.cost_usd = j.value("cost_usd", 0.0);
  p.tokens = {j.value("prompt_tokens", std::int64_t{0}), j.value("completion_tokens", std::int64_t{0})};
  p.llm_calls = j.value("llm_calls", std::int64_t{0});
  p.failed_calls = j.value("failed_calls", std::int64_t{0});
  p.elapsed = std::chrono::milliseconds(j.value("elapsed_ms", std::int64_t{0}));
  if (j.contains("eta_ms") && j["eta_ms"].is_number()) p.eta = std::chrono::milliseconds(j["eta_ms"].get<std::int64_t>());
  if (j.contains("budget") && j["budget"].is_object()) {
    p.budget_used = j["budget"].value("used", 0.0);
    p.budget_total = j["budget"].value("total", 0.0);
    p.budget_unit = j["budget"].value("unit", "");
  }
  return p;
}

std::string render_progress(const run_progress& p, int width) {
  // `trials_done` counts finished trials; while one is being evaluated, it is the next one.
  bool in_trial = p.evals_in_trial > 0 && p.evals_done < p.evals_in_trial;
  double trial_part = in_trial ? static_cast<double>(p.evals_done) / p.evals_in_trial : 0.0;
  double done = p.budget_total > 0 ? p.budget_used / p.budget_total
               : p.max_trials > 0   ? (p.trials_done + trial_part) / p.max_trials
                                    : 0.0;
  if (done < 0) done = 0;
  if (done > 1) done = 1;
  int filled = static_cast<int>(done * width + 0.5);
  std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(width - filled), '-') + "]";
  char buf[256];
  auto score = [](const std::optional<double>& v) {  // rounded, as the summary rounds it
    char s[32] = "-";
    if (v) std::snprintf(s, sizeof s, "%.3f", *v);
    return std::string(s);
  };
  std::string best = score(p.best), base = score(p.baseline);
  std::string trial = " trial " + std::to_string(p.trials_done + (in_trial ? 1 : 0));
  if (p.budget_total > 0) {
    std::snprintf(buf, sizeof buf, " · %.0f/%.0f %s", p.budget_used, p.budget_total, p.budget_unit.c_str());
    trial += buf;
  } else {
    trial += "/" + std::to_string(p.max_trials);
  }
  std::snprintf(buf, sizeof buf, " · %d/%d evals · best %s (baseline %s) · $%.4f · %s", p.evals_done, p.evals_in_trial,
                best.c_str(), base.c_str(), p.cost_usd, human_duration(p.elapsed).c_str());
  std::string out = bar + trial + buf;
  if (p.eta) out += " · ETA " + human_duration(*p.eta);
  return out;
}

std::string fit_to_columns(const std::string& line, int columns) {
  if (columns <= 1) return line;
  auto is_start = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; };
  int count = 0;
  for (char c : line) count += is_start(c);
  if (count < columns) return line;
  // Keep columns - 2 code points and the ellipsis: columns - 1 cells, the cursor's cell free.
  int kept = 0;
  std::size_t cut = 0;
  for (; cut < line.size(); ++cut)
    if (is_start(line[cut]) && kept++ == columns - 2) break;
  return line.substr(0, cut) + "…";
}

int terminal_columns(int fd) {
  winsize w{};
  if (::ioctl(fd, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  if (const char* env = std::getenv("COLUMNS"); env && *env) return std::atoi(env);
  return 0;
}

}  // namespace optd::engine
