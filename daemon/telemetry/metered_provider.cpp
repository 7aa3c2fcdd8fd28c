#include "telemetry/metered_provider.hpp"

#include <algorithm>
#include <chrono>

namespace optd::telemetry {

std::string_view outcome_of(const core::completion_result& r) noexcept {
  if (r) return "ok";
  switch (r.error().code) {
    case core::errc::provider_http_error: return "http_error";
    case core::errc::provider_timeout: return "timeout";
    case core::errc::provider_bad_response: return "bad_response";
    case core::errc::cancelled: return "cancelled";
    default: return "unavailable";
  }
}

boost::asio::awaitable<core::completion_result> metered_provider::complete(const core::chat_request& request) {
  auto started = std::chrono::steady_clock::now();
  auto result = co_await inner_->complete(request);
  llm_observation o{name_, request.model, outcome_of(result)};
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (result) {
    o.retries = result->attempts - 1;
    o.rate_limited = result->rate_limited;
    o.tokens = result->usage;
    o.cost_usd = core::cost_usd(price_(request.model), result->usage);
  } else {
    o.retries = std::max(0, result.error().attempts - 1);
    o.rate_limited = result.error().rate_limited;
  }
  metrics_.llm_request(o);
  co_return result;
}

}  // namespace optd::telemetry
