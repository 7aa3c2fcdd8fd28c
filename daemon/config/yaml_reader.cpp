#include "config/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace optd::config {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

bool is_plain(const YAML::Node& n) { return n.Tag() == "?"; }

std::string fmt_number(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  auto s = std::to_string(v);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  return s;
}

}  // namespace

std::string join_path(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  if (!key.empty() && key.front() == '[') return std::string(path) + std::string(key);
  return std::string(path) + "." + std::string(key);
}

void yaml_reader::error(const YAML::Mark& at, std::string message) {
  bool known = at.line >= 0 && at.column >= 0 && !at.is_null();
  out_.push_back({file_, known ? at.line + 1 : 0, known ? at.column + 1 : 0, std::move(message)});
}

void yaml_reader::error(const YAML::Node& at, std::string message) { error(at.Mark(), std::move(message)); }

void yaml_reader::note(const YAML::Node& at, std::string message) {
  if (!notes_) return;
  auto mark = at.Mark();
  bool known = mark.line >= 0 && mark.column >= 0 && !mark.is_null();
  notes_->push_back({file_, known ? mark.line + 1 : 0, known ? mark.column + 1 : 0, std::move(message)});
}

std::string_view yaml_reader::closest(std::string_view key, std::span<const std::string_view> known) {
  std::string_view best;
  std::size_t best_d = 3;
  for (auto a : known) {
    auto d = edit_distance(key, a);
    if (d < best_d) best_d = d, best = a;
  }
  return best;
}

nlohmann::json yaml_reader::scalar_value(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (!is_plain(n)) return s;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  long long i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc{} && p == s.data() + s.size()) return i;
  double d = 0;
  auto [p2, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 == std::errc{} && p2 == s.data() + s.size() && std::isfinite(d)) return d;
  return s;
}

std::string yaml_reader::type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: return "nothing";
    case YAML::NodeType::Scalar: break;
  }
  auto v = scalar_value(n);
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_null()) return "nothing";
  return "a string";
}

bool yaml_reader::expect_map(const YAML::Node& node, std::string_view path) {
  if (node.IsMap()) return true;
  error(node, std::string(path.empty() ? "the document" : path) + " must be a map, got " + type_name(node));
  return false;
}

void yaml_reader::check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                             std::string_view path) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      error(it->first, "keys must be plain strings");
      continue;
    }
    const auto& key = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string msg = "unknown key '" + join_path(path, key) + "'";
    auto best = closest(key, std::span<const std::string_view>(allowed.begin(), allowed.size()));
    if (!best.empty()) msg += "; did you mean '" + std::string(best) + "'?";
    error(it->first, std::move(msg));
  }
}

std::optional<std::string> yaml_reader::string_at(const YAML::Node& map, const char* key, std::string_view path,
                                                  bool required) {
  auto n = map[key];
  if (!n || n.IsNull()) {
    if (required) error(map, "missing required key '" + join_path(path, key) + "'");
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    error(n, join_path(path, key) + " must be a string, got " + type_name(n));
    return std::nullopt;
  }
  if (required && n.Scalar().empty()) {
    error(n, join_path(path, key) + " must not be empty");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<double> yaml_reader::number_at(const YAML::Node& map, const char* key, std::string_view path,
                                             double min, double max) {
  auto n = map[key];
  if (!n || n.IsNull()) return std::nullopt;
  auto v = n.IsScalar() ? scalar_value(n) : nlohmann::json();
  if (!v.is_number()) {
    error(n, join_path(path, key) + " must be a number, got " + type_name(n));
    return std::nullopt;
  }
  double d = v.get<double>();
  if (d < min || d > max) {
    error(n, join_path(path, key) + " must be between " + fmt_number(min) + " and " + fmt_number(max) + ", got " +
                 n.Scalar());
    return std::nullopt;
  }
  return d;
}

std::optional<long long> yaml_reader::integer_at(const YAML::Node& map, const char* key, std::string_view path,
                                                 long long min, long long max) {
  auto n = map[key];
  if (!n || n.IsNull()) return std::nullopt;
  auto v = n.IsScalar() ? scalar_value(n) : nlohmann::json();
  if (!v.is_number_integer()) {
    error(n, join_path(path, key) + " must be a whole number, got " +
                 (v.is_number() ? "'" + n.Scalar() + "'" : type_name(n)));
    return std::nullopt;
  }
  auto i = v.get<long long>();
  if (i < min || i > max) {
    error(n, join_path(path, key) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                 ", got " + std::to_string(i));
    return std::nullopt;
  }
  return i;
}

std::optional<bool> yaml_reader::bool_at(const YAML::Node& map, const char* key, std::string_view path) {
  auto n = map[key];
  if (!n || n.IsNull()) return std::nullopt;
  auto v = n.IsScalar() ? scalar_value(n) : nlohmann::json();
  if (!v.is_boolean()) {
    error(n, join_path(path, key) + " must be true or false, got " + type_name(n));
    return std::nullopt;
  }
  return v.get<bool>();
}

std::optional<nlohmann::json> yaml_reader::to_json(const YAML::Node& node, std::string_view path) {
  return to_json_inner(node, path, 0);
}

std::optional<nlohmann::json> yaml_reader::to_json_inner(const YAML::Node& node, std::string_view path, int depth) {
  if (nodes_left_ == 0) {
    if (!budget_reported_) error(node, "document expands to too many nodes (alias bomb?)");
    budget_reported_ = true;
    return std::nullopt;
  }
  --nodes_left_;
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nlohmann::json(nullptr);
    case YAML::NodeType::Scalar: return scalar_value(node);
    case YAML::NodeType::Sequence: {
      auto arr = nlohmann::json::array();
      for (std::size_t i = 0; i < node.size(); ++i) {
        auto v = to_json_inner(node[i], path, depth + 1);
        if (!v) return std::nullopt;
        arr.push_back(std::move(*v));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      auto obj = nlohmann::json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) {
          error(it->first, std::string(path) + ": keys must be plain strings");
          return std::nullopt;
        }
        auto v = to_json_inner(it->second, path, depth + 1);
        if (!v) return std::nullopt;
        obj[it->first.Scalar()] = std::move(*v);
      }
      return obj;
    }
  }
  return std::nullopt;
}

}  // namespace optd::config
