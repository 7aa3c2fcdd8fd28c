#include "plugins/optimizers/prompt_edits.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/prompt_template.hpp"

namespace optd::plugins {

nlohmann::json extract_json(const std::string& reply, bool array) {
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (!j.is_discarded() && (array ? j.is_array() : j.is_object())) return j;
  auto open = reply.find(array ? '[' : '{');
  auto close = reply.rfind(array ? ']' : '}');
  if (open == std::string::npos || close == std::string::npos || close < open) return nullptr;
  j = nlohmann::json::parse(reply.substr(open, close - open + 1), nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::string extract_fenced(const std::string& reply) {
  auto first = reply.find("```");
  if (first == std::string::npos) return trim(reply);
  auto last = reply.rfind("```");
  if (last == first) {  // an unmatched fence: drop it (and a language tag after it)
    auto rest = std::string_view(reply).substr(first + 3);
    auto nl = rest.find('\n');
    if (nl != std::string_view::npos && rest.substr(0, nl).find(' ') == std::string_view::npos) rest.remove_prefix(nl + 1);
    return trim(std::string_view(reply).substr(0, first)) + trim(rest);
  }
  auto inner = std::string_view(reply).substr(first + 3, last - first - 3);
  auto nl = inner.find('\n');
  // A language tag: one word on the fence's line ("```text", "```markdown").
  if (nl != std::string_view::npos) {
    auto tag = trim(inner.substr(0, nl));
    if (tag.find(' ') == std::string::npos) inner.remove_prefix(nl + 1);
  }
  return trim(inner);
}

std::string text_of(const nlohmann::json& v) {
  if (v.is_null()) return "";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string fixed(double v, int places) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", places, v);
  return buf;
}

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
