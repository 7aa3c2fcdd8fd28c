// meta_prompt against a scripted optimizer_context: no sockets, no engine.
#include "plugins/optimizers/meta_prompt.hpp"

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/scripted_context.hpp"

namespace optd::plugins {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;

// The task: a prompt scores by how many of the wanted phrases its system message has ("concise",
// "digits"); item 2 is answered wrongly (score 0) until both are there.
test::scripted_context::scored score(const core::prompt_messages& p, const core::dataset_item& item) {
  std::string sys = p.empty() ? "" : p.front().content;
  double v = (sys.find("concise") != std::string::npos ? 0.5 : 0.0) + (sys.find("digits") != std::string::npos ? 0.5 : 0.0);
  bool wrong = item.id == "item-2" && v < 1;
  return {wrong ? "wrong" : item.data["answer"].get<std::string>(), wrong ? 0.0 : 0.5 + v / 2, wrong ? "bad" : "good"};
}

struct scripted_context : test::scripted_context {
  scripted_context(int max_trials, std::vector<std::string> replies)
      : test::scripted_context(items(4), score, test::scripted_context::replies(std::move(replies)), limits(max_trials)) {}
  static core::run_limits limits(int max_trials) {
    core::run_limits l;
    l.max_trials = max_trials;
    return l;
  }
  const core::candidate& evaluated(std::size_t i) const { return evaluations.at(i).candidate; }
};

std::string reply(std::initializer_list<std::pair<std::string, std::string>> prompts) {
  auto arr = nlohmann::json::array();
  for (const auto& [sys, user] : prompts)
    arr.push_back({{"messages", {{{"role", "system"}, {"content", sys}}, {{"role", "user"}, {"content", user}}}}});
  return nlohmann::json{{"prompts", arr}}.dump();
}

core::candidate baseline() {
  return {{{core::role::system, "Answer."}, {core::role::user, "{{question}}"}}, "baseline"};
}

core::optimizer_outcome run(meta_prompt& opt, scripted_context& ctx) { return ctx.run(opt, baseline().messages); }

TEST(meta_prompt, baseline_first_then_rewrites_until_perfect) {
  scripted_context ctx(10, {reply({{"Be concise.", "{{question}}"}, {"Nothing new.", "{{question}}"}}),
                            reply({{"Be concise. Use digits.", "{{question}}"}})});
  meta_prompt opt({.prompts_per_round = 2});
  auto out = run(opt, ctx);
  EXPECT_EQ(out.reason, core::finish_reason::perfect_score);
  ASSERT_EQ(ctx.evaluations.size(), 4u);
  EXPECT_EQ(ctx.evaluated(0).origin, "baseline");
  EXPECT_EQ(ctx.evaluated(1).origin, "round 1 rewrite 1");
  EXPECT_EQ(ctx.evaluated(3).messages[0].content, "Be concise. Use digits.");
  // Round 2 starts from round 1's best prompt.
  ASSERT_EQ(ctx.requests.size(), 2u);
  EXPECT_THAT(ctx.requests[1].messages[1].content, HasSubstr("Be concise."));
}

TEST(meta_prompt, the_reasoning_request_shows_the_best_prompt_and_failures_first) {
  scripted_context ctx(2, {reply({{"Be concise.", "{{question}}"}})});
  meta_prompt opt({.prompts_per_round = 3, .examples_per_round = 2, .model = "reasoner",
                   .model_parameters = {{"temperature", 1.0}}});
  run(opt, ctx);
  ASSERT_EQ(ctx.requests.size(), 1u);
  const auto& req = ctx.requests[0];
  EXPECT_EQ(req.model, "reasoner");
  EXPECT_EQ(req.parameters["temperature"], 1.0);
  EXPECT_EQ(req.messages[0].role, core::role::system);
  const auto& text = req.messages[1].content;
  EXPECT_THAT(text, HasSubstr(R"([{"content":"Answer.","role":"system"},{"content":"{{question}}","role":"user"}])"));
  EXPECT_THAT(text, HasSubstr("Propose exactly 1 improved prompts"));  // only one trial left
  EXPECT_THAT(text, HasSubstr("keep these variables: {{question}}"));
  // The failing example comes first, and only examples_per_round examples are shown.
  auto first_output = text.find("output: ", text.find("Scored examples"));
  EXPECT_EQ(first_output, text.find("output: wrong"));
  std::size_t shown = 0;
  for (auto p = text.find("input: "); p != std::string::npos; p = text.find("input: ", p + 1)) ++shown;
  EXPECT_EQ(shown, 2u);
}

TEST(meta_prompt, rewrites_that_drop_a_variable_are_rejected_not_scored) {
  scripted_context ctx(10, {reply({{"Be concise.", "Answer the question."}, {"Use digits.", "{{ question }}"}})});
  meta_prompt opt({.prompts_per_round = 2, .no_improvement_rounds = 1});
  run(opt, ctx);
  ASSERT_EQ(ctx.evaluations.size(), 2u);  // baseline + the rewrite that kept {{question}}
  EXPECT_EQ(ctx.evaluated(1).messages[0].content, "Use digits.");
  EXPECT_THAT(ctx.logs, ::testing::Contains(HasSubstr("rejected: a rewrite dropped {{question}}")));
}

TEST(meta_prompt, stops_after_rounds_without_improvement) {
  scripted_context ctx(50, {reply({{"Nope.", "{{question}}"}}), reply({{"Still no.", "{{question}}"}}),
                            reply({{"Be concise.", "{{question}}"}})});
  meta_prompt opt({.prompts_per_round = 1, .no_improvement_rounds = 2});
  auto out = run(opt, ctx);
  EXPECT_EQ(out.reason, core::finish_reason::no_improvement);
  EXPECT_EQ(ctx.evaluations.size(), 3u);
}

TEST(meta_prompt, never_exceeds_max_trials_and_skips_duplicates) {
  scripted_context ctx(3, {reply({{"Answer.", "{{question}}"}, {"A.", "{{question}}"}, {"B.", "{{question}}"},
                                  {"C.", "{{question}}"}})});
  meta_prompt opt({.prompts_per_round = 4});
  auto out = run(opt, ctx);
  EXPECT_EQ(out.reason, core::finish_reason::max_trials);
  ASSERT_EQ(ctx.evaluations.size(), 3u);  // the rewrite equal to the baseline was not re-evaluated
  EXPECT_EQ(ctx.evaluated(1).messages[0].content, "A.");
}

TEST(meta_prompt, unparsable_replies_and_failed_calls_count_as_rounds_without_improvement) {
  scripted_context ctx(10, {"I think you should be more concise!"});
  meta_prompt opt({.no_improvement_rounds = 2});
  auto out = run(opt, ctx);
  EXPECT_EQ(out.reason, core::finish_reason::no_improvement);
  EXPECT_EQ(ctx.evaluations.size(), 1u);
  EXPECT_THAT(ctx.logs, ::testing::Contains(HasSubstr("reasoning model failed")));
}

TEST(meta_prompt, parses_fenced_json_and_bare_message_lists) {
  std::vector<std::string> rejected;
  auto r = meta_prompt::parse_rewrites(
      "Here you go:\n```json\n{\"prompts\": [[{\"role\": \"user\", \"content\": \"{{q}}!\"}], "
      "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}]}\n```",
      {"q"}, rejected);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].content, "{{q}}!");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_THAT(rejected[0], HasSubstr("not a list of {role, content}"));
}

TEST(meta_prompt, stops_when_the_context_says_so) {
  scripted_context ctx(10, {});
  ctx.stop = true;
  meta_prompt opt({});
  EXPECT_EQ(run(opt, ctx).reason, core::finish_reason::budget);  // the engine says why
  EXPECT_EQ(ctx.evaluations.size(), 0u);
  EXPECT_TRUE(ctx.requests.empty());
}

}  // namespace
}  // namespace optd::plugins
