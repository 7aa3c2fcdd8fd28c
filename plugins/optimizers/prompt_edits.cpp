#include "plugins/optimizers/prompt_edits.hpp"

#include <algorithm>
#include <set>

#include "core/prompt_template.hpp"

namespace optd::plugins {

std::optional<core::prompt_messages> parse_messages(const nlohmann::json& j) {
  if (!j.is_array() || j.empty()) return std::nullopt;
  core::prompt_messages out;
  for (const auto& m : j) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      return std::nullopt;
    auto role = core::role_from_string(m["role"].get<std::string>());
    if (!role) return std::nullopt;
    out.push_back({*role, m["content"].get<std::string>()});
  }
  return out;
}

std::vector<std::size_t> optimizable_messages(const core::prompt_messages& prompt) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i].role == core::role::system) out.push_back(i);
  if (out.empty())
    for (std::size_t i = 0; i < prompt.size(); ++i) out.push_back(i);
  return out;
}

core::prompt_messages keep_variables(const core::prompt_messages& seed, core::prompt_messages candidate) {
  candidate.resize(seed.size());
  for (std::size_t i = 0; i < seed.size(); ++i)
    if (candidate[i].role != seed[i].role) candidate[i] = seed[i];
  std::vector<std::vector<std::string>> seed_vars;
  std::set<std::string> seed_all;
  for (const auto& m : seed) {
    seed_vars.push_back(core::template_variables(m.content));
    seed_all.insert(seed_vars.back().begin(), seed_vars.back().end());
  }
  auto has = [](const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); };
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<std::vector<std::string>> vars;
    for (const auto& m : candidate) vars.push_back(core::template_variables(m.content));
    for (std::size_t i = 0; i < candidate.size(); ++i) {
      if (candidate[i].content == seed[i].content) continue;
      bool broken = false;
      for (const auto& v : seed_vars[i]) {
        if (has(vars[i], v)) continue;
        bool moved = false;
        for (std::size_t k = 0; k < candidate.size() && !moved; ++k)
          moved = k != i && has(vars[k], v) && !has(seed_vars[k], v);
        broken = broken || !moved;
      }
      for (const auto& v : vars[i]) broken = broken || !seed_all.count(v);
      if (broken) {
        candidate[i] = seed[i];
        changed = true;
      }
    }
  }
  return candidate;
}

}  // namespace optd::plugins
