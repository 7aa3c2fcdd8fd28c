// The provider against a scripted loopback server, with a fake clock for the waits between
// retries: the test observes exactly how long optd would have slept.
#include "plugins/providers/openai_compatible.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/rate_gate.hpp"
#include "support/test_support.hpp"

namespace optd::plugins {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr const char* ok_body =
    R"({"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"4"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}})";

net::http_response json(unsigned status, std::string body, std::vector<net::http_header> extra = {}) {
  extra.push_back({"Content-Type", "application/json"});
  return {status, std::move(extra), std::move(body)};
}

struct fixture {
  asio::io_context ioc;
  test::fake_clock clock;
  test::scripted_server server;
  net::http_client client{ioc.get_executor(), nullptr};
  openai_compatible provider;

  engine::rate_gate gate{clock, nullptr};

  explicit fixture(test::scripted_server::script s, int max_attempts = 4, bool paced = false)
      : server(ioc, std::move(s)), provider(client, clock, settings(max_attempts, paced), 7) {}

  openai_compatible_settings settings(int max_attempts, bool paced = false) {
    openai_compatible_settings s;
    if (paced) s.pacer = &gate;
    s.base = *net::parse_url(server.base_url() + "/v1");
    s.headers = {{"Authorization", "Bearer sk-test-secret"}};
    s.timeouts = {1s, 2s, 60s};
    s.retry = {max_attempts, 100ms, 5s};
    return s;
  }

  core::completion_result call() {
    core::chat_request req;
    req.model = "gpt-4o-mini";
    req.messages = {{core::role::system, "Be brief."}, {core::role::user, "2+2?"}};
    req.parameters = {{"temperature", 0.0}, {"max_tokens", 5}};
    return *test::run(ioc, provider.complete(req));
  }
};

TEST(openai_compatible, sends_the_chat_request_and_reads_text_usage_and_latency) {
  fixture f([](const net::http_request&, int) { return json(200, ok_body); });
  auto r = f.call();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "4");
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->usage.prompt_tokens, 12);
  EXPECT_EQ(r->usage.completion_tokens, 3);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_GT(r->latency.count(), 0);
  ASSERT_EQ(f.server.received().size(), 1u);
  const auto& sent = f.server.received()[0];
  EXPECT_EQ(sent.target, "/v1/chat/completions");
  EXPECT_EQ(sent.header("authorization"), "Bearer sk-test-secret");
  auto body = nlohmann::json::parse(sent.body);
  EXPECT_EQ(body["model"], "gpt-4o-mini");
  EXPECT_EQ(body["stream"], false);
  EXPECT_EQ(body["max_tokens"], 5);
  EXPECT_EQ(body["messages"][1], (nlohmann::json{{"role", "user"}, {"content", "2+2?"}}));
}

TEST(openai_compatible, retries_5xx_with_jittered_exponential_backoff) {
  fixture f([](const net::http_request&, int i) { return i < 2 ? json(503, R"({"error":{"message":"busy"}})") : json(200, ok_body); });
  auto r = f.call();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attempts, 3);
  ASSERT_EQ(f.clock.sleeps.size(), 2u);
  EXPECT_LT(f.clock.sleeps[0], 100ms);  // full jitter below base
  EXPECT_LT(f.clock.sleeps[1], 200ms);  // below base·2
}

TEST(openai_compatible, honours_retry_after_and_retry_after_ms) {
  fixture f([](const net::http_request&, int i) {
    if (i == 0) return json(429, R"({"error":{"message":"slow down"}})", {{"Retry-After", "2"}});
    if (i == 1) return json(429, "{}", {{"Retry-After", "9"}, {"retry-after-ms", "1500"}});
    return json(200, ok_body);
  });
  auto r = f.call();
  ASSERT_TRUE(r);
  EXPECT_EQ(f.clock.sleeps, (std::vector<std::chrono::milliseconds>{2000ms, 1500ms}));
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->rate_limited, 2);  // for optd_llm_rate_limited_total
}

