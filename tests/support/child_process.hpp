#pragma once
// Child processes for end-to-end tests: spawn a binary with its output in files, signal it, wait.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace optd::test {

struct child_process {
  pid_t pid = -1;
  std::string out_path, err_path;

  // Starts `args` (args[0] is the binary, looked up in PATH when it has no slash) with stdout and stderr in DIR/TAG.out and DIR/TAG.err,
  // the current environment plus `env_extra` ("NAME=value").
  static child_process start(std::vector<std::string> args, const std::string& dir, const std::string& tag,
                             std::vector<std::string> env_extra = {});
  // Waits for the exit; returns the exit code, or 128 + the signal that ended it; -1 when it never started.
  int wait();
  void signal(int sig) const;
  std::string out() const;
  std::string err() const;
};

// Polls `pred` (file system, store) until it holds; false after `cap` of wall time.
bool eventually(const std::function<bool()>& pred, std::chrono::seconds cap = std::chrono::seconds(60));

}  // namespace optd::test
