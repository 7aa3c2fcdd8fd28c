#pragma once
// optd serve's log: one line per event on stderr, "optd: run <id>: <text>" when it concerns a
// run. Under systemd (JOURNAL_STREAM is set) each line starts with its syslog priority, "<3>" to
// "<7>", which journald reads as the entry's priority; by hand the lines stay plain.
#include <iosfwd>
#include <string_view>

namespace optd::telemetry {

enum class priority { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

class logger {
 public:
  // `prefixes`: with priority prefixes; by default when stderr is journald's (JOURNAL_STREAM).
  explicit logger(std::ostream& out);
  logger(std::ostream& out, bool prefixes) : out_(out), prefixes_(prefixes) {}

  void operator()(priority p, std::string_view text) const { write(p, {}, text); }
  void run(priority p, std::string_view run_id, std::string_view text) const { write(p, run_id, text); }

 private:
  void write(priority p, std::string_view run_id, std::string_view text) const;
  std::ostream& out_;
  bool prefixes_;
};

}  // namespace optd::telemetry