TEST(openai_compatible, every_attempt_passes_the_pacer_which_learns_from_the_headers) {
  fixture f(
      [](const net::http_request&, int i) {
        std::vector<net::http_header> limits{{"x-ratelimit-limit-requests", "600"},
                                             {"x-ratelimit-remaining-requests", i == 1 ? "0" : "5"},
                                             {"x-ratelimit-reset-requests", "3s"}};
        if (i == 1) limits.push_back({"Retry-After", "3"});
        return i == 1 ? json(429, "{}", limits) : json(200, ok_body, limits);
      },
      4, true);
  ASSERT_TRUE(f.call());
  // Learned from the first answer: 600 a minute, paced at 99% of it.
  ASSERT_TRUE(f.gate.in_force("gpt-4o-mini").requests_per_minute);
  EXPECT_NEAR(*f.gate.in_force("gpt-4o-mini").requests_per_minute, 594, 1e-9);
  f.clock.sleeps.clear();
  auto second = f.call();  // 429 once, then answered
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempts, 2);
  // The retry waits for the server's 3 s once: the provider's backoff and the pacer's pause overlap.
  std::chrono::milliseconds waited{0};
  for (auto d : f.clock.sleeps) waited += d;
  EXPECT_GE(waited, 3000ms);
  EXPECT_LT(waited, 3200ms);
}

TEST(openai_compatible, a_server_hint_longer_than_max_delay_is_capped) {
  fixture f([](const net::http_request&, int i) {
    return i == 0 ? json(429, "{}", {{"Retry-After", "3600"}}) : json(200, ok_body);
  });
  ASSERT_TRUE(f.call());
  EXPECT_EQ(f.clock.sleeps, (std::vector<std::chrono::milliseconds>{5000ms}));
}

TEST(openai_compatible, client_errors_are_final_and_carry_the_server_message) {
  fixture f([](const net::http_request&, int) {
    return json(400, R"({"error":{"message":"max_tokens is too large","type":"invalid_request_error"}})");
  });
  auto r = f.call();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::provider_http_error);
  EXPECT_EQ(r.error().http_status, 400u);
  EXPECT_EQ(r.error().message, "HTTP 400: max_tokens is too large");
  EXPECT_EQ(f.server.received().size(), 1u);
  EXPECT_TRUE(f.clock.sleeps.empty());
}

TEST(openai_compatible, malformed_replies_are_retried_then_reported) {
  fixture f([](const net::http_request&, int) { return json(200, R"({"choices":[{"message":)"); }, 3);
  auto r = f.call();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::provider_bad_response);
  EXPECT_EQ(r.error().attempts, 3);
  EXPECT_EQ(f.server.received().size(), 3u);
}

TEST(openai_compatible, reads_only_the_fields_it_needs_and_refuses_wrong_shapes) {
  auto reply = [](std::string body) {
    fixture f([body](const net::http_request&, int) { return json(200, body); }, 1);
    return f.call();
  };
  auto rich = reply(R"({"id":"x","choices":[{"index":0,"logprobs":{"content":[{"token":"a","top":[1,2]}]},)"
                    R"("message":{"role":"assistant","content":"hi","tool_calls":[{"id":"t","function":{"content":"no"}}]},)"
                    R"("finish_reason":"length"},{"index":1,"message":{"content":"second"}}],)"
                    R"("usage":{"prompt_tokens":7,"completion_tokens":2,"details":{"prompt_tokens":99}}})");
  ASSERT_TRUE(rich);
  EXPECT_EQ(rich->text, "hi");
  EXPECT_EQ(rich->finish_reason, "length");
  EXPECT_EQ(rich->usage.prompt_tokens, 7);
  EXPECT_EQ(rich->usage.completion_tokens, 2);
  auto null_content = reply(R"({"choices":[{"message":{"role":"assistant","content":null}}]})");
  ASSERT_TRUE(null_content);
  EXPECT_EQ(null_content->text, "");
  for (auto bad : {R"({"choices":[]})", R"({"choices":[{"message":{"content":42}}]})",
                   R"({"choices":[{"message":{"content":{"text":"x"}}}]})", R"({"error":"x"})", "[]"}) {
    auto r = reply(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, core::errc::provider_bad_response) << bad;
  }
}

