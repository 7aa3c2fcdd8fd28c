// The daemon config's providers as provider_set builds them: a daily_budget_usd in front of the
// provider, shared by every call of the process, kept in the store and shown in /metrics.
#include "app/providers.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "support/test_support.hpp"

namespace optd::app {
namespace {

// 1,000 prompt and 1,000 completion tokens: $0.003 at the prices below.
constexpr const char* completion = R"({"choices":[{"message":{"role":"assistant","content":"4"}}],
  "usage":{"prompt_tokens":1000,"completion_tokens":1000}})";

class providers_test : public ::testing::Test {
 protected:
  config::daemon_config load(double daily_budget) {
    auto loaded = config::parse_daemon_config("providers:\n  - name: p\n    base_url: " + server_.base_url() +
                                                  "\n    prices: {m: {input: 1, output: 2}}\n    daily_budget_usd: " +
                                                  std::to_string(daily_budget) + "\n",
                                              "optd.yaml");
    EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : config::format(loaded.problems.front()));
    return loaded.config;
  }
  core::completion_result call(provider_set& providers, const std::string& run) {
    core::chat_request request;
    request.model = "m";
    request.share_key = run;
    request.messages = {{core::role::user, "What is 2 + 2?"}};
    request.parameters = {{"max_tokens", 1000}};  // worst case: (21 + 1000) × $1 + 1000 × $2 per million
    return test::run(ioc_, providers.find("p")->complete(request)).value();
  }
  double gauge(telemetry::metrics& m, const std::string& name) {
    auto text = m.scrape();
    auto at = text.find(name + "{provider=\"p\"} ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 15));
  }

  boost::asio::io_context ioc_;
  test::fake_clock clock_;
  store::store db_{test::temp_dir("providers") + "/optd.db"};
  test::scripted_server server_{ioc_, [](const net::http_request&, int) {
                                  return net::http_response{200, {{"Content-Type", "application/json"}}, completion};
                                }};
  std::vector<std::pair<std::string, std::string>> told_;
};

TEST_F(providers_test, a_daily_budget_holds_for_every_call_of_the_process_and_across_a_reload) {
  auto cfg = load(0.01);
  telemetry::metrics metrics("test");
  provider_set providers(ioc_.get_executor(), cfg, clock_, db_, &metrics,
                         [this](std::string_view id, std::string_view line) { told_.emplace_back(id, line); });
  for (const char* run : {"run-1", "run-2", "run-1"}) ASSERT_TRUE(call(providers, run));
  EXPECT_DOUBLE_EQ(gauge(metrics, "optd_llm_daily_spent_usd"), 0.009);
  EXPECT_DOUBLE_EQ(gauge(metrics, "optd_llm_daily_budget_usd"), 0.01);
  providers.reload();  // SIGHUP: the day's ledger stays
  EXPECT_EQ(server_.received().size(), 3u);
  ASSERT_TRUE(call(providers, "run-2"));  // $0.009 spent: $0.003 more fits only the next day
  EXPECT_FALSE(clock_.sleeps.empty());  // until the next day, a minute at a time
  EXPECT_EQ(server_.received().size(), 4u);
  ASSERT_EQ(told_.size(), 2u);
  EXPECT_EQ(told_[0].first, "");  // the daemon's log
  EXPECT_EQ(told_[1].first, "run-2");
  EXPECT_NE(told_[1].second.find("calls to provider 'p' wait until 00:00 UTC"), std::string::npos) << told_[1].second;
  EXPECT_DOUBLE_EQ(gauge(metrics, "optd_llm_daily_spent_usd"), 0.003);  // the new day's
  EXPECT_DOUBLE_EQ(gauge(metrics, "optd_llm_daily_budget_exhausted"), 0);
}

}  // namespace
}  // namespace optd::app
