#include <charconv>
#include <cmath>
#include <cstdio>

#include "plugins/metrics/heuristic_metrics.hpp"
#include "plugins/metrics/reference_metric.hpp"

namespace optd::plugins {
namespace {

std::optional<double> to_number(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

class numerical_metric final : public reference_metric {
 public:
  numerical_metric(const nlohmann::json& params, double scale)
      : reference_metric("numerical_similarity", params), scale_(scale) {}

 protected:
  core::metric_result compare(const std::string& out, const std::string& ref) const override {
    auto o = to_number(out), r = to_number(ref);
    if (!r) return {0.0, "Reference " + quote(ref) + " is not a number"};
    if (!o) return {0.0, "Output " + quote(out) + " is not a number"};
    double v = std::max(0.0, 1.0 - std::abs(*o - *r) / scale_);
    char buf[96];
    std::snprintf(buf, sizeof buf, "|%g - %g| over a range of %g", *o, *r, scale_);
    return {v, buf};
  }

 private:
  double scale_;
};

}  // namespace

std::unique_ptr<core::evaluation_metric> make_numerical_similarity(const nlohmann::json& params,
                                                                   const std::vector<core::dataset_item>& dataset) {
  std::string key = params.value("reference_key", std::string("answer"));
  if (key.empty()) key = "answer";
  std::optional<double> lo, hi;
  for (const auto& item : dataset) {
    if (!item.data.is_object() || !item.data.contains(key)) continue;
    const auto& v = item.data[key];
    auto n = v.is_number() ? std::optional<double>(v.get<double>()) : v.is_string() ? to_number(v.get<std::string>())
                                                                                     : std::nullopt;
    if (!n) continue;
    lo = lo ? std::min(*lo, *n) : *n;
    hi = hi ? std::max(*hi, *n) : *n;
  }
  double scale = lo && hi && *hi > *lo ? *hi - *lo : 1.0;
  return std::make_unique<numerical_metric>(params, scale);
}

}  // namespace optd::plugins