TEST(openai_compatible, reads_the_tokens_log_probabilities_and_their_alternatives) {
  // OpenAI's shape for logprobs: true, top_logprobs: 2 (a judge's verdict as JSON, token by token).
  fixture f([](const net::http_request&, int) {
    return json(200, R"({"choices":[{"index":0,"message":{"role":"assistant","content":"{\"score\": 8}"},)"
                     R"("logprobs":{"content":[{"token":"{\"","logprob":-0.0001,"bytes":[123,34],"top_logprobs":[]},)"
                     R"({"token":"score","logprob":0,"top_logprobs":[{"token":"score","logprob":0}]},)"
                     R"({"token":"\":","logprob":-0.01,"top_logprobs":[]},)"
                     R"({"token":" 8","logprob":-0.3,"top_logprobs":[{"token":" 8","logprob":-0.3},{"token":" 7","logprob":-1.5}]}]},)"
                     R"("finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":5}})");
  });
  auto r = f.call();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, R"({"score": 8})");
  ASSERT_EQ(r->logprobs.size(), 4u);
  EXPECT_EQ(r->logprobs[1].token, "score");
  EXPECT_EQ(r->logprobs[3].token, " 8");
  EXPECT_DOUBLE_EQ(r->logprobs[3].logprob, -0.3);
  ASSERT_EQ(r->logprobs[3].top.size(), 2u);
  EXPECT_EQ(r->logprobs[3].top[1].first, " 7");
  EXPECT_DOUBLE_EQ(r->logprobs[3].top[1].second, -1.5);
  EXPECT_EQ(r->usage.completion_tokens, 5);
}

TEST(openai_compatible, a_reset_connection_is_retried_on_a_new_one) {
  fixture f([](const net::http_request&, int i) {
    net::http_response r = json(200, ok_body);
    r.reset_connection = i == 0;
    return r;
  });
  auto r = f.call();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(f.server.connections(), 2u);
}

TEST(openai_compatible, gives_up_when_retries_run_out_and_never_leaks_the_key) {
  fixture f([](const net::http_request& req, int) {
    // A hostile server echoing the request headers must not get the key into our error text.
    return json(500, nlohmann::json{{"error", {{"message", "boom; you sent " + std::string(req.header("authorization"))}}}}.dump());
  }, 2);
  auto r = f.call();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::provider_unavailable);
  EXPECT_EQ(r.error().attempts, 2);
  EXPECT_EQ(r.error().message, "HTTP 500: boom; you sent Bearer [redacted]");
}

TEST(openai_compatible, a_server_that_never_answers_times_out_on_every_attempt) {
  asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::vector<boost::asio::ip::tcp::socket> silent;
  std::function<void()> accept_forever = [&] {
    acceptor.async_accept([&](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      silent.push_back(std::move(s));
      accept_forever();
    });
  };
  accept_forever();
  test::fake_clock clock;
  net::http_client client(ioc.get_executor(), nullptr);
  openai_compatible_settings s;
  s.base = *net::parse_url("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/v1");
  s.timeouts = {1s, 100ms, 60s};  // the read timeout is real time: it bounds a real socket
  s.retry = {2, 10ms, 1s};
  openai_compatible provider(client, clock, s, 3);
  core::chat_request req;
  req.model = "m";
  req.messages = {{core::role::user, "x"}};
  auto r = *test::run(ioc, provider.complete(req));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::errc::provider_timeout);
  EXPECT_EQ(r.error().attempts, 2);
  EXPECT_EQ(silent.size(), 2u);  // the timed-out connection is not reused
  acceptor.close();
}

TEST(openai_compatible, a_retry_that_would_pass_the_overall_deadline_is_not_made) {
  fixture f([](const net::http_request&, int) { return json(429, "{}", {{"Retry-After", "120"}}); });
  auto s = f.settings(10);
  s.timeouts.total = 3s;
  s.retry.max_delay = 60s;
  openai_compatible short_deadline(f.client, f.clock, s, 1);
  core::chat_request req;
  req.model = "m";
  req.messages = {{core::role::user, "x"}};
  auto r = *test::run(f.ioc, short_deadline.complete(req));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 429u);
  EXPECT_EQ(r.error().rate_limited, 1);
  EXPECT_TRUE(f.clock.sleeps.empty());
}

}  // namespace
}  // namespace optd::plugins
