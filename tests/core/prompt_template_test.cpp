#include "core/prompt_template.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace optd::core {
namespace {

TEST(prompt_template, variables_in_order_of_first_appearance_each_once) {
  EXPECT_EQ(template_variables("{{b}} and {{ a }} then {{b}}"), (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(template_variables("no variables {single} {{}}").empty());
}

TEST(prompt_template, variables_of_a_whole_prompt) {
  prompt_messages p{{role::system, "Context: {{context}}"}, {role::user, "{{question}} ({{context}})"}};
  EXPECT_EQ(template_variables(p), (std::vector<std::string>{"context", "question"}));
}

TEST(prompt_template, renders_strings_as_is_and_other_values_as_json) {
  nlohmann::json data = {{"q", "What is 2+2?"}, {"n", 4}, {"tags", {"a", "b"}}};
  auto r = render_template("Q: {{q}} N={{ n }} T={{tags}}", data);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, R"(Q: What is 2+2? N=4 T=["a","b"])");
}

TEST(prompt_template, missing_variable_is_an_error_naming_it) {
  std::string missing;
  auto r = render_template("{{question}} {{context}}", {{"question", "x"}}, &missing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::template_variable_missing);
  EXPECT_EQ(missing, "context");
}

TEST(prompt_template, unclosed_braces_are_literal_text) {
  auto r = render_template("keep {{ this and {{x}}", {{"x", "1"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "keep {{ this and 1");
}

}  // namespace
}  // namespace optd::core
