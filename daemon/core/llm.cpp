#include "core/llm.hpp"

#include <stdexcept>

namespace optd::core {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

std::string to_json_body(const chat_request& request, std::string_view extra) {
  std::string out;
  std::size_t size = 64 + request.model.size() + extra.size();
  for (const auto& m : request.messages) size += m.content.size() + 32;
  out.reserve(size);
  out += "{\"model\":";
  append_json_string(out, request.model);
  out += ",\"messages\":[";
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    if (i) out.push_back(',');
    out += "{\"role\":\"";
    out += to_string(request.messages[i].role);
    out += "\",\"content\":";
    append_json_string(out, request.messages[i].content);
    out.push_back('}');
  }
  out.push_back(']');
  if (request.parameters.is_object())
    for (auto it = request.parameters.begin(); it != request.parameters.end(); ++it) {
      if (it.key() == "model" || it.key() == "messages") continue;
      out.push_back(',');
      append_json_string(out, it.key());
      out.push_back(':');
      out += it.value().dump();
    }
  if (!extra.empty()) {
    out.push_back(',');
    out += extra;
  }
  out.push_back('}');
  return out;
}

void throw_exception_from_error(const llm_error& e, const boost::source_location&) {
  throw std::runtime_error("LLM call failed: " + e.message);
}

std::int64_t prompt_bytes(const chat_request& request) noexcept {
  std::int64_t bytes = 0;
  for (const auto& m : request.messages) bytes += static_cast<std::int64_t>(m.content.size()) + 8;
  return bytes;
}

std::optional<std::int64_t> max_tokens_of(const chat_request& request) noexcept {
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    auto it = request.parameters.find(key);
    if (it != request.parameters.end() && it->is_number_integer() && it->get<std::int64_t>() > 0)
      return it->get<std::int64_t>();
  }
  return std::nullopt;
}

}  // namespace optd::core
