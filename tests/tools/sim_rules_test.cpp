#include "sim_rules.hpp"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace optd::sim {
namespace {

// Which behaviours' instructions a text has, as the task model reads them (e.g. "0110").
std::string read_fixes(const std::string& instructions) {
  std::string out;
  for (auto q : {"What is 17 + 25?", "Reverse the word: cat"}) out += answer_task(instructions, q, 0, 1) + "|";
  return out;
}

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
      0, {.seed = 1, .drop_variable_rate = 0, .format_noise_rate = 0}));
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
  auto reply = nlohmann::json::parse(respond(reasoning(""), 0, {.seed = 1, .drop_variable_rate = 0, .format_noise_rate = 0}));
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
  auto reply = nlohmann::json::parse(respond(req, 0, {.seed = 3, .drop_variable_rate = 0, .format_noise_rate = 0}));
  ASSERT_EQ(reply["prompts"].size(), 2u);
  for (const auto& p : reply["prompts"]) {
    ASSERT_EQ(p["messages"].size(), 2u);
    EXPECT_EQ(p["messages"][0]["role"], "system");
    EXPECT_TRUE(p["messages"][0]["content"].is_string());
    EXPECT_EQ(p["messages"][1], (nlohmann::json{{"role", "user"}, {"content", "{{question}}"}}));
  }
}

TEST(sim_rules, rewrites_can_lose_their_variables_when_told_to) {
  auto reply = nlohmann::json::parse(respond(reasoning(""), 0, {.seed = 1, .drop_variable_rate = 1.0, .format_noise_rate = 0}));
  for (const auto& p : reply["prompts"]) EXPECT_EQ(p["messages"][1]["content"], "Answer the question.");
}

TEST(sim_rules, deterministic_for_a_seed) {
  auto r = reasoning("input: {\"question\":\"What is 2 + 2?\",\"answer\":\"4\"}\noutput: Sure! The answer is four.\n");
  EXPECT_EQ(respond(r, 0, {.seed = 5}), respond(r, 0, {.seed = 5}));
  EXPECT_EQ(count_tokens("abcdefgh"), 2);
  EXPECT_EQ(count_tokens(""), 1);
}

sim_request structured(std::string user, nlohmann::json properties, std::string name = "AnyName") {
  return {{{"system", "Reply with JSON."}, {"user", std::move(user)}},
          0,
          {{"type", "json_schema"}, {"json_schema", {{"name", name}, {"schema", {{"properties", properties}}}}}}};
}

constexpr sim_options quiet{.seed = 7, .drop_variable_rate = 0, .format_noise_rate = 0};

TEST(sim_rules, a_request_is_read_by_what_it_asks_for_not_by_its_wording) {
  auto field = [](const char* k) { return nlohmann::json{{k, {{"type", "string"}}}}; };
  EXPECT_EQ(classify(structured("x", field("failure_modes"))), ask::failure_modes);
  EXPECT_EQ(classify(structured("x", field("unified_failure_modes"))), ask::unified_modes);
  EXPECT_EQ(classify(structured("x", {{"reasoning", 1}, {"messages", 1}})), ask::improved_prompt);
  EXPECT_EQ(classify(structured("x", field("prompts"))), ask::prompts);
  EXPECT_EQ(classify(structured("x", {{"child_1", 1}, {"child_2", 1}})), ask::crossover);
  EXPECT_EQ(classify(structured("x", field("messages"))), ask::mutated_prompt);
  EXPECT_EQ(classify(structured("x", field("word"))), ask::word);
  EXPECT_EQ(classify(structured("x", field("style"))), ask::style);
  EXPECT_EQ(classify({{{"system", "You are a prompt engineer."}, {"user", "x"}}}), ask::rewrites);
  EXPECT_EQ(classify({{{"user", "Instructions:\n```\nSolve.\n```\nImprove them."}}}), ask::instruction);
  EXPECT_EQ(classify({{{"system", "Answer."}, {"user", "What is 2 + 2?"}}}), ask::task);
}

