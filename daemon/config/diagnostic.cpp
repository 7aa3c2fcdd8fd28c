#include "config/diagnostic.hpp"

namespace optd::config {

std::string format(const diagnostic& d) {
  if (d.line <= 0) return d.file + ": " + d.message;
  return d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message;
}

}  // namespace optd::config
