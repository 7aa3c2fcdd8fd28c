#pragma once
// Delivers the store's outbox to Opik, oldest first, one message at a time so that Opik sees
// them in the order it accepts (the optimization before its experiments, an experiment before
// its items). 2xx and 409 (already there: every id is client-generated) count as delivered.
// 408/429/5xx and connection errors are retried with backoff, and nothing behind the message
// moves until it is through. Any other 4xx is kept aside as dead (with its error) and counted.
// Messages survive restarts: they live in the store until delivered.
//
// Use from the event loop thread.
#include <chrono>
#include <functional>
#include <random>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/daemon_config.hpp"
#include "core/retry_policy.hpp"
#include "net/http_client.hpp"
#include "opik/headers.hpp"
#include "store/store.hpp"
#include "telemetry/metrics.hpp"

namespace optd::opik {

class outbox_sender {
 public:
  // Throws std::invalid_argument when cfg.url is not a URL.
  outbox_sender(boost::asio::any_io_executor ex, store::store& db, net::http_client& client,
                const config::opik_config& cfg, telemetry::metrics* metrics = nullptr,
                core::retry_policy backoff = {0, std::chrono::milliseconds(500), std::chrono::seconds(30)});

  // Starts delivering; a failure of its own (the store unreadable) is told to `report` and it
  // starts again a second later.
  void start(std::function<void(const std::string&)> report = {});
  void stop();
  // New messages are waiting (the recorder calls it). Wakes an idle sender, not one backing off
  // after a failed send: new messages do not make Opik answer sooner.
  void notify();
  // Runs that write to Opik as someone else than the config (Studio jobs of other workspaces).
  void identify(identity_lookup lookup) { identity_ = std::move(lookup); }

 private:
  boost::asio::awaitable<void> deliver();

  store::store& db_;
  net::http_client& client_;
  net::url base_;
  config::opik_config cfg_;
  identity_lookup identity_;
  telemetry::metrics* metrics_;
  core::retry_policy backoff_;
  net::http_timeouts timeouts_;
  boost::asio::steady_timer wake_;
  boost::asio::cancellation_signal cancel_;
  std::mt19937_64 jitter_{std::random_device{}()};
  bool stopped_ = false;
  bool idle_ = false;  // waiting for new messages, not backing off
};

}  // namespace optd::opik
