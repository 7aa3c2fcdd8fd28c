#pragma once
// The LLM providers of a daemon config, built once per process: one pooled HTTP client shared by
// all of them, each wrapped in its concurrency limit. Keys go into request headers only.
#include <map>
#include <memory>
#include <string>

#include "config/daemon_config.hpp"
#include "core/clock.hpp"
#include "engine/limited_provider.hpp"
#include "net/http_client.hpp"

namespace boost::asio::ssl {
class context;
}

namespace optd::app {

class provider_set {
 public:
  provider_set(boost::asio::any_io_executor ex, const config::daemon_config& cfg, core::clock& clock);
  ~provider_set();

  // "" is the default provider; nullptr when unknown.
  core::llm_provider* find(std::string_view name);
  // USD per million tokens: the exact model, else the longest configured prefix, else zero.
  core::model_price price(std::string_view provider, std::string_view model) const;

  const net::http_client& client() const noexcept { return *client_; }

 private:
  const config::daemon_config& cfg_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<net::http_client> client_;
  std::map<std::string, std::unique_ptr<engine::limited_provider>, std::less<>> providers_;
};

}  // namespace optd::app
