// meta_prompt against a scripted optimizer_context: no sockets, no engine.
#include "plugins/optimizers/meta_prompt.hpp"

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace optd::plugins {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;

// Scores a prompt by how many of the wanted phrases its system message has; the reasoning model
// answers from a script of replies.
class scripted_context final : public core::optimizer_context {
 public:
  scripted_context(int max_trials, std::vector<std::string> replies)
      : max_trials_(max_trials), replies_(std::move(replies)) {}

  asio::awaitable<core::trial_result> evaluate(core::candidate c) override {
    evaluated.push_back(c);
    core::trial_result r;
    r.number = static_cast<int>(evaluated.size());
    std::string sys = c.messages.empty() ? "" : c.messages.front().content;
    r.score = (sys.find("concise") != std::string::npos ? 0.5 : 0.0) + (sys.find("digits") != std::string::npos ? 0.5 : 0.0);
    for (int i = 0; i < 4; ++i)
      r.examples.push_back({{{"question", "q" + std::to_string(i)}, {"answer", std::to_string(i)}},
                            i == 2 ? "wrong" : std::to_string(i), i == 2 ? 0.0 : 1.0, i == 2 ? "bad" : "good"});
    co_return r;
  }
  asio::awaitable<core::completion_result> reason(core::chat_request request) override {
    requests.push_back(request);
    if (next_reply_ >= replies_.size()) co_return core::llm_error{core::errc::provider_unavailable, "no more", 503, 1};
    core::completion c;
    c.text = replies_[next_reply_++];
    co_return c;
  }
  int trials_left() const noexcept override { return max_trials_ - static_cast<int>(evaluated.size()); }
  bool should_stop() const noexcept override { return stop; }
  std::mt19937_64& rng() noexcept override { return rng_; }
  void log(std::string_view line) override { logs.emplace_back(line); }

  std::vector<core::candidate> evaluated;
  std::vector<core::chat_request> requests;
  std::vector<std::string> logs;
  bool stop = false;

 private:
  int max_trials_;
  std::vector<std::string> replies_;
  std::size_t next_reply_ = 0;
  std::mt19937_64 rng_{1};
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

core::optimizer_outcome run(meta_prompt& opt, scripted_context& ctx) {
  asio::io_context ioc;
  return *test::run(ioc, opt.run(ctx, baseline()));
}

TEST(meta_prompt, baseline_first_then_rewrites_until_perfect) {
  scripted_context ctx(10, {reply({{"Be concise.", "{{question}}"}, {"Nothing new.", "{{question}}"}}),
                            reply({{"Be concise. Use digits.", "{{question}}"}})});
  meta_prompt opt({.prompts_per_round = 2});
  auto out = run(opt, ctx);
  EXPECT_EQ(out.reason, core::finish_reason::perfect_score);
  ASSERT_EQ(ctx.evaluated.size(), 4u);
  EXPECT_EQ(ctx.evaluated[0].origin, "baseline");
  EXPECT_EQ(ctx.evaluated[1].origin, "round 1 rewrite 1");
  EXPECT_EQ(ctx.evaluated[3].messages[0].content, "Be concise. Use digits.");
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
  ASSERT_EQ(ctx.evaluated.size(), 2u);  // baseline + the rewrite that kept {{question}}
  EXPECT_EQ(ctx.evaluated[1].messages[0].content, "Use digits.");
  EXPECT_THAT(ctx.logs, ::testing::Contains(HasSubstr("rejected: a rewrite dropped {{question}}")));
}

TEST(meta_prompt, stops_after_rounds_without_improvement) {
  scripted_context ctx(50, {reply({{"Nope.", "{{question}}"}}), reply({{"Still no.", "{{question}}"}}),
                            reply({{"Be concise.", "{{question}}"}})});
  meta_prompt opt({.prompts_per_round = 1, .no_improvement_rounds = 2});
  auto out = run(opt, ctx);
  EXPECT_EQ(out.reason, core::finish_reason::no_improvement);
  EXPECT_EQ(ctx.evaluated.size(), 3u);
}

TEST(meta_prompt, never_exceeds_max_trials_and_skips_duplicates) {
  scripted_context ctx(3, {reply({{"Answer.", "{{question}}"}, {"A.", "{{question}}"}, {"B.", "{{question}}"},
                                  {"C.", "{{question}}"}})});
  meta_prompt opt({.prompts_per_round = 4});
  auto out = run(opt, ctx);
  EXPECT_EQ(out.reason, core::finish_reason::max_trials);
  ASSERT_EQ(ctx.evaluated.size(), 3u);  // the rewrite equal to the baseline was not re-evaluated
  EXPECT_EQ(ctx.evaluated[1].messages[0].content, "A.");
}

TEST(meta_prompt, unparsable_replies_and_failed_calls_count_as_rounds_without_improvement) {
  scripted_context ctx(10, {"I think you should be more concise!"});
  meta_prompt opt({.no_improvement_rounds = 2});
  auto out = run(opt, ctx);
  EXPECT_EQ(out.reason, core::finish_reason::no_improvement);
  EXPECT_EQ(ctx.evaluated.size(), 1u);
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
  EXPECT_EQ(run(opt, ctx).reason, core::finish_reason::budget);
  EXPECT_EQ(ctx.evaluated.size(), 1u);  // the baseline always runs
}

}  // namespace
}  // namespace optd::plugins
