#pragma once
// optd serve's inbox folder: every run config (*.yaml, *.yml, *.json) that lands in it is submitted, as
// `optd submit` would. A file is taken once it is complete: closed after writing, or renamed or
// moved into the folder (the safe way to drop one); files already there at start are taken too.
// Hidden files and other extensions are left alone.
//
//   accepted/<run id>.yaml      a submitted config (its dataset_file was read relative to the inbox),
//                               with the extension it came with
//   rejected/<file>             a bad one, with
//   rejected/<file>.error       every problem as file:line:column: message
//
// Linux inotify, read on the event loop. Use from the event loop thread.
#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "config/run_config.hpp"

namespace optd::app {

class inbox {
 public:
  // Queues a loaded run; returns its id. `source` is the file's text.
  using submit_fn = std::function<std::string(config::loaded_run& loaded, std::string_view source)>;
  using log_fn = std::function<void(std::string_view line)>;

  inbox(boost::asio::any_io_executor ex, std::string dir, config::load_context context, submit_fn submit, log_fn log);
  ~inbox();
  inbox(const inbox&) = delete;

  // Creates the folders, takes what is already there and starts watching. Throws
  // std::runtime_error when the folder cannot be created or watched.
  void start();
  void stop();

  const std::string& dir() const noexcept { return dir_; }

 private:
  boost::asio::awaitable<void> watch();
  void take_events(const char* data, std::size_t n);  // a read's worth of inotify events
  void take(const std::string& name);
  void reject(const std::string& name, const std::string& why);
  void scan();

  std::string dir_;
  config::load_context context_;
  submit_fn submit_;
  log_fn log_;
  boost::asio::posix::stream_descriptor events_;
};

}  // namespace optd::app
