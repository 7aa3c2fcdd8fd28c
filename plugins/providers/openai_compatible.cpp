#include "plugins/providers/openai_compatible.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>

namespace optd::plugins {

namespace asio = boost::asio;
using namespace std::chrono;

namespace {

// A header's value that is a key (its "Bearer " taken off), to redact from errors; shorter
// values are no secret worth the name.
void keep_secret(std::string_view value, std::vector<std::string>& secrets) {
  if (value.rfind("Bearer ", 0) == 0) value.remove_prefix(7);
  if (value.size() >= 4) secrets.emplace_back(value);
}

struct attempt_failure {
  core::llm_error error;
  bool retryable = false;
  std::optional<milliseconds> server_hint;
};

std::string error_text(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  std::string msg;
  if (j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    msg = e.is_object() && e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>()
                                                                               : e.dump();
  } else if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    msg = j["message"].get<std::string>();
  } else {
    msg = body;
  }
  if (msg.size() > 300) msg = msg.substr(0, 300) + "…";
  return msg;
}

// Reads only what optd needs from a chat completion — choices[0].message.content,
// choices[0].finish_reason, usage, and choices[0].logprobs.content when there is one — with
// nlohmann's SAX interface, so a reply is never built into a JSON tree (this runs once per LLM call).
class completion_reader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  core::completion out;
  bool saw_message = false;
  bool content_ok = true;  // content must be a string or null

  bool null() override { return scalar([](field) {}); }  // null content: an empty answer
  bool boolean(bool) override { return scalar([&](field f) { content_ok &= f != field::content; }); }
  bool number_integer(number_integer_t v) override { return number(static_cast<std::int64_t>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<std::int64_t>(v)); }
  bool number_float(number_float_t v, const string_t&) override {
    if (auto f = current(); f == field::logprob || f == field::top_logprob) return scalar([&](field) { logprob(f, v); });
    return number(static_cast<std::int64_t>(v));
  }
  bool string(string_t& v) override {
    return scalar([&](field f) {
      if (f == field::content) out.text = std::move(v);
      else if (f == field::finish_reason) out.finish_reason = std::move(v);
      else if (f == field::token) out.logprobs.back().token = std::move(v);
      else if (f == field::top_token) out.logprobs.back().top.back().first = std::move(v);
    });
  }
  bool binary(binary_t&) override { return scalar([](field) {}); }
  bool start_object(std::size_t) override { return open(false); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(true); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    stack_.back().key = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  enum class field {
    other, content, finish_reason, prompt_tokens, completion_tokens, message,
    token_entry, token, logprob, top_entry, top_token, top_logprob  // choices[0].logprobs.content[i]…
  };
  struct frame {
    bool array;
    std::size_t index = 0;
    std::string key;
    std::string name;  // this container's own name in its parent
  };

  std::string member() const {
    if (stack_.empty()) return {};
    const auto& f = stack_.back();
    return f.array ? std::to_string(f.index) : f.key;
  }

  // Which field the next value is, from the names of the open containers.
  field current() const {
    auto n = stack_.size();
    auto name = [&](std::size_t i) -> const std::string& { return stack_[i].name; };
    if (n == 2 && name(1) == "usage") {
      if (stack_[1].key == "prompt_tokens") return field::prompt_tokens;
      if (stack_[1].key == "completion_tokens") return field::completion_tokens;
    }
    if (n >= 3 && name(1) == "choices" && name(2) == "0") {
      if (n == 3 && stack_[2].key == "finish_reason") return field::finish_reason;
      if (n == 3 && stack_[2].key == "message") return field::message;
      if (n == 4 && name(3) == "message" && stack_[3].key == "content") return field::content;
      if (n >= 5 && name(3) == "logprobs" && name(4) == "content") {
        if (n == 5) return field::token_entry;
        const auto& key = stack_[n - 1].key;
        if (n == 6) return key == "token" ? field::token : key == "logprob" ? field::logprob : field::other;
        if (n == 7 && name(6) == "top_logprobs") return field::top_entry;
        if (n == 8 && name(6) == "top_logprobs")
          return key == "token" ? field::top_token : key == "logprob" ? field::top_logprob : field::other;
      }
    }
    return field::other;
  }

  void logprob(field f, double v) {
    if (f == field::logprob) out.logprobs.back().logprob = v;
    else out.logprobs.back().top.back().second = v;
  }

  template <class F>
  bool scalar(F&& on_field) {
    on_field(current());
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }

  bool number(std::int64_t v) {
    if (auto f = current(); f == field::logprob || f == field::top_logprob)
      return scalar([&](field) { logprob(f, static_cast<double>(v)); });  // a logprob of exactly 0
    return scalar([&](field f) {
      if (f == field::prompt_tokens) out.usage.prompt_tokens = v;
      else if (f == field::completion_tokens) out.usage.completion_tokens = v;
      content_ok &= f != field::content;
    });
  }

  bool open(bool array) {
    auto f = current();
    if (f == field::message && !array) saw_message = true;
    if (f == field::token_entry && !array) out.logprobs.emplace_back();
    if (f == field::top_entry && !array && !out.logprobs.empty()) out.logprobs.back().top.emplace_back();
    content_ok &= f != field::content;
    stack_.push_back({array, 0, {}, member()});
    return stack_.size() < 64;
  }

  bool close() {
    stack_.pop_back();
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }

  std::vector<frame> stack_;
};

// What an attempt's answer says: its status, the rate-limit headers, and on a refusal the
// server's wish for when to retry (the caller adds a completion's usage). Read once, for the
// pacer and for the retry's backoff.
core::attempt_outcome outcome_of(const boost::system::result<net::http_response>& sent, std::int64_t now_ms) {
  core::attempt_outcome o;
  if (!sent) return o;
  o.http_status = sent->status;
  o.facts = core::parse_rate_limit_facts([&](std::string_view name) { return sent->header(name); }, now_ms);
  if (sent->status >= 300)
    o.retry_after = core::parse_retry_after(sent->header("retry-after"), sent->header("retry-after-ms"), now_ms / 1000);
  return o;
}

std::optional<core::completion> parse_completion(const std::string& body) {
  completion_reader reader;
  if (!nlohmann::json::sax_parse(body, &reader) || !reader.saw_message || !reader.content_ok) return std::nullopt;
  return std::move(reader.out);
}

}  // namespace

