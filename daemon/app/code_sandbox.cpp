#include "app/code_sandbox.hpp"

#include <map>
#include <mutex>
#include <tuple>

namespace optd::app {
namespace {

plugins::sandbox_settings to_settings(const config::code_metrics_config& c) {
  plugins::sandbox_settings s;
  s.isolated = c.sandbox != "none";
  s.bwrap = c.bwrap;
  s.python = c.python;
  s.read_only_paths = c.read_only_paths;
  s.workers = c.workers;
  s.cpu_time = c.cpu_time;
  s.wall_time = c.wall_time;
  s.memory_bytes = static_cast<std::uint64_t>(c.memory_mb) << 20;
  s.processes = c.processes;
  s.output_bytes = static_cast<std::uint64_t>(c.output_kb) << 10;
  s.tmp_bytes = static_cast<std::uint64_t>(c.tmp_mb) << 20;
  return s;
}

auto key_of(const config::code_metrics_config& c) {
  return std::tuple(c.sandbox, c.bwrap, c.python, c.read_only_paths, c.workers, c.cpu_time, c.wall_time, c.memory_mb,
                    c.processes, c.output_kb, c.tmp_mb);
}

}  // namespace

std::shared_ptr<const plugins::python_sandbox> code_sandbox(const config::code_metrics_config& settings) {
  static std::mutex guard;  // validation may run on the CLI's thread and the daemon's loop
  static std::map<decltype(key_of(settings)), std::shared_ptr<const plugins::python_sandbox>> sandboxes;
  std::lock_guard lock(guard);
  auto& s = sandboxes[key_of(settings)];
  if (!s) s = std::make_shared<plugins::python_sandbox>(to_settings(settings));
  return s;
}

config::code_checker code_checker(const config::code_metrics_config& settings) {
  return [sandbox = code_sandbox(settings)](const std::string& code) {
    config::code_check out;
    if (const auto& why = sandbox->unavailable()) {
      out.refused = true;
      out.problem = "its sandbox does not work (" + *why +
                    "); install bubblewrap and allow user namespaces (README, \"Code metrics\"), or set "
                    "code_metrics.sandbox: none in the daemon config to run them unsandboxed";
      return out;
    }
    auto checked = sandbox->check(code);
    if (checked.problem) {
      out.problem = checked.problem->message;
      out.line = checked.problem->line;
      out.column = checked.problem->column;
    }
    out.metric_name = checked.metric_name;
    return out;
  };
}

}  // namespace optd::app
