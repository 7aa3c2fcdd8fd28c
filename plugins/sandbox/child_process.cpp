#include "plugins/sandbox/child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace optd::plugins {
namespace {

constexpr uid_t nobody = 65534;

std::string os_error(std::string_view what) { return std::string(what) + ": " + ::strerror(errno); }

// What runs between fork and exec: system calls only (the daemon has other threads; nothing may
// allocate or take a lock here).
[[noreturn]] void become_child(int io_fd, int stderr_fd, pid_t parent, bool drop_root, const char* program,
                               char* const* argv, char* const* envp) {
  ::dup2(io_fd, 0);
  ::dup2(io_fd, 1);
  ::dup2(stderr_fd, 2);
  ::close_range(3, ~0U, 0);  // nothing of the daemon's: store, sockets, keys
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGPIPE, SIG_DFL);  // the daemon ignores it; an ignored signal stays ignored across exec
  if (::getppid() != parent) ::_exit(127);  // the daemon died before the line above
  if (drop_root && ::geteuid() == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(nobody, nobody, nobody) != 0 ||
        ::setresuid(nobody, nobody, nobody) != 0) {
      constexpr char msg[] = "optd: could not drop root to nobody\n";
      (void)!::write(2, msg, sizeof msg - 1);
      ::_exit(127);
    }
  }
  ::execve(program, argv, envp);
  constexpr char msg[] = "optd: could not execute the sandbox program\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::_exit(127);
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

boost::system::result<child_process, std::string> child_process::spawn(const boost::asio::any_io_executor& ex,
                                                                       const spawn_options& options) {
  int pair[2], err[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return os_error("socketpair");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    auto e = os_error("pipe");
    ::close(pair[0]);
    ::close(pair[1]);
    return e;
  }
  auto argv = c_strings(options.argv);
  auto envp = c_strings(options.env);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) become_child(pair[1], err[1], parent, options.drop_root, options.program.c_str(), argv.data(), envp.data());
  ::close(pair[1]);
  ::close(err[1]);
  if (pid < 0) {
    auto e = os_error("fork");
    ::close(pair[0]);
    ::close(err[0]);
    return e;
  }
  return child_process(ex, pid, pair[0], err[0]);
}

child_process::child_process(const boost::asio::any_io_executor& ex, int pid, int io_fd, int stderr_fd)
    : pid_(pid), io_(ex, boost::asio::local::stream_protocol(), io_fd), stderr_(ex, stderr_fd) {}

child_process::child_process(child_process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), reaped_(o.reaped_), io_(std::move(o.io_)), stderr_(std::move(o.stderr_)) {}

child_process::~child_process() {
  if (pid_ > 0) end();
}

void child_process::kill() noexcept {
  if (pid_ > 0 && !reaped_) ::kill(pid_, SIGKILL);
}

void child_process::close_io() noexcept {
  boost::system::error_code ignored;
  io_.close(ignored);
}

std::string child_process::end(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || reaped_) return "ended";
  close_io();
  if (grace.count() > 0) {
    // A pidfd becomes readable when the process exits: a bounded wait without polling.
    if (int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)); fd >= 0) {
      pollfd exited{fd, POLLIN, 0};
      ::poll(&exited, 1, static_cast<int>(grace.count()));
      ::close(fd);
    }
  }
  // What it said before it ended: the pipe holds up to 64 KiB; keep the last 1 KiB of it.
  std::string said;
  boost::system::error_code ignored;
  stderr_.non_blocking(true, ignored);
  ::kill(pid_, SIGKILL);  // harmless when it has exited: it stays a zombie until reaped below
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  char buf[4096];
  for (;;) {
    auto n = ::read(stderr_.native_handle(), buf, sizeof buf);
    if (n <= 0) break;
    said.append(buf, static_cast<std::size_t>(n));
    if (said.size() > 2048) said.erase(0, said.size() - 1024);
  }
  if (said.size() > 1024) said.erase(0, said.size() - 1024);
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  stderr_.close(ignored);
  std::string how = WIFEXITED(status)     ? "exited with status " + std::to_string(WEXITSTATUS(status))
                    : WIFSIGNALED(status) ? "killed by " + signal_name(WTERMSIG(status))
                                          : "ended";
  return said.empty() ? how : how + ": " + said;
}

}  // namespace optd::plugins