openai_compatible::openai_compatible(net::http_client& client, core::clock& clock, openai_compatible_settings settings,
                                     std::uint64_t jitter_seed)
    : client_(client), clock_(clock), settings_(std::move(settings)), jitter_(jitter_seed) {
  for (const auto& h : settings_.headers) keep_secret(h.value, secrets_);
}

std::string openai_compatible::redacted(std::string text, const std::vector<std::string>& more) const {
  for (const auto* list : {&secrets_, &more})
    for (const auto& secret : *list)
      for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
        text.replace(at, secret.size(), "[redacted]");
  return text;
}

std::string openai_compatible::request_body(const core::chat_request& request) {
  return core::to_json_body(request, R"("stream":false)");
}

asio::awaitable<core::completion_result> openai_compatible::complete(const core::chat_request& request) {
  net::http_request http;
  http.method = "POST";
  http.target = settings_.path;
  http.headers = settings_.headers;
  std::vector<std::string> caller_secrets;
  if (settings_.caller_headers)
    for (auto& h : settings_.caller_headers(request.share_key)) {
      std::erase_if(http.headers, [&](const net::http_header& c) { return boost::beast::iequals(c.name, h.name); });
      keep_secret(h.value, caller_secrets);
      http.headers.push_back(std::move(h));
    }
  http.headers.push_back({"Content-Type", "application/json"});
  http.body = request_body(request);

  const auto started = steady_clock::now();
  const auto deadline = clock_.now() + settings_.timeouts.total;
  const int max_attempts = std::max(1, settings_.retry.max_attempts);
  int rate_limited = 0;
  // Every way out of the loop says how many attempts were rate limited.
  auto failed = [&](core::llm_error e) {
    e.rate_limited = rate_limited;
    return e;
  };
  for (int attempt = 1;; ++attempt) {
    auto ticket = settings_.pacer ? co_await settings_.pacer->admit(request) : core::pace_ticket{};
    auto timeouts = settings_.timeouts;
    timeouts.total = duration_cast<milliseconds>(deadline - clock_.now());
    if (timeouts.total.count() <= 0)
      co_return failed({core::errc::provider_timeout, "call exceeded its overall timeout", 0, attempt - 1});

    auto sent = co_await client_.send(settings_.base, http, timeouts);
    std::optional<core::completion> answer;
    if (sent && sent->status >= 200 && sent->status < 300) answer = parse_completion(sent->body);
    auto outcome = outcome_of(sent, clock_.now_ms());
    if (answer) outcome.usage = answer->usage;
    if (settings_.pacer) settings_.pacer->settle(request, ticket, outcome);
    attempt_failure failure;
    if (!sent) {
      const auto& ec = sent.error();
      if (ec == asio::error::operation_aborted)
        co_return failed({core::errc::cancelled, "cancelled", 0, attempt});
      bool timeout = ec == boost::beast::error::timeout;
      failure.error = {timeout ? core::errc::provider_timeout : core::errc::provider_unavailable,
                       (timeout ? "timed out: " : "connection failed: ") + ec.message(), 0, attempt};
      failure.retryable = ec != core::errc::invalid_argument;
    } else if (sent->status >= 200 && sent->status < 300) {
      if (answer) {
        answer->attempts = attempt;
        answer->rate_limited = rate_limited;
        answer->latency = duration_cast<microseconds>(steady_clock::now() - started);
        co_return std::move(*answer);
      }
      failure.error = {core::errc::provider_bad_response, "response is not a chat completion", sent->status, attempt};
      failure.retryable = true;
    } else {
      if (sent->status == 429) ++rate_limited;
      failure.error = {core::is_retryable_status(sent->status) ? core::errc::provider_unavailable
                                                               : core::errc::provider_http_error,
                       "HTTP " + std::to_string(sent->status) + ": " + redacted(error_text(sent->body), caller_secrets), sent->status,
                       attempt};
      failure.retryable = core::is_retryable_status(sent->status);
      failure.server_hint = outcome.retry_after;
    }
    if (!failure.retryable || attempt >= max_attempts) co_return failed(failure.error);

    double u = std::uniform_real_distribution<double>(0, 1)(jitter_);
    auto delay = core::retry_delay(settings_.retry, attempt, failure.server_hint, u);
    if (clock_.now() + delay >= deadline) co_return failed(failure.error);
    co_await clock_.sleep(delay);
  }
}

}  // namespace optd::plugins
