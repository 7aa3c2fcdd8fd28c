#pragma once
// Shared part of the metrics that compare the output with a dataset field.
#include <optional>
#include <string>

#include "core/evaluation_metric.hpp"

namespace optd::plugins {

class reference_metric : public core::evaluation_metric {
 public:
  reference_metric(std::string name, const nlohmann::json& params)
      : name_(std::move(name)),
        key_(params.value("reference_key", std::string("answer"))),
        case_sensitive_(params.value("case_sensitive", false)) {
    if (key_.empty()) key_ = "answer";
  }
  std::string_view name() const noexcept override { return name_; }

  core::metric_result score(std::string_view output, const nlohmann::json& data) const override {
    auto ref = reference(data);
    if (!ref) return {0.0, "Missing reference value for key '" + key_ + "'"};
    std::string out(output);
    if (!case_sensitive_) {
      lower(out);
      lower(*ref);
    }
    return compare(out, *ref);
  }

 protected:
  virtual core::metric_result compare(const std::string& output, const std::string& reference) const = 0;

  std::optional<std::string> reference(const nlohmann::json& data) const {
    if (!data.is_object()) return std::nullopt;
    auto it = data.find(key_);
    if (it == data.end() || it->is_null()) return std::nullopt;
    return it->is_string() ? it->get<std::string>() : it->dump();
  }

  static void lower(std::string& s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }

  static std::string quote(std::string_view s) {
    std::string q(s.substr(0, 80));
    return "'" + q + (s.size() > 80 ? "…'" : "'");
  }

  std::string name_;
  std::string key_;
  bool case_sensitive_;
};

}  // namespace optd::plugins
