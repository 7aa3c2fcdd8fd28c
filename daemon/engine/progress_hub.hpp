#pragma once
// Live progress for watchers (the SSE endpoint): runs publish, watchers subscribe to one run.
// A watcher sees the latest progress, not every step: when it is slower than the run, the
// updates in between are coalesced, so a watcher never holds the run back or buffers without
// bound.
//
// Use from the event loop thread.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/progress.hpp"

namespace optd::engine {

struct progress_event {
  enum class kind { update, heartbeat, closed };
  kind what = kind::update;
  run_progress progress;  // for updates
};

class progress_subscription {
 public:
  explicit progress_subscription(boost::asio::any_io_executor ex) : wake_(ex) {}

  // The next update; a heartbeat when nothing happened for `idle`; `closed` once the hub closes.
  boost::asio::awaitable<progress_event> next(std::chrono::milliseconds idle);

 private:
  friend class progress_hub;
  void offer(const run_progress& p);
  void close();

  boost::asio::steady_timer wake_;
  run_progress latest_;
  bool fresh_ = false;
  bool closed_ = false;
};

class progress_hub {
 public:
  explicit progress_hub(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

  // Cheap when nobody watches the run: one map lookup.
  void publish(const run_progress& p);
  std::shared_ptr<progress_subscription> subscribe(const std::string& run_id);
  // Ends every subscription, and any made later (shutdown).
  void close();

 private:
  boost::asio::any_io_executor ex_;
  std::map<std::string, std::vector<std::weak_ptr<progress_subscription>>, std::less<>> watchers_;
  bool closed_ = false;
};

}  // namespace optd::engine
