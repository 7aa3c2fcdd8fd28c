#include "sim_server.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "support/test_support.hpp"

namespace optd::sim {
namespace {

namespace asio = boost::asio;

struct sim_fixture {
  asio::io_context ioc;
  sim_server sim;
  net::http_server server;
  net::http_client client{ioc.get_executor(), nullptr};
  net::url base;

  explicit sim_fixture(server_config c)
      : sim(ioc.get_executor(), c),
        server(ioc.get_executor(), [this](net::http_request r) { return sim.handle(std::move(r)); }) {
    base = *net::parse_url("http://127.0.0.1:" + std::to_string(server.listen("127.0.0.1", 0)));
    server.start();
  }

  ~sim_fixture() {
    server.stop();
    sim.stop();
    ioc.restart();
    ioc.run_for(std::chrono::seconds(10));
  }

  net::http_response post(const std::string& body) {
    net::http_request r;
    r.target = "/v1/chat/completions";
    r.body = body;
    auto res = *test::run(ioc, client.send(base, r, {}));
    EXPECT_TRUE(res);
    return res ? *res : net::http_response{};
  }
};

constexpr const char* chat = R"({"model":"m","messages":[{"role":"user","content":"What is 2 + 2?"}]})";

TEST(sim_server, answers_like_openai_and_counts_what_it_served) {
  sim_fixture f({});
  auto r = f.post(chat);
  EXPECT_EQ(r.status, 200u);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Sure! The answer is four.");
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
  f.post(chat);
  EXPECT_EQ(f.sim.stats().completions, 2u);
  EXPECT_EQ(f.sim.stats().duplicate_completions, 1u);
  EXPECT_EQ(f.post("not json").status, 400u);
}

TEST(sim_server, gives_log_probabilities_when_asked_unless_it_plays_a_provider_without_them) {
  constexpr const char* asking = R"({"model":"m","logprobs":true,"top_logprobs":2,"messages":[{"role":"user","content":"What is 2 + 2?"}]})";
  sim_fixture with({});
  auto j = nlohmann::json::parse(with.post(asking).body);
  const auto& content = j["choices"][0]["logprobs"]["content"];
  ASSERT_TRUE(content.is_array());
  std::string text;
  for (const auto& t : content) text += t["token"].get<std::string>();
  EXPECT_EQ(text, "Sure! The answer is four.");
  EXPECT_EQ(content[0]["top_logprobs"].size(), 1u);
  EXPECT_FALSE(nlohmann::json::parse(with.post(chat).body)["choices"][0].contains("logprobs"));

  server_config without;
  without.logprobs = false;
  sim_fixture f(without);
  EXPECT_FALSE(nlohmann::json::parse(f.post(asking).body)["choices"][0].contains("logprobs"));
}

TEST(sim_server, rate_limits_with_retry_after_and_ratelimit_headers) {
  sim_fixture f({.rpm = 2});
  EXPECT_EQ(f.post(chat).status, 200u);
  EXPECT_EQ(f.post(chat).status, 200u);
  auto limited = f.post(chat);
  EXPECT_EQ(limited.status, 429u);
  EXPECT_FALSE(limited.header("retry-after").empty());
  EXPECT_FALSE(limited.header("retry-after-ms").empty());
  EXPECT_EQ(limited.header("x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(limited.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(f.sim.stats().rate_limited, 1u);
}

TEST(sim_server, every_answer_says_the_limits_and_what_is_left) {
  sim_fixture f({.rpm = 3, .tpm = 1'000'000});
  auto first = f.post(chat);
  ASSERT_EQ(first.status, 200u);
  EXPECT_EQ(first.header("x-ratelimit-limit-requests"), "3");
  EXPECT_EQ(first.header("x-ratelimit-remaining-requests"), "2");
  EXPECT_EQ(first.header("x-ratelimit-limit-tokens"), "1000000");
  auto used = nlohmann::json::parse(first.body)["usage"]["prompt_tokens"].get<long long>();
  EXPECT_EQ(first.header("x-ratelimit-remaining-tokens"), std::to_string(1'000'000 - used));
  EXPECT_FALSE(first.header("x-ratelimit-reset-requests").empty());
  EXPECT_EQ(f.post(chat).header("x-ratelimit-remaining-requests"), "1");
}

TEST(sim_server, the_window_slides_and_a_refused_request_is_not_counted) {
  // 6 per minute over a window of 10 s: one per window.
  sim_fixture f({.rpm = 6, .rate_window = std::chrono::seconds(10)});
  EXPECT_EQ(f.post(chat).status, 200u);
  auto refused = f.post(chat);
  ASSERT_EQ(refused.status, 429u);
  auto wait_ms = std::stoll(std::string(refused.header("retry-after-ms")));
  EXPECT_GT(wait_ms, 0);
  EXPECT_LE(wait_ms, 10'001);
  EXPECT_EQ(refused.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(f.sim.stats().rate_limited, 1u);
}

TEST(sim_server, injects_faults_on_request) {
  sim_fixture fail({.fail_rate = 1.0});
  EXPECT_EQ(fail.post(chat).status, 503u);
  sim_fixture broken({.malformed_rate = 1.0});
  auto r = broken.post(chat);
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(nlohmann::json::parse(r.body, nullptr, false).is_discarded());
}

}  // namespace
}  // namespace optd::sim
