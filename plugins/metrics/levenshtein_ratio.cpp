#include <algorithm>
#include <cstdio>
#include <vector>

#include "plugins/metrics/heuristic_metrics.hpp"
#include "plugins/metrics/reference_metric.hpp"

namespace optd::plugins {

double levenshtein_ratio(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return 1.0;
  // Longest common subsequence, one row at a time; indel distance = |a| + |b| − 2·LCS.
  std::vector<std::size_t> row(b.size() + 1, 0);
  for (char ca : a) {
    std::size_t diag = 0;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = ca == b[j - 1] ? diag + 1 : std::max(row[j], row[j - 1]);
      diag = up;
    }
  }
  double total = static_cast<double>(a.size() + b.size());
  return 1.0 - (total - 2.0 * static_cast<double>(row[b.size()])) / total;
}

namespace {

class levenshtein_metric final : public reference_metric {
 public:
  using reference_metric::reference_metric;

 protected:
  core::metric_result compare(const std::string& out, const std::string& ref) const override {
    double r = levenshtein_ratio(out, ref);
    char buf[64];
    std::snprintf(buf, sizeof buf, "Similarity to the reference: %.0f%%", r * 100);
    return {r, buf};
  }
};

}  // namespace

std::unique_ptr<core::evaluation_metric> make_levenshtein_ratio(const nlohmann::json& params) {
  return std::make_unique<levenshtein_metric>("levenshtein_ratio", params);
}

}  // namespace optd::plugins
