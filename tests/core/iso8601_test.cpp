#include "core/iso8601.hpp"

#include <gtest/gtest.h>

namespace optd::core {
namespace {

TEST(iso8601, writes_utc_milliseconds_and_reads_what_clients_send) {
  EXPECT_EQ(iso8601(1'795'329'640'099), "2026-11-22T06:40:40.099Z");
  EXPECT_EQ(parse_iso8601("2026-11-22T06:40:40.099Z"), 1'795'329'640'099);
  EXPECT_EQ(parse_iso8601("2026-11-22T06:40:40Z"), 1'795'329'640'000);
  EXPECT_EQ(parse_iso8601("2026-11-22T06:40:40.099123Z"), 1'795'329'640'099);  // Python's microseconds
  EXPECT_EQ(parse_iso8601("2026-11-22T07:40:40.099+01:00"), 1'795'329'640'099);
  EXPECT_EQ(parse_iso8601("2026-11-22 06:40:40"), std::nullopt);
  EXPECT_EQ(parse_iso8601("yesterday"), std::nullopt);
}

}  // namespace
}  // namespace optd::core
