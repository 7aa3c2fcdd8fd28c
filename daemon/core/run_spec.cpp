#include "core/run_spec.hpp"

namespace optd::core {

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::system: return "system";
    case role::user: return "user";
    case role::assistant: return "assistant";
  }
  return "user";
}

std::optional<role> role_from_string(std::string_view s) noexcept {
  if (s == "system") return role::system;
  if (s == "user") return role::user;
  if (s == "assistant") return role::assistant;
  return std::nullopt;
}

nlohmann::json to_json(const prompt_messages& messages) {
  auto out = nlohmann::json::array();
  for (const auto& m : messages) out.push_back({{"role", to_string(m.role)}, {"content", m.content}});
  return out;
}

}  // namespace optd::core
