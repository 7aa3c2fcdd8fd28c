#pragma once
// One owner per state directory. The process that writes a store (`optd serve`, `optd run`) holds
// an exclusive flock(2) on `<state dir>/optd.lock` for its whole life; a second one is refused at
// once and told who holds it. The kernel releases the lock however its holder ends (SIGKILL
// included), so a crash leaves nothing to clean up: the next owner finds the runs it left.
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace optd::store {

class owner_lock {
 public:
  // The lock, recording in the file who holds it (`what`, this pid, since when); or, when another
  // process holds it, a sentence naming that holder ("pid 4711 (optd serve, since …)").
  // Throws std::runtime_error when the file cannot be opened at all.
  static boost::system::result<owner_lock, std::string> acquire(const std::string& state_dir, std::string_view what);

  owner_lock(owner_lock&& other) noexcept;
  owner_lock& operator=(owner_lock&& other) noexcept;
  owner_lock(const owner_lock&) = delete;
  owner_lock& operator=(const owner_lock&) = delete;
  ~owner_lock();

  // What the file said before this process took it: the previous owner, gone now ("" if none).
  const std::string& previous_owner() const noexcept { return previous_; }
  static std::string path(const std::string& state_dir) { return state_dir + "/optd.lock"; }

 private:
  owner_lock(int fd, std::string previous) : fd_(fd), previous_(std::move(previous)) {}
  int fd_ = -1;
  std::string previous_;
};

}  // namespace optd::store
