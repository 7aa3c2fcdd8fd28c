#include "engine/progress.hpp"

#include <cstdio>

namespace optd::engine {

std::string human_duration(std::chrono::milliseconds d) {
  long long s = static_cast<long long>(d.count() / 1000);
  long long tenths = static_cast<long long>((d.count() % 1000) / 100);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lld.%llds", s, tenths);
  return buf;
}

std::string render_progress(const run_progress& p, int width) {
  double trial_part = p.evals_in_trial > 0 ? static_cast<double>(p.evals_done) / p.evals_in_trial : 0.0;
  double done = p.max_trials > 0 ? (p.trials_done - (p.evals_in_trial > 0 && p.evals_done < p.evals_in_trial ? 1 : 0) +
                                    (p.evals_done < p.evals_in_trial ? trial_part : 0.0)) / p.max_trials
                                 : 0.0;
  if (done < 0) done = 0;
  if (done > 1) done = 1;
  int filled = static_cast<int>(done * width + 0.5);
  std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(width - filled), '-') + "]";
  char buf[256];
  std::string best = p.best ? std::to_string(*p.best).substr(0, 5) : "-";
  std::string base = p.baseline ? std::to_string(*p.baseline).substr(0, 5) : "-";
  std::snprintf(buf, sizeof buf, " trial %d/%d · %d/%d evals · best %s (baseline %s) · $%.4f · %s", p.trials_done,
                p.max_trials, p.evals_done, p.evals_in_trial, best.c_str(), base.c_str(), p.cost_usd,
                human_duration(p.elapsed).c_str());
  std::string out = bar + buf;
  if (p.eta) out += " · ETA " + human_duration(*p.eta);
  return out;
}

}  // namespace optd::engine
