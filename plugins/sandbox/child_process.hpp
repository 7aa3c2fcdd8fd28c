#pragma once
// A child process on the event loop: its stdin and stdout are one end of a Unix socket pair (so
// a write to a child that died fails with EPIPE instead of raising SIGPIPE in the daemon), its
// stderr a pipe read only after it ends. Used for the code metric's sandboxed interpreters.
#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/result.hpp>

namespace optd::plugins {

struct spawn_options {
  std::string program;             // an absolute path: nothing is looked up after fork
  std::vector<std::string> argv;   // argv[0] included
  std::vector<std::string> env;    // the whole environment, NAME=value; nothing is inherited
  // When the daemon runs as root: the child runs as nobody (65534), so that what root may read
  // stays out of reach and RLIMIT_NPROC counts.
  bool drop_root = true;
};

class child_process {
 public:
  // Starts the child; the error says why it could not (fork, socketpair). A child whose exec fails
  // starts and then exits 127 with the reason on its stderr.
  static boost::system::result<child_process, std::string> spawn(const boost::asio::any_io_executor& ex,
                                                                 const spawn_options& options);
  child_process(child_process&&) noexcept;
  child_process& operator=(child_process&&) = delete;
  ~child_process();  // kills and reaps it

  // stdin and stdout, both ways.
  boost::asio::local::stream_protocol::socket& io() noexcept { return io_; }
  int pid() const noexcept { return pid_; }

  // SIGKILL (for a sandbox: bwrap, whose sandbox dies with it). Idempotent.
  void kill() noexcept;
  // Closes stdin and stdout: a child that reads them to the end then exits by itself.
  void close_io() noexcept;
  // Closes its io, gives it up to `grace` to exit by itself (blocking the caller that long at
  // most), kills it if it has not, reaps it, and says how it ended and what it wrote on stderr (the
  // last 1 KiB): "exited with status 1: Traceback…" / "killed by SIGKILL". A sandbox that exits by
  // itself has reaped its processes, so their CPU time counts in the daemon's children's times;
  // killed, they are reaped by no one the daemon waits for.
  std::string end(std::chrono::milliseconds grace = {});

 private:
  child_process(const boost::asio::any_io_executor& ex, int pid, int io_fd, int stderr_fd);
  int pid_ = -1;
  bool reaped_ = false;
  boost::asio::local::stream_protocol::socket io_;
  boost::asio::posix::stream_descriptor stderr_;
};

}  // namespace optd::plugins
