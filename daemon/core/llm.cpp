#include "core/llm.hpp"

#include <stdexcept>

namespace optd::core {

nlohmann::json to_json(const chat_request& request) {
  nlohmann::json body = request.parameters.is_object() ? request.parameters : nlohmann::json::object();
  body["model"] = request.model;
  body["messages"] = to_json(request.messages);
  return body;
}

void throw_exception_from_error(const llm_error& e, const boost::source_location&) {
  throw std::runtime_error("LLM call failed: " + e.message);
}

}  // namespace optd::core
