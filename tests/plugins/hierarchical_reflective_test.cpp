// hierarchical_reflective against a scripted optimizer context: fixed scores, a scripted
// reasoning model that answers each kind of request by its response schema.
#include "plugins/optimizers/hierarchical_reflective.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/run_error.hpp"
#include "support/scripted_context.hpp"

namespace optd::plugins {
namespace {

using ::testing::HasSubstr;
using test::scripted_context;

constexpr auto alpha_beta = &scripted_context::alpha_beta;
constexpr auto trials = &scripted_context::trials;
constexpr auto schema_of = &scripted_context::schema_of;

std::string modes(const char* key, std::vector<std::string> names) {
  auto list = nlohmann::json::array();
  for (const auto& n : names) list.push_back({{"name", n}, {"description", "answers " + n}, {"root_cause", "the prompt lacks it"}});
  return nlohmann::json{{key, list}}.dump();
}

// The reasoning model: failure modes from the reasons it is shown (only the first, with
// `first_only`); a rewrite that adds the word its failure mode names (or `fixed`, when given).
scripted_context::reasoner model(std::optional<std::string> fixed = std::nullopt, bool first_only = false) {
  return [fixed, first_only](const core::chat_request& r) -> std::optional<std::string> {
    auto schema = schema_of(r);
    const auto& text = r.messages.back().content;
    if (schema == "RootCauseAnalysis") {
      std::vector<std::string> found;
      for (const char* word : {"alpha", "beta"})
        if (text.find(std::string("needs ") + word) != std::string::npos) found.push_back(std::string("needs ") + word);
      if (first_only && found.size() > 1) found.resize(1);
      return modes("failure_modes", found);
    }
    if (schema == "HierarchicalRootCauseAnalysis") {
      std::vector<std::string> found;
      for (const char* word : {"needs alpha", "needs beta"})
        if (text.find(word) != std::string::npos) found.push_back(word);
      return "```json\n" + modes("unified_failure_modes", found) + "\n```";  // fenced, as models do
    }
    auto prompt = nlohmann::json::parse(text.substr(text.find('['), text.find("\n\nFailure mode") - text.find('[')));
    auto mode = text.substr(text.find("Failure mode: ") + 14);
    mode = mode.substr(0, mode.find('\n'));
    prompt[0]["content"] = prompt[0]["content"].get<std::string>() + " " + fixed.value_or(mode.substr(6));
    return nlohmann::json{{"reasoning", "add what is missing"}, {"messages", prompt}}.dump();
  };
}

core::prompt_messages seed() { return {{core::role::system, "Solve."}, {core::role::user, "{{question}}"}}; }

hierarchical_reflective_settings settings() {
  hierarchical_reflective_settings s;
  s.model = "reasoner";
  s.batch_size = 4;
  s.max_parallel_batches = 2;
  return s;
}

TEST(hierarchical_reflective, analyses_batches_synthesizes_and_fixes_each_failure_mode_in_turn) {
  scripted_context ctx(scripted_context::items(10), alpha_beta, model(), trials(10));
  hierarchical_reflective opt(settings());
  auto out = ctx.run(opt, seed());
  EXPECT_EQ(out.reason, core::finish_reason::perfect_score);
  // 10 cases in batches of 4: three analyses, two at once then one; a synthesis; a rewrite per mode.
  EXPECT_EQ(ctx.reasoning_batches, (std::vector<std::size_t>{2, 1, 1, 1, 1}));
  EXPECT_EQ(schema_of(ctx.requests[0]), "RootCauseAnalysis");
  EXPECT_EQ(schema_of(ctx.requests[3]), "HierarchicalRootCauseAnalysis");
  EXPECT_EQ(schema_of(ctx.requests[4]), "ImprovedPrompt");
  // The analysis of the baseline reuses its results: the baseline and the two rewrites, no more.
  ASSERT_EQ(ctx.evaluations.size(), 3u);
  for (const auto& e : ctx.evaluations) EXPECT_EQ(e.type, core::experiment_type::trial);
  EXPECT_EQ(ctx.evaluations[1].candidate.messages[0].content, "Solve. alpha");
  EXPECT_EQ(ctx.evaluations[2].candidate.messages[0].content, "Solve. alpha beta");  // from the new best
  EXPECT_EQ(ctx.evaluations[2].candidate.parent_ids, std::vector<std::string>{ctx.evaluations[1].candidate.id()});
  EXPECT_EQ(ctx.evaluations[2].candidate.step, 2);
  // What the analysts see: ids, scores, reasons; not the output.
  const auto& analysis = ctx.requests[0].messages[1].content;
  EXPECT_THAT(analysis, HasSubstr("Test Case #1 (ID: item-1, Trial: experiment-1)\n  score: 0.000\n    Reason: needs alpha"));
  EXPECT_THAT(analysis, ::testing::Not(HasSubstr("Output:")));
  EXPECT_EQ(ctx.requests[0].parameters["seed"], 42);
  EXPECT_EQ(ctx.requests[4].parameters["seed"], 42);
}

TEST(hierarchical_reflective, a_mode_gets_max_retries_plus_one_attempts_then_a_flat_round_ends_the_run) {
  scripted_context ctx(scripted_context::items(6), alpha_beta, model("gamma"), trials(50));
  auto s = settings();
  s.max_retries = 1;
  hierarchical_reflective opt(s);
  auto out = ctx.run(opt, seed());
  EXPECT_EQ(out.reason, core::finish_reason::no_improvement);
  // Two modes × two attempts; each attempt's seed is another thousand on.
  int rewrites = 0;
  std::vector<int> seeds;
  for (const auto& r : ctx.requests)
    if (schema_of(r) == "ImprovedPrompt") {
      ++rewrites;
      seeds.push_back(r.parameters["seed"].get<int>());
    }
  EXPECT_EQ(rewrites, 4);
  EXPECT_EQ(seeds, (std::vector<int>{42, 1042, 42, 1042}));
  // The same rewrite ("Solve. gamma") is evaluated once; the other three take its score.
  EXPECT_EQ(ctx.evaluations.size(), 2u);
}

TEST(hierarchical_reflective, max_trials_counts_the_rewrites_not_the_baseline) {
  scripted_context ctx(scripted_context::items(6), alpha_beta, model("gamma"), trials(2));
  hierarchical_reflective opt(settings());
  EXPECT_EQ(ctx.run(opt, seed()).reason, core::finish_reason::max_trials);
  EXPECT_EQ(ctx.budget.used, 2);
  EXPECT_EQ(ctx.budget.total, 2);
  EXPECT_EQ(ctx.budget.unit, "rewrites");
}

TEST(hierarchical_reflective, a_round_from_zero_ends_the_run_as_in_opik_unless_convergence_is_absolute) {
  // One failure mode a round: round 1 fixes "alpha" (0 → 0.5), round 2 would fix "beta".
  auto run = [](bool absolute) {
    scripted_context ctx(scripted_context::items(6), alpha_beta, model(std::nullopt, true), trials(10));
    auto s = settings();
    s.absolute_convergence = absolute;
    hierarchical_reflective opt(s);
    auto out = ctx.run(opt, seed());
    return std::make_pair(out.reason, ctx.results.back().score.value_or(0));
  };
  // Opik's relative gain from a baseline of 0 is 0, whatever round 1 achieved: the run stops.
  EXPECT_EQ(run(false), std::make_pair(core::finish_reason::no_improvement, 0.5));
  EXPECT_EQ(run(true), std::make_pair(core::finish_reason::perfect_score, 1.0));
}

TEST(hierarchical_reflective, the_analysts_see_outputs_and_expected_answers_only_when_asked) {
  auto s = settings();
  s.analyze_outputs = true;
  hierarchical_reflective opt(s);
  core::dataset_item item{"item-7", {{"question", "What is 2 + 2?"}, {"answer", "4"}}};
  core::evaluation_result r;
  r.experiment_id = "exp";
  auto& i = r.items.emplace_back();
  i.item = &item;
  i.output = "Sure! The answer is four.";
  i.scores = {{"equals", 0.0, "No match: output does not equal reference"}};
  auto text = opt.analysis_request(r, 0, 1).messages[1].content;
  EXPECT_THAT(text, HasSubstr("Test Case #1 (ID: item-7, Trial: exp)\n  equals: 0.000\n    Reason: No match"));
  EXPECT_THAT(text, HasSubstr("Input: {\"question\":\"What is 2 + 2?\"}\n  Output: Sure! The answer is four.\n  Expected: 4"));
}

TEST(hierarchical_reflective, without_any_reason_there_is_nothing_to_analyse) {
  auto silent = [](const core::prompt_messages&, const core::dataset_item&) { return scripted_context::scored{"x", 0.5, ""}; };
  scripted_context ctx(scripted_context::items(4), silent, model(), trials(10));
  hierarchical_reflective opt(settings());
  try {
    ctx.run(opt, seed());
    ADD_FAILURE() << "expected a run error";
  } catch (const core::run_error& e) {
    EXPECT_EQ(e.type(), "ValueError");
    EXPECT_THAT(e.what(), HasSubstr("none of the 4 results has one"));
  }
}

TEST(hierarchical_reflective, rewrites_change_only_system_messages_and_keep_variables) {
  auto rewrite = [](const core::chat_request& r) -> std::optional<std::string> {
    auto schema = schema_of(r);
    if (schema == "RootCauseAnalysis") return modes("failure_modes", {"needs alpha"});
    if (schema == "HierarchicalRootCauseAnalysis") return modes("unified_failure_modes", {"needs alpha"});
    return nlohmann::json{{"reasoning", "r"},
                          {"messages", {{{"role", "system"}, {"content", "Solve alpha {{answer}}."}},
                                        {{"role", "user"}, {"content", "Just answer."}},
                                        {{"role", "assistant"}, {"content", "extra"}}}}}
        .dump();
  };
  scripted_context ctx(scripted_context::items(4), alpha_beta, rewrite, trials(1));
  hierarchical_reflective opt(settings());
  ctx.run(opt, seed());
  ASSERT_EQ(ctx.evaluations.size(), 1u);  // the rewrite leaked {{answer}}: the seed's text is kept, nothing to evaluate anew
  EXPECT_EQ(ctx.budget.used, 1);
}

TEST(hierarchical_reflective, with_a_screening_sample_a_better_rewrite_is_then_evaluated_on_every_item) {
  auto s = settings();
  s.n_samples_minibatch = 4;
  scripted_context ctx(scripted_context::items(10), alpha_beta, model(), trials(10));
  hierarchical_reflective opt(s);
  ctx.run(opt, seed());
  ASSERT_GE(ctx.evaluations.size(), 4u);
  EXPECT_EQ(ctx.evaluations[1].type, core::experiment_type::mini_batch);  // the seed on the screening items
  EXPECT_EQ(ctx.evaluations[1].item_ids.size(), 4u);
  EXPECT_EQ(ctx.evaluations[2].type, core::experiment_type::mini_batch);  // a rewrite, screened
  EXPECT_EQ(ctx.evaluations[2].item_ids, ctx.evaluations[1].item_ids);
  EXPECT_EQ(ctx.evaluations[3].type, core::experiment_type::trial);       // better: every item
  EXPECT_EQ(ctx.evaluations[3].candidate.messages, ctx.evaluations[2].candidate.messages);
}

}  // namespace
}  // namespace optd::plugins
