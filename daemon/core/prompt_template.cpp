#include "core/prompt_template.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace optd::core {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Calls on_text(literal) and on_var(name) in order; a "{{" with no closing "}}" is literal text.
template <class OnText, class OnVar>
bool scan(std::string_view text, OnText&& on_text, OnVar&& on_var) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    auto inner = text.substr(open + 2, close - open - 2);
    while (!inner.empty() && is_space(inner.front())) inner.remove_prefix(1);
    while (!inner.empty() && is_space(inner.back())) inner.remove_suffix(1);
    if (inner.empty() || inner.find_first_of("{}") != std::string_view::npos) {
      on_text(text.substr(pos, open + 2 - pos));
      pos = open + 2;
      continue;
    }
    on_text(text.substr(pos, open - pos));
    if (!on_var(inner)) return false;
    pos = close + 2;
  }
  on_text(text.substr(pos));
  return true;
}

}  // namespace

std::vector<std::string> template_variables(std::string_view text) {
  std::vector<std::string> names;
  scan(text, [](std::string_view) {}, [&](std::string_view name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
    return true;
  });
  return names;
}

std::vector<std::string> template_variables(const prompt_messages& prompt) {
  std::vector<std::string> names;
  for (const auto& m : prompt)
    for (auto& v : template_variables(m.content))
      if (std::find(names.begin(), names.end(), v) == names.end()) names.push_back(std::move(v));
  return names;
}

boost::system::result<std::string> render_template(std::string_view text, const nlohmann::json& data,
                                                   std::string* missing) {
  std::string out;
  out.reserve(text.size() + 64);
  bool ok = scan(text, [&](std::string_view lit) { out.append(lit); }, [&](std::string_view name) {
    if (!data.is_object()) return false;
    auto it = data.find(name);
    if (it == data.end()) {
      if (missing) *missing = std::string(name);
      return false;
    }
    if (it->is_string())
      out.append(it->get_ref<const std::string&>());
    else
      out.append(it->dump());
    return true;
  });
  if (!ok) return errc::template_variable_missing;
  return out;
}

}  // namespace optd::core
