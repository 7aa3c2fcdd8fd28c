#pragma once
// Cancels in optd what was cancelled in Opik: every `interval` it reads each running run's
// optimization from Opik (GET /v1/private/optimizations/{id}) and cancels the run when Opik says
// `cancelled` (a cancel in Opik's UI). A run Opik does not know yet (404) or an Opik that does
// not answer is skipped until the next round.
//
// Use from the event loop thread.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/daemon_config.hpp"
#include "engine/run_manager.hpp"
#include "net/http_client.hpp"
#include "opik/headers.hpp"

namespace optd::opik {

class cancel_watcher {
 public:
  cancel_watcher(boost::asio::any_io_executor ex, engine::run_manager& runs, net::http_client& client,
                 const config::opik_config& cfg, std::chrono::milliseconds interval = std::chrono::seconds(2));
  // Starts watching; a failure of its own is told to `report` and it starts again a second later.
  void start(std::function<void(const std::string&)> report = {});
  void stop();
  // Runs that read Opik as someone else than the config (Studio jobs of other workspaces).
  void identify(identity_lookup lookup) { identity_ = std::move(lookup); }

 private:
  boost::asio::awaitable<void> watch();

  engine::run_manager& runs_;
  net::http_client& client_;
  net::url base_;
  config::opik_config cfg_;
  identity_lookup identity_;
  std::chrono::milliseconds interval_;
  net::http_timeouts timeouts_;
  boost::asio::steady_timer timer_;
  boost::asio::cancellation_signal cancel_;
  bool stopped_ = false;
};

}  // namespace optd::opik