// GEPA's reflection as optd renders it, with the wording around the examples given.
std::string reflection(const std::string& intro, const std::string& outro) {
  return intro + "\n```\nYou are a helpful assistant.\n```\n\n```\n# Example 1\n## Inputs\n### text\nWhat is 17 + 25?\n\n"
                 "## Generated Outputs\nSure! The answer is forty-two.\n\n## Feedback\nObserved score=0.0000. "
                 "Expected answer: 42\n\n# Example 2\n## Inputs\n### text\nReverse the word: cat\n\n"
                 "## Generated Outputs\nSure! The answer is tac.\n\n## Feedback\nObserved score=0.0000. Expected answer: tac\n```\n" +
         outro;
}

TEST(sim_rules, a_reflection_gets_a_fenced_instruction_with_the_fixes_its_examples_show_however_it_is_worded) {
  auto a = respond({{{"user", reflection("My assistant follows these instructions:", "Write better ones in a fence.")}}}, quiet);
  auto b = respond({{{"user", reflection("Current instructions are", "Give me new instructions, fenced.")}}}, quiet);
  auto fenced = [](const std::string& r) { return r.substr(r.find("```\n") + 4, r.rfind("\n```") - r.find("```\n") - 4); };
  // However the examples are introduced, the new instruction keeps the old one and fixes some of
  // what they show (a sentence around the answer, numbers in words, a final period), nothing else.
  for (const auto& reply : {a, b}) {
    auto text = fenced(reply);
    EXPECT_THAT(text, ::testing::StartsWith("You are a helpful assistant."));
    EXPECT_NE(read_fixes(text), read_fixes("You are a helpful assistant.")) << text;
    EXPECT_THAT(text, ::testing::Not(HasSubstr("arithmetic")));
  }
}

