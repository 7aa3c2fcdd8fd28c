#include "telemetry/log.hpp"

#include <cstdlib>
#include <ostream>
#include <string>

namespace optd::telemetry {

logger::logger(std::ostream& out) : out_(out), prefixes_(std::getenv("JOURNAL_STREAM") != nullptr) {}

void logger::write(priority p, std::string_view run_id, std::string_view text) const {
  std::string line;
  line.reserve(text.size() + run_id.size() + 16);
  if (prefixes_) line += "<" + std::to_string(static_cast<int>(p)) + ">";
  line += "optd: ";
  if (!run_id.empty()) line.append("run ").append(run_id).append(": ");
  // One event, one line: a newline inside the text would start a record without a priority.
  for (char c : text) line += c == '\n' ? ' ' : c;
  line += '\n';
  out_ << line << std::flush;
}

}  // namespace optd::telemetry
