#pragma once
// Cheap checks on raw YAML text before yaml-cpp sees it. yaml-cpp parses recursively and expands
// nothing lazily, so hostile input (huge scalars, deep nesting, alias bombs, binary bytes) is
// refused here, in linear time and constant extra memory.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "config/diagnostic.hpp"

namespace optd::config {

struct yaml_limits {
  std::size_t max_bytes = 1 << 20;  // whole document
  int max_depth = 64;               // block indentation levels + sequence dashes + flow brackets
  int max_aliases = 100;            // `*name` references
  std::size_t max_nodes = 100'000;  // nodes visited after alias expansion (see yaml_json.hpp)
};

// The first problem found, if any.
std::optional<diagnostic> check_yaml_text(std::string_view text, const std::string& file,
                                          const yaml_limits& limits = {});

// The document, after check_yaml_text; nullopt with the problem (syntax included) added to
// `problems` when there is one.
std::optional<YAML::Node> load_yaml(std::string_view text, const std::string& file, diagnostics& problems,
                                    const yaml_limits& limits = {});

}  // namespace optd::config
