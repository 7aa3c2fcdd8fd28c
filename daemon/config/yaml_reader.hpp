#pragma once
// Typed, diagnosing access to a yaml-cpp tree. Every accessor reports what is wrong at the node's
// line and column and keeps going, so a loader can collect every problem in one pass.
// Private to config/: yaml-cpp stays out of the layer's public headers.
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "config/diagnostic.hpp"

namespace optd::config {

class yaml_reader {
 public:
  // Problems go to `out`; notes (what is accepted but means nothing) to `notes`, when given.
  yaml_reader(std::string file, diagnostics& out, std::size_t max_nodes, diagnostics* notes = nullptr)
      : file_(std::move(file)), out_(out), notes_(notes), nodes_left_(max_nodes) {}

  void error(const YAML::Node& at, std::string message);
  void error(const YAML::Mark& at, std::string message);
  void note(const YAML::Node& at, std::string message);

  // Reports and returns false unless `node` is a map.
  bool expect_map(const YAML::Node& node, std::string_view path);
  // Reports every key of `map` not in `allowed`, with a suggestion when one is close.
  void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, std::string_view path);
  // The closest of `known` to `key` (edit distance under 3), or empty.
  static std::string_view closest(std::string_view key, std::span<const std::string_view> known);

  std::optional<std::string> string_at(const YAML::Node& map, const char* key, std::string_view path,
                                       bool required);
  std::optional<double> number_at(const YAML::Node& map, const char* key, std::string_view path, double min,
                                  double max);
  std::optional<long long> integer_at(const YAML::Node& map, const char* key, std::string_view path,
                                      long long min, long long max);
  std::optional<bool> bool_at(const YAML::Node& map, const char* key, std::string_view path);

  // Scalar typing as YAML 1.2's core schema does it; quoted scalars stay strings. Visits at most
  // max_nodes nodes over the whole document, so alias bombs end with a diagnostic.
  std::optional<nlohmann::json> to_json(const YAML::Node& node, std::string_view path);

  // The same typing for one node, for value checks.
  static nlohmann::json scalar_value(const YAML::Node& scalar);
  static std::string type_name(const YAML::Node& node);

  const std::string& file() const noexcept { return file_; }

 private:
  std::optional<nlohmann::json> to_json_inner(const YAML::Node& node, std::string_view path, int depth);

  std::string file_;
  diagnostics& out_;
  diagnostics* notes_;
  std::size_t nodes_left_;
  bool budget_reported_ = false;
};

std::string join_path(std::string_view path, std::string_view key);

}  // namespace optd::config
