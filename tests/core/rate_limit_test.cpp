#include "core/rate_limit.hpp"

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "core/iso8601.hpp"

namespace optd::core {
namespace {

using std::chrono::milliseconds;

TEST(rate_limit, openai_reset_durations) {
  EXPECT_EQ(parse_reset_duration("1s"), milliseconds(1000));
  EXPECT_EQ(parse_reset_duration("6m0s"), milliseconds(360'000));
  EXPECT_EQ(parse_reset_duration("20ms"), milliseconds(20));
  EXPECT_EQ(parse_reset_duration("1h2m3.5s"), milliseconds(3'723'500));
  EXPECT_EQ(parse_reset_duration("0.25s"), milliseconds(250));
  EXPECT_EQ(parse_reset_duration("2"), milliseconds(2000));  // bare: seconds
  EXPECT_EQ(parse_reset_duration(""), std::nullopt);
  EXPECT_EQ(parse_reset_duration("soon"), std::nullopt);
  EXPECT_EQ(parse_reset_duration("3x"), std::nullopt);
  EXPECT_EQ(parse_reset_duration("-1s"), std::nullopt);
}

rate_limit_facts facts_of(const std::map<std::string, std::string>& headers, std::int64_t now_ms = 0) {
  return parse_rate_limit_facts(
      [&](std::string_view name) {
        auto it = headers.find(std::string(name));
        return it == headers.end() ? std::string_view() : std::string_view(it->second);
      },
      now_ms);
}

TEST(rate_limit, openai_headers) {
  auto f = facts_of({{"x-ratelimit-limit-requests", "500"},
                     {"x-ratelimit-remaining-requests", "499"},
                     {"x-ratelimit-reset-requests", "120ms"},
                     {"x-ratelimit-limit-tokens", "200000"},
                     {"x-ratelimit-remaining-tokens", "199000"},
                     {"x-ratelimit-reset-tokens", "6m0s"}});
  EXPECT_EQ(f.limit_requests, 500);
  EXPECT_EQ(f.remaining_requests, 499);
  EXPECT_EQ(f.reset_requests, milliseconds(120));
  EXPECT_EQ(f.limit_tokens, 200000);
  EXPECT_EQ(f.remaining_tokens, 199000);
  EXPECT_EQ(f.reset_tokens, milliseconds(360'000));
}

TEST(rate_limit, azure_sends_only_what_is_left) {
  auto f = facts_of({{"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-remaining-tokens", "1200"}});
  EXPECT_FALSE(f.limit_requests);
  EXPECT_EQ(f.remaining_requests, 0);
  EXPECT_EQ(f.remaining_tokens, 1200);
  EXPECT_FALSE(f.empty());
}

TEST(rate_limit, anthropic_headers_with_reset_times) {
  auto now = *parse_iso8601("2026-12-03T10:00:00Z");
  auto f = facts_of({{"anthropic-ratelimit-requests-limit", "50"},
                     {"anthropic-ratelimit-requests-remaining", "0"},
                     {"anthropic-ratelimit-requests-reset", "2026-12-03T10:00:01.500Z"},
                     {"anthropic-ratelimit-input-tokens-limit", "40000"},
                     {"anthropic-ratelimit-input-tokens-remaining", "39000"},
                     {"anthropic-ratelimit-input-tokens-reset", "2026-12-03T10:00:30Z"}},
                    now);
  EXPECT_EQ(f.limit_requests, 50);
  EXPECT_EQ(f.remaining_requests, 0);
  EXPECT_EQ(f.reset_requests, milliseconds(1500));
  EXPECT_EQ(f.limit_tokens, 40000);  // the input-token limit stands in when the combined one is absent
  EXPECT_EQ(f.reset_tokens, milliseconds(30'000));
}

TEST(rate_limit, nothing_said_nothing_known) {
  EXPECT_TRUE(facts_of({}).empty());
  EXPECT_TRUE(facts_of({{"x-ratelimit-limit-requests", "lots"}}).empty());
}

}  // namespace
}  // namespace optd::core
