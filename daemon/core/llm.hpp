#pragma once
// The provider interface: one chat completion, awaited on the caller's event loop.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/price.hpp"
#include "core/run_spec.hpp"

namespace optd::core {

struct chat_request {
  std::string model;
  prompt_messages messages;
  nlohmann::json parameters = nlohmann::json::object();  // temperature, max_tokens, top_p, seed, …
  // Who is asking (optd: the run id), so that runs share a provider's slots fairly. Not sent,
  // not journaled.
  std::string share_key;
};

// {"model", "messages", …parameters}: the OpenAI chat body, serialized directly (no JSON tree:
// this runs once per LLM call). `extra` is appended as-is inside the object, e.g.
// R"("stream":false)". The journal stores it without extras; providers send it with theirs.
std::string to_json_body(const chat_request& request, std::string_view extra = {});

// The bytes of `request`'s messages plus 8 per message for the chat framing: an upper bound on
// its prompt tokens (a token is at least one byte, whatever the tokenizer).
std::int64_t prompt_bytes(const chat_request& request) noexcept;

// The request's max_tokens (or max_completion_tokens) when it sets one above 0.
std::optional<std::int64_t> max_tokens_of(const chat_request& request) noexcept;

// Appends `s` to `out` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

// One token of an answer with its log-probability and, when asked for (top_logprobs), the most
// likely alternatives at its place.
struct token_logprob {
  std::string token;
  double logprob = 0;
  std::vector<std::pair<std::string, double>> top;
};

struct completion {
  std::string text;
  std::vector<token_logprob> logprobs;  // when the request asked for them and the provider gives them
  std::string finish_reason;
  token_usage usage;
  std::chrono::microseconds latency{0};  // first attempt's start to the last response
  int attempts = 1;
  int rate_limited = 0;  // attempts answered 429
};

struct llm_error {
  errc code = errc::provider_unavailable;
  std::string message;     // safe to log and store: never holds a key
  unsigned http_status = 0;
  int attempts = 0;
  int rate_limited = 0;  // attempts answered 429
};

[[noreturn]] void throw_exception_from_error(const llm_error& e, const boost::source_location& loc);

using completion_result = boost::system::result<completion, llm_error>;

// A provider completes chat requests. Implementations retry what is worth retrying and return
// the final failure as a value; they throw only for broken invariants. Must be used from the
// event loop thread. Cancellation of the awaiting coroutine ends the call with errc::cancelled.
class llm_provider {
 public:
  virtual ~llm_provider() = default;
  virtual boost::asio::awaitable<completion_result> complete(const chat_request& request) = 0;
};

}  // namespace optd::core
