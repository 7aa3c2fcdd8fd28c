// optd-measure: runs a command and prints what it cost, as one JSON line on stdout:
// {"exit":0,"user_s":1.23,"sys_s":0.45,"wall_s":2.0,"max_rss_kb":12345}
// CPU and peak RSS come from wait4(2), so they cover the command (and the children it waited
// for) and nothing else: the simulator it talks to runs in another process. The command's own
// standard output is discarded (or written to the file $OPTD_MEASURE_STDOUT names); its standard
// error passes through.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: optd-measure COMMAND [ARGS...]\n");
    return 64;
  }
  auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const char* out = std::getenv("OPTD_MEASURE_STDOUT");
  posix_spawn_file_actions_addopen(&fa, 1, out && *out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = posix_spawnp(&pid, argv[1], &fa, nullptr, argv + 1, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    std::perror("optd-measure: spawn");
    return 69;
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  std::printf("{\"exit\":%d,\"user_s\":%.6f,\"sys_s\":%.6f,\"wall_s\":%.6f,\"max_rss_kb\":%ld}\n",
              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), secs(ru.ru_utime),
              secs(ru.ru_stime), wall, ru.ru_maxrss);
  return 0;
}
