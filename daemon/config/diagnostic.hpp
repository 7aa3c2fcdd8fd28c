#pragma once
// A problem found in a config file, with the 1-based line and column it points at.
#include <string>
#include <vector>

namespace optd::config {

struct diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem is the file as a whole
  int column = 0;  // 1-based
  std::string message;
};

// "file:line:column: message", or "file: message" for whole-file problems.
std::string format(const diagnostic& d);

using diagnostics = std::vector<diagnostic>;

}  // namespace optd::config
