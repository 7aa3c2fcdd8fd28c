#include "plugins/llm_text.hpp"

#include <cstdio>

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

}  // namespace optd::plugins
