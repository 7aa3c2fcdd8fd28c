#pragma once
// Provider for every OpenAI-compatible chat completions endpoint: OpenAI, Azure OpenAI, vLLM,
// Ollama, llama.cpp server, LiteLLM, and Opik's /v1/private/chat/completions gateway.
// Retries 408/409/429/5xx, connection errors, timeouts and malformed replies with exponential
// backoff and full jitter, or as long as the server asks (Retry-After, retry-after-ms). Each
// attempt waits for the pacer, which learns the rate limits from every answer's headers.
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/llm.hpp"
#include "core/rate_limit.hpp"
#include "core/retry_policy.hpp"
#include "net/http_client.hpp"
#include "net/url.hpp"

namespace optd::plugins {

struct openai_compatible_settings {
  net::url base;             // e.g. https://api.openai.com/v1; "/chat/completions" is appended
  std::string path = "/chat/completions";
  std::vector<net::http_header> headers;  // authorization and the like; never logged
  net::http_timeouts timeouts;            // total bounds the whole call, retries included
  core::retry_policy retry;
  // Paces each attempt to the provider's rate limits and learns them from its answers; null:
  // attempts go at once.
  core::call_pacer* pacer = nullptr;
  // Headers that take the place of the configured ones of the same name for one caller (the
  // request's share_key, a run id): a Studio job's workspace and key on Opik's gateway. Their
  // values are redacted from errors as the configured ones are. Unset or empty: the configured.
  std::function<std::vector<net::http_header>(std::string_view share_key)> caller_headers;
};

class openai_compatible final : public core::llm_provider {
 public:
  // `client` and `clock` must outlive the provider.
  openai_compatible(net::http_client& client, core::clock& clock, openai_compatible_settings settings,
                    std::uint64_t jitter_seed);

  boost::asio::awaitable<core::completion_result> complete(const core::chat_request& request) override;

  // The JSON body sent for `request` (exposed for tests and the journal).
  static std::string request_body(const core::chat_request& request);

 private:
  // `text` (a provider's error message, which some echo the request's headers into) with every
  // value of the configured headers (the key) replaced: errors are logged, stored and sent to Opik.
  std::string redacted(std::string text, const std::vector<std::string>& more = {}) const;

  net::http_client& client_;
  core::clock& clock_;
  openai_compatible_settings settings_;
  std::mt19937_64 jitter_;
  std::vector<std::string> secrets_;
};

}  // namespace optd::plugins
