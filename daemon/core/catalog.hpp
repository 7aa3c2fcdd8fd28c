#pragma once
// The metric and optimizer types optd knows, with their parameters (Opik's names). Config
// validation reads it to reject unknown types and parameters and to check each value;
// plugins/registry.cpp builds the implementations, which read the same names.
#include <span>
#include <string_view>

namespace optd::core {

enum class param_kind { boolean, string, number, integer, object };

struct param_desc {
  std::string_view name;
  param_kind kind;
  double min = 0;     // numbers and integers only
  double max = 0;     // numbers and integers only; min == max means unbounded
  bool required = false;
  // Strings only: the values accepted (empty: any).
  std::span<const std::string_view> choices = {};
  // Accepted and reported as ignored, with why: a parameter Opik's UI sends or Opik's optimizer
  // takes that means nothing in optd (it is not refused, so a Studio config runs unchanged).
  std::string_view ignored = {};
};

struct type_desc {
  std::string_view type;
  std::span<const param_desc> params;
  bool uses_reference = false;  // reads a dataset field named by `reference_key` (default "answer")
};

std::span<const type_desc> metric_catalog() noexcept;
std::span<const type_desc> optimizer_catalog() noexcept;

const type_desc* find_type(std::span<const type_desc> catalog, std::string_view type) noexcept;

}  // namespace optd::core
