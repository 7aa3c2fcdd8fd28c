#pragma once
// A provider decorator that records every request in the metrics: outcome, latency, retries,
// 429s, tokens and estimated cost (from the provider's configured prices).
#include <functional>
#include <memory>
#include <string>

#include "core/llm.hpp"
#include "telemetry/metrics.hpp"

namespace optd::telemetry {

class metered_provider final : public core::llm_provider {
 public:
  using price_fn = std::function<core::model_price(std::string_view model)>;

  metered_provider(std::unique_ptr<core::llm_provider> inner, std::string provider_name, price_fn price, metrics& m)
      : inner_(std::move(inner)), name_(std::move(provider_name)), price_(std::move(price)), metrics_(m) {}

  boost::asio::awaitable<core::completion_result> complete(const core::chat_request& request) override;

 private:
  std::unique_ptr<core::llm_provider> inner_;
  std::string name_;
  price_fn price_;
  metrics& metrics_;
};

// The outcome label for a result: ok, or what went wrong.
std::string_view outcome_of(const core::completion_result& r) noexcept;

}  // namespace optd::telemetry
