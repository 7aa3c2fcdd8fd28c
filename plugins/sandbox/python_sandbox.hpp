#pragma once
// Where a `code` metric's Python runs: python3 under bubblewrap, with no network, nothing of the
// filesystem but /usr (read-only) and a small private /tmp, its own pid, IPC and user namespaces,
// a clean environment, and limits on CPU time, wall time, memory, processes, file and output size.
// When the daemon runs as root the sandbox runs as nobody. The daemon's config, keys and store are
// not in the sandbox's filesystem, its fds are closed, its environment is not passed.
//
// An interpreter is started once per code metric worker and kept warm: it loads the user's code
// once and then scores item after item over a Unix socket (JSON lines, code_metric_shim.py).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include "core/evaluation_metric.hpp"
#include "plugins/sandbox/child_process.hpp"

namespace optd::plugins {

struct sandbox_settings {
  // False runs python3 without bubblewrap (the limits still apply, the isolation does not): only
  // when the daemon config says `sandbox: none`.
  bool isolated = true;
  std::string bwrap = "bwrap";              // looked up on PATH unless absolute
  std::string python = "/usr/bin/python3";  // as seen inside the sandbox
  std::vector<std::string> read_only_paths;  // bound read-only besides /usr (a virtualenv, say)
  int workers = 2;                           // warm interpreters per code metric
  std::chrono::milliseconds cpu_time{5'000};   // per score, and for loading the code
  std::chrono::milliseconds wall_time{10'000};  // per score: past it the interpreter is killed
  std::uint64_t memory_bytes = 512ull << 20;   // address space
  std::uint64_t output_bytes = 1ull << 20;     // what the code may print per score
  std::uint64_t tmp_bytes = 16ull << 20;       // its /tmp, and any one file it writes
  int processes = 16;
};

// Why loading the user's code failed, at its line and column (1-based; 0: unknown).
struct code_problem {
  std::string message;
  int line = 0;
  int column = 0;
};

// One warm interpreter with the user's metric loaded.
class python_worker {
 public:
  // Starts an interpreter and loads `code` into it: its first BaseMetric subclass is instantiated.
  static boost::asio::awaitable<boost::system::result<std::unique_ptr<python_worker>, code_problem>> start(
      const sandbox_settings& settings, std::string code);

  // The metric's score of `kwargs` (output and the item's fields). A limit, an exception or a
  // crash gives a failed result whose reason says which; the worker is then no longer usable when
  // the interpreter died, was killed or asked to be replaced.
  boost::asio::awaitable<core::metric_result> score(const nlohmann::json& kwargs);
  // The name the metric gives its first score (Opik's objective name for a code metric).
  std::string last_name() const { return last_name_; }
  bool usable() const noexcept { return usable_; }

  python_worker(child_process process, const sandbox_settings& settings);
  // A usable worker is let go gracefully (see retire); one that failed is killed at once.
  ~python_worker();
  python_worker(const python_worker&) = delete;
  python_worker& operator=(const python_worker&) = delete;

  // Closes the interpreter's input: it finishes and exits by itself. Retire all of a pool's
  // workers before destroying them, so that they exit in parallel and the wait is for one.
  void retire() noexcept { process_.close_io(); }

 private:
  // One request, one reply line, within the wall-time limit; or what went wrong.
  struct ask_failure {
    std::string reason;
  };
  boost::asio::awaitable<boost::system::result<nlohmann::json, ask_failure>> ask(const nlohmann::json& request);

  child_process process_;
  const sandbox_settings& settings_;
  boost::asio::steady_timer deadline_;
  std::string buffer_;
  std::string last_name_;
  bool usable_ = true;
  bool timed_out_ = false;
};

// What config validation learns from loading a code metric and scoring an empty output, as
// Opik's Studio does before a run: the metric's name, or what is wrong.
struct code_check {
  std::string metric_name;
  std::optional<code_problem> problem;
};

// The daemon's sandbox, shared by its code metrics.
class python_sandbox {
 public:
  explicit python_sandbox(sandbox_settings settings);
  const sandbox_settings& settings() const noexcept { return settings_; }

  // nullopt when code metrics can run here; else why not (bwrap missing, user namespaces not
  // allowed, …). Tried once, by running a trivial metric; blocks the caller for that long.
  const std::optional<std::string>& unavailable() const;
  // Loads `code` in a fresh sandbox and scores {"output": ""}; blocks the caller (about 0.1 s).
  code_check check(const std::string& code) const;

 private:
  sandbox_settings settings_;
  mutable std::optional<std::optional<std::string>> unavailable_;
};

// The argv that starts the shim in the sandbox (bwrap … python3 -I -c <shim> <limits>).
spawn_options sandbox_command(const sandbox_settings& settings);

}  // namespace optd::plugins
