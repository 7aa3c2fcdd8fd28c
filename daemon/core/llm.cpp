#include "core/llm.hpp"

#include <stdexcept>

namespace optd::core {

void throw_exception_from_error(const llm_error& e, const boost::source_location&) {
  throw std::runtime_error("LLM call failed: " + e.message);
}

}  // namespace optd::core