TEST(sim_rules, batch_analyses_name_failure_modes_from_outputs_and_only_a_vague_one_from_scores_and_reasons) {
  std::string with_outputs =
      "Test Case #1 (ID: i1, Trial: t)\n  equals: 0.000\n    Reason: No match: output does not equal reference\n"
      "  Input: {\"question\":\"What is 17 + 25?\"}\n  Output: Sure! The answer is forty-two.\n  Expected: 42\n";
  auto modes = nlohmann::json::parse(respond(structured(with_outputs, {{"failure_modes", 1}}), quiet))["failure_modes"];
  std::set<std::string> names;
  for (const auto& m : modes) names.insert(m["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"Answer wrapped in a sentence", "Numbers written as words", "Trailing punctuation"}));

  std::string reasons_only = "Test Case #1 (ID: i1, Trial: t)\n  equals: 0.000\n    Reason: No match: output does not equal reference\n"
                             "Test Case #2 (ID: i2, Trial: t)\n  equals: 1.000\n    Reason: Exact match\n";
  auto vague = nlohmann::json::parse(respond(structured(reasons_only, {{"failure_modes", 1}}), quiet))["failure_modes"];
  ASSERT_EQ(vague.size(), 1u);
  EXPECT_EQ(vague[0]["name"], "Answers differ from the references");
  EXPECT_THAT(vague[0]["description"].get<std::string>(), HasSubstr("1 of 2 cases"));
}

TEST(sim_rules, a_synthesis_merges_modes_by_what_they_describe_and_a_rewrite_fixes_the_mode_it_is_given) {
  auto unified = nlohmann::json::parse(respond(
      structured("Batch 1 (Test Cases 1–4):\n- Spelled-out numbers\n  Description: numbers come as words\n"
                 "Batch 2 (Test Cases 5–8):\n- Words for numbers\n  Description: the model writes numbers in words\n",
                 {{"unified_failure_modes", 1}}),
      quiet))["unified_failure_modes"];
  ASSERT_EQ(unified.size(), 1u);
  EXPECT_EQ(unified[0]["name"], "Numbers written as words");

  // The prompt itself mentions digits: only the failure mode's words count.
  std::string improve = "--- Prompt: p ---\n"
                        R"([{"role":"system","content":"Think about digits and letters."},{"role":"user","content":"{{question}}"}])"
                        "\n\nFailure mode: Trailing punctuation\nDescription: ends with a period\n";
  auto j = nlohmann::json::parse(respond(structured(improve, {{"reasoning", 1}, {"messages", 1}}), quiet));
  auto sys = j["messages"][0]["content"].get<std::string>();
  EXPECT_EQ(sys, "Think about digits and letters. Use no punctuation at the end of the answer.");
  EXPECT_EQ(j["messages"][1]["content"], "{{question}}");
}

TEST(sim_rules, populations_crossovers_and_mutations_keep_the_prompts_shape) {
  std::string current = "Prompt:\n" R"([{"role":"system","content":"Solve."},{"role":"user","content":"{{question}}"}])" "\n\nWrite exactly 4 variations.";
  auto pop = nlohmann::json::parse(respond(structured(current, {{"prompts", 1}}), quiet))["prompts"];
  ASSERT_EQ(pop.size(), 4u);
  for (const auto& p : pop) {
    EXPECT_THAT(p["prompt"][0]["content"].get<std::string>(), ::testing::StartsWith("Solve. "));
    EXPECT_EQ(p["prompt"][1]["content"], "{{question}}");
  }
  std::string parents = "Parent 1:\n" R"([{"role":"system","content":"Use digits. Be brief."}])" "\n\nParent 2:\n"
                        R"([{"role":"system","content":"Be kind. Use digits."}])" "\n";
  auto kids = nlohmann::json::parse(respond(structured(parents, {{"child_1", 1}, {"child_2", 1}}), quiet));
  EXPECT_EQ(kids["child_1"][0]["content"], "Use digits. Be brief. Be kind.");
  EXPECT_EQ(kids["child_2"][0]["content"], "Be kind. Use digits. Be brief.");
  auto word = nlohmann::json::parse(respond(structured("Give one synonym of the word \"helpful\" here", {{"word", 1}}), quiet));
  EXPECT_EQ(word["word"], "useful");
}

TEST(sim_rules, with_format_noise_replies_come_fenced_or_wrapped_in_prose) {
  sim_options noisy{.seed = 7, .drop_variable_rate = 0, .format_noise_rate = 1.0};
  int fenced = 0, prose = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = respond(structured("Prompt " + std::to_string(i) + ":\n[]\nexactly " + std::to_string(i % 3 + 1), {{"prompts", 1}}), noisy);
    EXPECT_TRUE(nlohmann::json::parse(r, nullptr, false).is_discarded()) << r;
    fenced += r.rfind("```json", 0) == 0;
    prose += r.find("Here is") == 0;
    auto json = r.substr(r.find('{'), r.rfind('}') - r.find('{') + 1);
    EXPECT_TRUE(nlohmann::json::parse(json).contains("prompts"));
  }
  EXPECT_GT(fenced, 0);
  EXPECT_GT(prose, 0);
}


// A judge request as optd's geval and json_schema_validator send them (the wording is optd's; the
// simulator reads only the structure).
sim_request geval_verdict_request(const std::string& criteria, const std::string& answer) {
  auto format = nlohmann::json::parse(R"({"type": "json_schema", "json_schema": {"name": "GEvalScore", "schema":
      {"type": "object", "properties": {"score": {"type": "integer"}, "reason": {"type": "string"}}}}})");
  return {{{"system", "Grade it.\nTASK INTRODUCTION:\nArithmetic\nEVALUATION CRITERIA:\n" + criteria + "\nEVALUATION STEPS:\n1. …"},
           {"user", "<solution>" + answer + "</solution>"}},
          0,
          format};
}

