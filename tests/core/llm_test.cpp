#include "core/llm.hpp"

#include <gtest/gtest.h>

namespace optd::core {
namespace {

TEST(chat_body, round_trips_through_a_json_parser_with_hostile_text) {
  chat_request r;
  r.model = "gpt-4o-mini";
  std::string nasty = "quote \" backslash \\ newline \n tab \t bell \x07 unicode é 😀 </script>";
  r.messages = {{role::system, "plain"}, {role::user, nasty}};
  r.parameters = {{"temperature", 0.5}, {"stop", {"\n\n"}}, {"model", "ignored"}};
  auto body = to_json_body(r, R"("stream":false)");
  auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["model"], "gpt-4o-mini");
  EXPECT_EQ(j["messages"][0]["role"], "system");
  EXPECT_EQ(j["messages"][1]["content"], nasty);
  EXPECT_EQ(j["temperature"], 0.5);
  EXPECT_EQ(j["stop"][0], "\n\n");
  EXPECT_EQ(j["stream"], false);
  EXPECT_EQ(j.size(), 5u);  // a "model" parameter does not override the model
  EXPECT_EQ(nlohmann::json::parse(to_json_body(r)).count("stream"), 0u);
}

}  // namespace
}  // namespace optd::core
