#include "store/owner_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "core/iso8601.hpp"

namespace optd::store {
namespace {

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < 4096;) text.append(buf, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

boost::system::result<owner_lock, std::string> owner_lock::acquire(const std::string& state_dir, std::string_view what) {
  auto file = path(state_dir);
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open " + file + ": " + std::strerror(errno));
  int rc;
  while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EINTR) {
  }
  if (rc < 0) {
    int err = errno;
    auto holder = read_all(fd);
    ::close(fd);
    if (err != EWOULDBLOCK) throw std::runtime_error("cannot lock " + file + ": " + std::strerror(err));
    // The holder writes its line just after it locks: an instant in which the file is empty.
    return boost::system::result<owner_lock, std::string>(
        boost::system::in_place_error, holder.empty() ? "another process (it is starting)" : holder);
  }
  auto previous = read_all(fd);
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  auto line = "pid " + std::to_string(::getpid()) + " (" + std::string(what) + ", since " + core::iso8601(now_ms) + ")\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    // The lock holds without the note; a second process would only not know our pid.
  }
  return owner_lock(fd, std::move(previous));
}

owner_lock::owner_lock(owner_lock&& other) noexcept : fd_(other.fd_), previous_(std::move(other.previous_)) { other.fd_ = -1; }

owner_lock& owner_lock::operator=(owner_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    previous_ = std::move(other.previous_);
    other.fd_ = -1;
  }
  return *this;
}

owner_lock::~owner_lock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace optd::store
