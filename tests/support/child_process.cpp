#include "support/child_process.hpp"

#include <csignal>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "support/test_support.hpp"

extern char** environ;

namespace optd::test {

child_process child_process::start(std::vector<std::string> args, const std::string& dir, const std::string& tag,
                                   std::vector<std::string> env_extra) {
  child_process p;
  p.out_path = dir + "/" + tag + ".out";
  p.err_path = dir + "/" + tag + ".err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, p.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, p.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (auto& e : env_extra) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  EXPECT_EQ(posix_spawnp(&p.pid, argv[0], &fa, nullptr, argv.data(), envp.data()), 0) << argv[0];  // PATH for bare names
  posix_spawn_file_actions_destroy(&fa);
  return p;
}

int child_process::wait() {
  if (pid <= 0) return -1;  // never started: waitpid(-1) would wait for any child
  int status = 0;
  waitpid(pid, &status, 0);
  pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void child_process::signal(int sig) const {
  if (pid > 0) kill(pid, sig);
}
std::string child_process::out() const { return read_file(out_path); }
std::string child_process::err() const { return read_file(err_path); }

bool eventually(const std::function<bool()>& pred, std::chrono::seconds cap) {
  auto deadline = std::chrono::steady_clock::now() + cap;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace optd::test
