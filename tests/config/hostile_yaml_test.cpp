// Hostile input is refused with a clear message, in bounded time and memory, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/run_config.hpp"

namespace optd::config {
namespace {

using ::testing::HasSubstr;

std::string only_problem(const std::string& text) {
  auto r = parse_run_config(text, "evil.yaml", "");
  EXPECT_EQ(r.problems.size(), 1u);
  return r.problems.empty() ? "" : format(r.problems[0]);
}

TEST(hostile_yaml, alias_bomb_is_refused) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'l'; ++c, ++prev)  // 11 levels of 10: 111 aliases
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
  bomb += "llm_model: {model: m, parameters: {stop: *l}}\n";
  EXPECT_THAT(only_problem(bomb), HasSubstr("more than 100 aliases"));
}

TEST(hostile_yaml, alias_expansion_is_bounded_even_under_the_alias_limit) {
  // 9 levels of 9 aliases: 81 aliases, but 9^9 nodes once expanded.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    auto p = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + ", " + p + ", " + p + ", " + p + ", " +
            p + ", " + p + ", " + p + ", " + p + ", " + p + "]\n";
  }
  auto r = parse_run_config(bomb + "llm_model: {model: m, parameters: {stop: *a9}}\n", "evil.yaml", "");
  bool refused = false;
  for (const auto& d : r.problems) refused |= d.message.find("too many nodes") != std::string::npos;
  EXPECT_TRUE(refused);
}

TEST(hostile_yaml, ten_megabyte_scalar_is_refused_before_parsing) {
  std::string big = "name: " + std::string(10u << 20, 'x') + "\n";
  EXPECT_THAT(only_problem(big), HasSubstr("bytes; the limit is 1048576"));
}

TEST(hostile_yaml, deep_flow_nesting_is_refused) {
  std::string deep = "name: " + std::string(10'000, '[') + std::string(10'000, ']') + "\n";
  EXPECT_EQ(only_problem(deep), "evil.yaml:1:70: nesting is deeper than 64 levels");
}

TEST(hostile_yaml, deep_block_nesting_is_refused) {
  std::string deep;
  for (int i = 0; i < 1'000; ++i) deep += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
  EXPECT_EQ(only_problem(deep), "evil.yaml:65:1: nesting is deeper than 64 levels");
  std::string dashes(20'000, '-');
  for (std::size_t i = 1; i < dashes.size(); i += 2) dashes[i] = ' ';
  EXPECT_THAT(only_problem(dashes + "x\n"), HasSubstr("nesting is deeper than 64 levels"));
}

TEST(hostile_yaml, binary_bytes_and_bad_utf8_are_refused) {
  EXPECT_EQ(only_problem(std::string("name: a\x01" "b\n")), "evil.yaml:1:8: binary byte 0x01 is not allowed in a config");
  EXPECT_EQ(only_problem(std::string("name: ok\nx: \xff\xfe\n")), "evil.yaml:2:4: the file is not valid UTF-8");
  EXPECT_EQ(only_problem(std::string("name: a\0b\n", 10)), "evil.yaml:1:8: binary byte 0x00 is not allowed in a config");
}

TEST(hostile_yaml, ordinary_configs_pass_the_guard) {
  auto r = parse_run_config("name: 'it''s # not a comment'\nprompt: {messages: [{role: user, content: \"[{x}]\"}]}\n",
                            "ok.yaml", "");
  for (const auto& d : r.problems) EXPECT_THAT(d.message, ::testing::Not(HasSubstr("nesting")));
}

// Found by the fuzzer: yaml-cpp's LoadAll never returned on these; optd reads one document.
TEST(hostile_yaml, inputs_that_hung_yaml_cpps_load_all_end_with_a_problem) {
  for (const char* text : {" , r", ", {connect: 1x\np5pi, project_ 256}\n"})
    EXPECT_FALSE(parse_run_config(text, "evil.yaml", "").problems.empty()) << text;
}

}  // namespace
}  // namespace optd::config
