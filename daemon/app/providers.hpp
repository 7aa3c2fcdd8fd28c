#pragma once
// The LLM providers of a daemon config, built once per process: one pooled HTTP client shared by
// all of them, each wrapped in its concurrency limit and, when metrics are given, metered (inside
// the limit: latency is the call's, not the wait for a slot). Each provider's attempts are paced
// by its rate_gate, shared by every run of the process; a provider with a daily_budget_usd holds
// each call's worst case in its daily_budget (kept in `db`, across restarts and reloads) before
// the call waits for a slot. Keys go into request headers only.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/daemon_config.hpp"
#include "core/clock.hpp"
#include "engine/budgeted_provider.hpp"
#include "engine/daily_budget.hpp"
#include "engine/limited_provider.hpp"
#include "engine/rate_gate.hpp"
#include "net/http_client.hpp"
#include "telemetry/metrics.hpp"

namespace boost::asio::ssl {
class context;
}

namespace optd::app {

class provider_set {
 public:
  // `tell` gets what a daily budget says to a run (its id) or to the daemon ("").
  provider_set(boost::asio::any_io_executor ex, const config::daemon_config& cfg, core::clock& clock,
               store::store& db, telemetry::metrics* metrics = nullptr, engine::daily_budget::notice tell = {});
  ~provider_set();

  // "" is the default provider; nullptr when unknown.
  core::llm_provider* find(std::string_view name);
  // USD per million tokens: the exact model, else the longest configured prefix, else zero.
  core::model_price price(std::string_view provider, std::string_view model) const;

  const net::http_client& client() const noexcept { return *client_; }

  // After the config was changed in place (SIGHUP): builds the providers anew from it. Runs keep
  // the providers they started with (retired ones live on); new runs get the new ones.
  void reload();
  // Calls through Opik's gateway (kind opik_gateway) made for a run that is someone else in Opik
  // (a Studio job of another workspace, with its user's key) carry that run's workspace and key.
  // Takes effect for providers built from now on (call it before the first run).
  void identify(std::function<std::vector<net::http_header>(std::string_view run_id)> gateway_headers) {
    gateway_headers_ = std::move(gateway_headers);
    reload();
  }

 private:
  void build();
  void collect_metrics();

  // A provider and the gate its attempts pass (declared first: it outlives the provider), and,
  // with a daily budget, the provider runs call, holding the budget before a slot.
  struct built {
    std::unique_ptr<engine::rate_gate> gate;
    std::unique_ptr<engine::limited_provider> provider;
    std::unique_ptr<engine::budgeted_provider> budgeted;
  };

  const config::daemon_config& cfg_;
  std::function<std::vector<net::http_header>(std::string_view)> gateway_headers_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<net::http_client> client_;
  telemetry::metrics* metrics_;
  core::clock& clock_;
  store::store& db_;
  engine::daily_budget::notice tell_;
  std::map<std::string, built, std::less<>> providers_;
  // By provider name, kept across reloads: the calls in flight hold in the ledger they started in.
  std::map<std::string, std::unique_ptr<engine::daily_budget>, std::less<>> daily_;
  std::vector<std::pair<std::string, built>> retired_;
};

}  // namespace optd::app
