// What optd's /metrics shows: LLM requests as the metered provider sees them, and per-run gauges
// that exist only while a run is active.
#include "telemetry/metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_support.hpp"
#include "telemetry/metered_provider.hpp"

namespace optd::telemetry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Answers from a script: each call takes the next result.
class scripted_provider final : public core::llm_provider {
 public:
  explicit scripted_provider(std::vector<core::completion_result> script) : script_(std::move(script)) {}
  boost::asio::awaitable<core::completion_result> complete(const core::chat_request&) override {
    co_return script_.at(next_++);
  }

 private:
  std::vector<core::completion_result> script_;
  std::size_t next_ = 0;
};

TEST(metrics, the_metered_provider_counts_outcomes_retries_429s_tokens_and_cost) {
  boost::asio::io_context ioc;
  metrics m("1.2.3");
  core::completion ok;
  ok.text = "4";
  ok.usage = {1000, 500};
  ok.attempts = 3;
  ok.rate_limited = 2;
  core::llm_error down{core::errc::provider_unavailable, "HTTP 503", 503, 5, 1};
  metered_provider p(std::make_unique<scripted_provider>(std::vector<core::completion_result>{ok, down}), "sim",
                     [](std::string_view) { return core::model_price{2, 10}; }, m);
  core::chat_request req;
  req.model = "sim-small";
  ASSERT_TRUE(*test::run(ioc, p.complete(req)));
  ioc.restart();
  ASSERT_FALSE(*test::run(ioc, p.complete(req)));

  auto text = m.scrape();
  EXPECT_THAT(text, HasSubstr(R"(optd_build_info{version="1.2.3"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(optd_llm_requests_total{model="sim-small",outcome="ok",provider="sim"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(optd_llm_requests_total{model="sim-small",outcome="unavailable",provider="sim"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(optd_llm_retries_total{provider="sim"} 6)"));      // 2 + 4
  EXPECT_THAT(text, HasSubstr(R"(optd_llm_rate_limited_total{provider="sim"} 3)"));  // 2 + 1
  EXPECT_THAT(text, HasSubstr(R"(optd_llm_tokens_total{direction="prompt",model="sim-small",provider="sim"} 1000)"));
  EXPECT_THAT(text, HasSubstr(R"(optd_llm_tokens_total{direction="completion",model="sim-small",provider="sim"} 500)"));
  EXPECT_THAT(text, HasSubstr(R"(optd_llm_cost_usd_total{model="sim-small",provider="sim"} 0.007)"));  // (1000*2 + 500*10)/1e6
  EXPECT_THAT(text, HasSubstr(R"(optd_llm_request_duration_seconds_count{model="sim-small",provider="sim"} 2)"));
  EXPECT_THAT(text, Not(HasSubstr("HTTP 503")));  // no error text in labels
}

TEST(metrics, per_run_gauges_live_only_while_the_run_is_active) {
  metrics m("0");
  m.run_progress("0197aaaa-0000-7000-8000-000000000001", "skills", 1, std::nullopt, 0.5);
  auto running = m.scrape();
  EXPECT_THAT(running, HasSubstr(R"(optd_run_trials{name="skills",run_id="0197aaaa-0000-7000-8000-000000000001"} 1)"));
  EXPECT_THAT(running, Not(HasSubstr("optd_run_best_score{")));  // no score yet: no series, not a 0
  m.run_progress("0197aaaa-0000-7000-8000-000000000001", "skills", 2, 0.75, 0.9);
  EXPECT_THAT(m.scrape(), HasSubstr(R"(optd_run_best_score{name="skills",run_id="0197aaaa-0000-7000-8000-000000000001"} 0.75)"));
  m.end_run("0197aaaa-0000-7000-8000-000000000001");
  EXPECT_THAT(m.scrape(), Not(HasSubstr("0197aaaa-0000-7000-8000-000000000001")));
}

TEST(metrics, collectors_run_at_each_scrape) {
  metrics m("0");
  int n = 0;
  m.add_collector([&] { m.set_runs("running", ++n); });
  m.scrape();
  EXPECT_THAT(m.scrape(), HasSubstr(R"(optd_runs{status="running"} 2)"));
  EXPECT_THAT(m.scrape(), HasSubstr("process_resident_memory_bytes "));
}

}  // namespace
}  // namespace optd::telemetry
