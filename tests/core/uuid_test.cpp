#include "core/uuid.hpp"

#include <gtest/gtest.h>

namespace optd::core {
namespace {

TEST(uuid_v7, canonical_form_with_version_7_and_rfc_variant) {
  uuid_v7_generator gen(1);
  auto id = gen.next(1'790'000'000'000);
  EXPECT_TRUE(is_uuid_v7(id)) << id;
  // 48-bit millisecond timestamp, big-endian: 1790000000000 = 0x01a0c4506c00.
  EXPECT_EQ(id.substr(0, 8) + id.substr(9, 4), "01a0c4506c00");
}

TEST(uuid_v7, strictly_increasing_even_within_one_millisecond) {
  uuid_v7_generator gen(2);
  std::string prev;
  for (int i = 0; i < 5000; ++i) {
    auto id = gen.next(1'790'000'000'000);
    ASSERT_GT(id, prev);
    prev = id;
  }
}

TEST(uuid_v7, rejects_other_versions_and_shapes) {
  EXPECT_FALSE(is_uuid_v7("0197a1e2-7c1a-4b3e-9d2f-1a2b3c4d5e6f"));  // v4
  EXPECT_FALSE(is_uuid_v7("0197a1e2-7c1a-7b3e-cd2f-1a2b3c4d5e6f"));  // wrong variant
  EXPECT_FALSE(is_uuid_v7("0197a1e27c1a7b3e9d2f1a2b3c4d5e6f"));
  EXPECT_TRUE(is_uuid_v7("0197a1e2-7c1a-7b3e-9d2f-1a2b3c4d5e6f"));
}

TEST(uuid_v7, derived_ids_are_stable_distinct_and_keep_the_base_time) {
  uuid_v7_generator gen(7);
  auto base = gen.next(1'790'000'000'000);
  auto trace = derived_uuid_v7(base, "trace");
  EXPECT_TRUE(is_uuid_v7(trace)) << trace;
  EXPECT_EQ(trace, derived_uuid_v7(base, "trace"));  // the same after a restart
  EXPECT_NE(trace, derived_uuid_v7(base, "span"));
  EXPECT_NE(trace, derived_uuid_v7(gen.next(1'790'000'000'000), "trace"));
  EXPECT_EQ(trace.substr(0, 13), base.substr(0, 13));  // 48-bit time: sorts with its base
}

}  // namespace
}  // namespace optd::core
