#include "app/inbox.hpp"

#include <sys/inotify.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/supervised.hpp"
#include "store/sqlite.hpp"

namespace optd::app {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// A run config's extension (JSON is YAML too), or "" for any other file.
std::string_view run_config_extension(std::string_view name) {
  if (name.empty() || name.front() == '.') return {};
  for (std::string_view ext : {".yaml", ".yml", ".json"})
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return ext;
  return {};
}

bool is_run_config(std::string_view name) { return !run_config_extension(name).empty(); }

// A free name in `dir` for `name`: name, then name.1, name.2, …
fs::path free_path(const fs::path& dir, const std::string& name) {
  auto p = dir / name;
  for (int i = 1; fs::exists(p) || fs::exists(p.string() + ".error"); ++i) p = dir / (name + "." + std::to_string(i));
  return p;
}

}  // namespace

inbox::inbox(asio::any_io_executor ex, std::string dir, config::load_context context, submit_fn submit, log_fn log)
    : dir_(std::move(dir)), context_(std::move(context)), submit_(std::move(submit)), log_(std::move(log)), events_(ex) {
  context_.read_dataset_files = true;
}

inbox::~inbox() { stop(); }

void inbox::start() {
  std::error_code ec;
  for (const char* sub : {"", "accepted", "rejected"}) fs::create_directories(fs::path(dir_) / sub, ec);
  if (ec) throw std::runtime_error("inbox " + dir_ + ": " + ec.message());
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw std::runtime_error("inbox: inotify_init1 failed");
  events_.assign(fd);
  // Watch first, then scan: a file dropped in between is seen by both, and take() of a file that
  // is already gone does nothing.
  if (inotify_add_watch(fd, dir_.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0)
    throw std::runtime_error("inbox " + dir_ + ": cannot watch it");
  scan();
  asio::co_spawn(events_.get_executor(),
                 engine::supervised("the inbox", [this] { return watch(); }, [this] { return !events_.is_open(); },
                                    [this](const std::string& why) { log_(why); }),
                 asio::detached);
}

void inbox::stop() {
  boost::system::error_code ignored;
  events_.close(ignored);
}

void inbox::scan() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_))
    if (entry.is_regular_file() && is_run_config(entry.path().filename().string()))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());  // a stable order: by name
  for (const auto& n : names) take(n);
}

asio::awaitable<void> inbox::watch() {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    auto [ec, n] = co_await events_.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // closed by stop()
    take_events(buf.data(), n);
  }
}

void inbox::take_events(const char* data, std::size_t n) {
  // Each event is copied out rather than cast in place: the buffer lives in a coroutine frame,
  // which does not keep the alignment inotify_event needs.
  for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
    inotify_event e;
    std::memcpy(&e, data + off, sizeof e);
    const char* name = data + off + sizeof e;
    if (e.len > 0 && off + sizeof e + e.len <= n) {
      std::string file(name, strnlen(name, e.len));  // the kernel pads the name with NULs
      if (is_run_config(file)) take(file);
    }
    off += sizeof e + e.len;
  }
}

void inbox::reject(const std::string& name, const std::string& why) {
  // The file first, then its .error (complete, by rename): whoever sees the .error finds both.
  auto target = free_path(fs::path(dir_) / "rejected", name);
  std::error_code ec;
  fs::rename(fs::path(dir_) / name, target, ec);
  std::ofstream(target.string() + ".error.tmp") << why;
  fs::rename(target.string() + ".error.tmp", target.string() + ".error", ec);
  log_("inbox: rejected " + name + ", see " + target.string() + ".error");
}

void inbox::take(const std::string& name) {
  fs::path path = fs::path(dir_) / name;
  std::ifstream in(path);
  if (!in) return;  // already taken
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  auto loaded = config::load_run_config_file(path.string(), context_);
  std::error_code ec;
  if (!loaded.ok()) {
    std::string why;
    for (const auto& p : loaded.problems) why += config::format(p) + "\n";
    reject(name, why);
    return;
  }
  std::string id;
  try {
    id = submit_(loaded, text.str());
  } catch (const store::unavailable& e) {
    // Nothing wrong with the file: it stays, and is taken at the next start or when touched.
    log_("inbox: " + name + " left in place: the store cannot be written now (" + e.what() + ")");
    return;
  } catch (const std::exception& e) {
    reject(name, path.string() + ": cannot submit: " + e.what() + "\n");
    return;
  }
  fs::rename(path, fs::path(dir_) / "accepted" / (id + std::string(run_config_extension(name))), ec);
  log_("inbox: submitted " + name + " as run " + id);
}

}  // namespace optd::app
