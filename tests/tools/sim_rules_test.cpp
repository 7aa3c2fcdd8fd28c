#include "sim_rules.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace optd::sim {
namespace {

using ::testing::HasSubstr;

TEST(sim_rules, a_plain_prompt_gets_chatty_answers_with_numbers_in_words) {
  EXPECT_EQ(answer_task("You are a helpful assistant.", "What is 17 + 25?", 0, 42), "Sure! The answer is forty-two.");
  EXPECT_EQ(answer_task("", "Reverse the word: planet", 0, 42), "Sure! The answer is tenalp.");
  EXPECT_EQ(answer_task("", "Sort these numbers ascending: 5, 3, 9", 0, 42), "Sure! The answer is 3, 5, 9.");
  EXPECT_EQ(answer_task("", "Tell me a joke", 0, 42), "I'm not sure how to answer that.");
}

TEST(sim_rules, each_instruction_switches_one_behaviour) {
  EXPECT_EQ(answer_task("Give only the answer.", "What is 17 + 25?", 0, 42), "forty-two.");
  EXPECT_EQ(answer_task("Give only the answer. Use digits.", "What is 17 + 25?", 0, 42), "42.");
  EXPECT_EQ(answer_task("Give only the answer. Use digits. No punctuation.", "What is 17 + 25?", 0, 42), "42");
  EXPECT_EQ(answer_task("Only the answer, in digits, no punctuation.", "How many letters are in the word sun?", 0, 1), "3");
}

TEST(sim_rules, multiplication_slips_unless_told_to_work_carefully) {
  // Which two-digit products slip is fixed per question; at least one of these does.
  int slips = 0;
  for (auto q : {"What is 12 * 34?", "What is 23 * 17?", "What is 45 * 11?", "What is 31 * 29?"}) {
    auto sloppy = answer_task("Only the answer, digits, no punctuation.", q, 0, 42);
    auto careful = answer_task("Only the answer, digits, no punctuation. Work carefully.", q, 0, 42);
    slips += sloppy != careful;
    EXPECT_EQ(careful, std::to_string(std::stoi(std::string(q).substr(8, 2)) * std::stoi(std::string(q).substr(13, 2))));
  }
  EXPECT_GT(slips, 0);
}

TEST(sim_rules, number_words) {
  EXPECT_EQ(number_to_words(0), "zero");
  EXPECT_EQ(number_to_words(408), "four hundred eight");
  EXPECT_EQ(number_to_words(-19), "minus nineteen");
  EXPECT_EQ(number_to_words(12'345), "twelve thousand three hundred forty-five");
}

std::vector<sim_message> reasoning(const std::string& examples, int wanted = 3) {
  return {{"system", "You are an expert prompt engineer."},
          {"user", "Current prompt (JSON messages):\n"
                   R"([{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"{{question}}"}])"
                   "\n\nPropose exactly " + std::to_string(wanted) + " improved prompts.\n\nScored examples, worst first:\n" + examples}};
}

TEST(sim_rules, the_reasoner_fixes_what_failing_examples_show) {
  auto reply = nlohmann::json::parse(respond(
      reasoning("input: {\"question\":\"What is 17 + 25?\",\"answer\":\"42\"}\noutput: Sure! The answer is forty-two.\n"),
      0, {.seed = 1, .drop_variable_rate = 0}));
  ASSERT_EQ(reply["prompts"].size(), 3u);
  std::string all;
  for (const auto& p : reply["prompts"]) {
    EXPECT_EQ(p["messages"][1]["content"], "{{question}}");
    all += p["messages"][0]["content"].get<std::string>();
  }
  EXPECT_THAT(all, HasSubstr("only the final answer"));
  EXPECT_THAT(all, HasSubstr("digits"));
  EXPECT_THAT(all, HasSubstr("punctuation"));
}

TEST(sim_rules, without_examples_the_reasoner_cannot_find_the_fixes) {
  auto reply = nlohmann::json::parse(respond(reasoning(""), 0, {.seed = 1, .drop_variable_rate = 0}));
  for (const auto& p : reply["prompts"]) {
    auto sys = p["messages"][0]["content"].get<std::string>();
    EXPECT_EQ(answer_task(sys, "What is 17 + 25?", 0, 1), "Sure! The answer is forty-two.") << sys;
  }
}

TEST(sim_rules, a_prompt_without_a_system_message_gets_one) {
  std::vector<sim_message> req{
      {"system", "You are an expert prompt engineer."},
      {"user", "Current prompt (JSON messages):\n" R"([{"role":"user","content":"{{question}}"}])"
               "\n\nPropose exactly 2 improved prompts.\n\nScored examples, worst first:\n"
               "input: {\"question\":\"What is 2 + 2?\",\"answer\":\"4\"}\noutput: Sure! The answer is four.\n"}};
  auto reply = nlohmann::json::parse(respond(req, 0, {.seed = 3, .drop_variable_rate = 0}));
  ASSERT_EQ(reply["prompts"].size(), 2u);
  for (const auto& p : reply["prompts"]) {
    ASSERT_EQ(p["messages"].size(), 2u);
    EXPECT_EQ(p["messages"][0]["role"], "system");
    EXPECT_TRUE(p["messages"][0]["content"].is_string());
    EXPECT_EQ(p["messages"][1], (nlohmann::json{{"role", "user"}, {"content", "{{question}}"}}));
  }
}

TEST(sim_rules, rewrites_can_lose_their_variables_when_told_to) {
  auto reply = nlohmann::json::parse(respond(reasoning(""), 0, {.seed = 1, .drop_variable_rate = 1.0}));
  for (const auto& p : reply["prompts"]) EXPECT_EQ(p["messages"][1]["content"], "Answer the question.");
}

TEST(sim_rules, deterministic_for_a_seed) {
  auto r = reasoning("input: {\"question\":\"What is 2 + 2?\",\"answer\":\"4\"}\noutput: Sure! The answer is four.\n");
  EXPECT_EQ(respond(r, 0, {.seed = 5}), respond(r, 0, {.seed = 5}));
  EXPECT_EQ(count_tokens("abcdefgh"), 2);
  EXPECT_EQ(count_tokens(""), 1);
}

}  // namespace
}  // namespace optd::sim