TEST(sim_judge, geval_steps_come_once_from_the_criteria_and_verdicts_grade_the_answers_form) {
  sim_request steps{{{"system", "Write steps."}, {"user", "TASK INTRODUCTION:\nArithmetic\n\nEVALUATION CRITERIA:\nBrief"}}, 0, nullptr};
  EXPECT_EQ(classify(steps), ask::evaluation_steps);
  EXPECT_THAT(respond(steps, {}), HasSubstr("1. Read the task and the criteria: Brief"));

  const std::string criteria = "The correct answer is \"42\". The reply should be that answer alone.";
  auto verdict = [&](const std::string& answer) { return nlohmann::json::parse(respond(geval_verdict_request(criteria, answer), {})); };
  EXPECT_EQ(classify(geval_verdict_request(criteria, "42")), ask::geval_verdict);
  auto chatty = verdict("Sure! The answer is forty-two.");
  EXPECT_EQ(chatty["score"], 2);  // 10 − 4 (a sentence) − 1 (a period) − 3 (words)
  EXPECT_THAT(chatty["reason"].get<std::string>(), HasSubstr("wrapped in a sentence"));
  EXPECT_THAT(chatty["reason"].get<std::string>(), HasSubstr("in words instead of digits"));
  EXPECT_EQ(verdict("42.")["score"], 9);
  EXPECT_EQ(verdict("42")["score"], 10);
  EXPECT_EQ(verdict("52")["score"], 1);
  EXPECT_THAT(verdict("52")["reason"].get<std::string>(), HasSubstr("Wrong result: the expected answer is 42."));
  EXPECT_EQ(verdict("I'm not sure how to answer that.")["score"], 0);
}

TEST(sim_judge, a_verdicts_fourth_token_is_its_number_with_neighbours_as_alternatives) {
  auto request = geval_verdict_request("Brief.", "42.");
  auto text = respond(request, {});
  auto tokens = answer_logprobs(request, text, 20);
  std::string joined;
  for (const auto& t : tokens) joined += t.token;
  EXPECT_EQ(joined, text);
  ASSERT_GE(tokens.size(), 4u);
  EXPECT_EQ(tokens[3].token, " 9");
  ASSERT_EQ(tokens[3].top.size(), 3u);
  EXPECT_EQ(tokens[3].top[1].first, " 8");
  EXPECT_EQ(answer_logprobs(request, text, 1)[3].top.size(), 1u);
  // The judge is sure of a perfect answer.
  auto perfect = geval_verdict_request("Brief.", "42");
  auto sure = answer_logprobs(perfect, respond(perfect, {}), 20)[3];
  ASSERT_EQ(sure.top.size(), 1u);
  EXPECT_EQ(sure.top[0].first, " 10");
  EXPECT_EQ(sure.logprob, 0);
}

TEST(sim_judge, the_compliance_judge_checks_the_output_against_the_schemas_fields_and_types) {
  auto format = nlohmann::json::parse(R"({"type": "json_schema", "json_schema": {"name": "StructuredOutputCompliance",
      "schema": {"type": "object", "properties": {"score": {"type": "boolean"}}}}})");
  auto ask_judge = [&](const std::string& output) {
    sim_request r{{{"system", "Validate."},
                   {"user", "EXPECTED STRUCTURE:\n{\"type\": \"object\", \"properties\": {\"answer\": {\"type\": \"string\"}}, "
                            "\"required\": [\"answer\"]}\n\nOUTPUT:\n" + output}},
                  0,
                  format};
    EXPECT_EQ(classify(r), ask::compliance);
    return nlohmann::json::parse(respond(r, {}));
  };
  EXPECT_EQ(ask_judge(R"({"answer": "42"})")["score"], true);
  EXPECT_EQ(ask_judge(R"(Sure! The answer is {"answer": "42"}.)")["score"], false);
  EXPECT_EQ(ask_judge(R"({"answer": 42})")["reason"][0], "Field 'answer' is not of type string.");
  EXPECT_EQ(ask_judge(R"({"result": "42"})")["reason"][0], "Required field 'answer' is missing.");
}

TEST(sim_rules, asked_for_json_the_task_model_answers_with_an_object_where_the_answer_goes) {
  EXPECT_EQ(answer_task("Reply in JSON.", "What is 17 + 25?", 0, 42), R"(Sure! The answer is {"answer":"forty-two"}.)");
  EXPECT_EQ(answer_task("Reply in JSON with only the answer, in digits, no punctuation.", "What is 17 + 25?", 0, 42),
            R"({"answer":"42"})");
}

}  // namespace
}  // namespace optd::sim
