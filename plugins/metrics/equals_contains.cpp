#include "plugins/metrics/heuristic_metrics.hpp"
#include "plugins/metrics/reference_metric.hpp"

namespace optd::plugins {
namespace {

class equals_metric final : public reference_metric {
 public:
  using reference_metric::reference_metric;

 protected:
  core::metric_result compare(const std::string& out, const std::string& ref) const override {
    if (out == ref) return {1.0, "Output equals the reference"};
    return {0.0, "Output " + quote(out) + " differs from reference " + quote(ref)};
  }
};

class contains_metric final : public reference_metric {
 public:
  using reference_metric::reference_metric;

 protected:
  core::metric_result compare(const std::string& out, const std::string& ref) const override {
    if (out.find(ref) != std::string::npos) return {1.0, "Output contains the reference"};
    return {0.0, "Output does not contain reference " + quote(ref)};
  }
};

}  // namespace

std::unique_ptr<core::evaluation_metric> make_equals(const nlohmann::json& params) {
  return std::make_unique<equals_metric>("equals", params);
}

std::unique_ptr<core::evaluation_metric> make_contains(const nlohmann::json& params) {
  return std::make_unique<contains_metric>("contains", params);
}

}  // namespace optd::plugins
