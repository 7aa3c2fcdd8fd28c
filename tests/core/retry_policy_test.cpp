#include "core/retry_policy.hpp"

#include <gtest/gtest.h>

namespace optd::core {
namespace {

using std::chrono::milliseconds;

TEST(retry_policy, retryable_statuses) {
  for (unsigned s : {408u, 409u, 429u, 500u, 502u, 503u, 504u, 599u}) EXPECT_TRUE(is_retryable_status(s)) << s;
  for (unsigned s : {200u, 400u, 401u, 403u, 404u, 422u}) EXPECT_FALSE(is_retryable_status(s)) << s;
}

TEST(retry_policy, retry_after_forms) {
  EXPECT_EQ(parse_retry_after("2", "", 0), milliseconds(2000));
  EXPECT_EQ(parse_retry_after("0.5", "", 0), milliseconds(500));
  EXPECT_EQ(parse_retry_after("7", "1500", 0), milliseconds(1500));  // the ms header is more precise
  // HTTP date 30 s after "now".
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", "", 1445412480), milliseconds(30'000));
  EXPECT_EQ(parse_retry_after("soon", "", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("", "", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("-3", "", 0), std::nullopt);
}

TEST(retry_policy, full_jitter_grows_exponentially_and_is_capped) {
  retry_policy p{5, milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(retry_delay(p, 1, std::nullopt, 0.999), milliseconds(99));
  EXPECT_EQ(retry_delay(p, 2, std::nullopt, 0.999), milliseconds(199));
  EXPECT_EQ(retry_delay(p, 3, std::nullopt, 0.5), milliseconds(200));
  EXPECT_EQ(retry_delay(p, 10, std::nullopt, 0.999), milliseconds(999));  // capped at max_delay
  EXPECT_EQ(retry_delay(p, 1, std::nullopt, 0.0), milliseconds(0));
}

TEST(retry_policy, server_hint_wins_but_is_capped) {
  retry_policy p{5, milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(retry_delay(p, 1, milliseconds(700), 0.0), milliseconds(700));
  EXPECT_EQ(retry_delay(p, 1, milliseconds(60'000), 0.0), milliseconds(1000));
}

}  // namespace
}  // namespace optd::core
