#include <regex>

#include "plugins/metrics/heuristic_metrics.hpp"

namespace optd::plugins {
namespace {

class regex_match_metric final : public core::evaluation_metric {
 public:
  explicit regex_match_metric(const std::string& pattern) : pattern_(pattern), re_(pattern, std::regex::ECMAScript) {}
  std::string_view name() const noexcept override { return "regex_match"; }
  core::metric_result score(std::string_view output, const nlohmann::json&) const override {
    if (std::regex_search(output.begin(), output.end(), re_)) return {1.0, "Output matches /" + pattern_ + "/"};
    return {0.0, "Output does not match /" + pattern_ + "/"};
  }

 private:
  std::string pattern_;
  std::regex re_;
};

class is_json_metric final : public core::evaluation_metric {
 public:
  std::string_view name() const noexcept override { return "is_json"; }
  core::metric_result score(std::string_view output, const nlohmann::json&) const override {
    if (nlohmann::json::accept(output)) return {1.0, "Output is valid JSON"};
    return {0.0, "Output is not valid JSON"};
  }
};

}  // namespace

std::unique_ptr<core::evaluation_metric> make_regex_match(const nlohmann::json& params) {
  return std::make_unique<regex_match_metric>(params.value("regex", std::string()));
}

std::unique_ptr<core::evaluation_metric> make_is_json(const nlohmann::json&) {
  return std::make_unique<is_json_metric>();
}

}  // namespace optd::plugins
