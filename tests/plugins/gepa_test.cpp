// gepa against a scripted optimizer context: fixed scores, scripted reflections, no sockets.
#include "plugins/optimizers/gepa.hpp"

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/run_error.hpp"
#include "support/scripted_context.hpp"

namespace optd::plugins {
namespace {

using ::testing::HasSubstr;
using core::experiment_type;
using test::scripted_context;

constexpr auto alpha_beta = &scripted_context::alpha_beta;
constexpr auto trials = &scripted_context::trials;

int number_of(const core::dataset_item& item) { return std::stoi(item.data["answer"].get<std::string>()); }

core::prompt_messages seed_prompt() { return {{core::role::system, "Solve."}, {core::role::user, "{{question}}"}}; }

std::string fenced(std::string text) { return "Here is a better instruction:\n```\n" + text + "\n```\n"; }

gepa_settings settings() {
  gepa_settings s;
  s.model = "reflector";
  return s;
}

TEST(gepa_state, studio_minibatch_rule) {
  EXPECT_EQ(studio_minibatch_size(5, 10), 5u);
  EXPECT_EQ(studio_minibatch_size(20, 10), 5u);
  EXPECT_EQ(studio_minibatch_size(50, 10), 10u);
  EXPECT_EQ(studio_minibatch_size(200, 10), 25u);
  EXPECT_EQ(studio_minibatch_size(1000, 10), 25u);
  EXPECT_EQ(studio_minibatch_size(20, 1), 2u);  // the budget cap: ⌊1 · 20 / 10⌋
  EXPECT_EQ(studio_minibatch_size(3, 10), 3u);
}

TEST(gepa_state, the_sampler_covers_every_item_once_per_epoch_then_pads_with_the_least_used) {
  std::mt19937_64 rng(5);
  epoch_sampler s(7, 3);  // 7 items, batches of 3: each epoch is 9 slots, 2 of them padding
  std::map<std::size_t, int> seen;
  for (std::size_t i = 0; i < 3; ++i)
    for (auto id : s.next(i, rng)) ++seen[id];
  EXPECT_EQ(seen.size(), 7u);  // every item in the first epoch
  int twice = 0;
  for (auto [id, n] : seen) twice += n == 2;
  EXPECT_EQ(twice, 2);
  // The next epoch pads with items other than those already used twice.
  std::map<std::size_t, int> second;
  for (std::size_t i = 3; i < 6; ++i)
    for (auto id : s.next(i, rng)) ++second[id];
  for (auto [id, n] : second)
    if (n == 2) {
      EXPECT_EQ(seen[id], 1) << "item " << id << " padded twice in a row";
    }
  // The same seed, the same windows.
  std::mt19937_64 a(9), b(9);
  epoch_sampler sa(10, 4), sb(10, 4);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(sa.next(i, a), sb.next(i, b));
}

TEST(gepa_state, pareto_selection_draws_the_non_dominated_by_how_many_items_they_lead) {
  gepa_pool pool;
  pool.add({{}, {}, {1.0, 0.0, 0.0, 0.0}});   // leads item 0 alone
  pool.add({{}, {}, {0.0, 1.0, 1.0, 0.0}});   // leads items 1 and 2 alone
  pool.add({{}, {}, {0.0, 0.0, 0.0, 0.0}});   // leads nothing alone: dominated
  EXPECT_EQ(pool.fronts()[3], (std::set<int>{0, 1, 2}));
  EXPECT_EQ(pool.non_dominated(), (std::vector<int>{0, 1}));
  EXPECT_EQ(pool.current_best(), 1);
  std::mt19937_64 rng(3);
  std::map<int, int> drawn;
  for (int i = 0; i < 3000; ++i) ++drawn[pool.select(gepa_selection::pareto, rng)];
  EXPECT_EQ(drawn.count(2), 0u);
  // Program 0 leads items 0 and 3 (shared), program 1 items 1, 2 and 3: weights 2 and 3.
  EXPECT_NEAR(drawn[0] / 3000.0, 0.4, 0.04);
  EXPECT_NEAR(drawn[1] / 3000.0, 0.6, 0.04);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pool.select(gepa_selection::current_best, rng), 1);
}

TEST(gepa, a_strictly_better_child_on_the_minibatch_earns_a_full_trial_until_one_is_perfect) {
  scripted_context ctx(scripted_context::items(10), alpha_beta,
                       scripted_context::replies({fenced("Solve with alpha."), fenced("Solve with alpha and beta.")}),
                       trials(10));
  gepa opt(settings());
  auto out = ctx.run(opt, seed_prompt());
  EXPECT_EQ(out.reason, core::finish_reason::perfect_score);
  // The baseline; per iteration the parent's and the child's mini-batch and the child's full trial;
  // then the rescoring of both children (the seed's is the baseline).
  std::vector<experiment_type> types;
  for (const auto& e : ctx.evaluations) types.push_back(e.type);
  using enum core::experiment_type;
  EXPECT_EQ(types, (std::vector<experiment_type>{trial, mini_batch, mini_batch, trial, mini_batch, mini_batch, trial,
                                                 trial, trial}));
  // b = 5 for 10 items: mini-batches are 5 items, full trials all 10.
  EXPECT_EQ(ctx.evaluations[1].item_ids.size(), 5u);
  EXPECT_EQ(ctx.evaluations[1].item_ids, ctx.evaluations[2].item_ids);  // parent and child on the same items
  EXPECT_TRUE(ctx.evaluations[3].item_ids.empty());
  // Lineage in the metadata.
  const auto& child = ctx.evaluations[2].candidate;
  EXPECT_EQ(child.parent_ids, std::vector<std::string>{core::candidate(seed_prompt(), "").id()});
  EXPECT_EQ(child.step, 1);
  EXPECT_EQ(ctx.evaluations[5].candidate.step, 2);
  EXPECT_EQ(ctx.evaluations[1].metadata["configuration"]["gepa"]["phase"], "minibatch");
  EXPECT_EQ(ctx.evaluations[3].metadata["configuration"]["gepa"]["phase"], "validation");
  EXPECT_EQ(ctx.evaluations[1].metadata["capture_traces"], true);
  EXPECT_EQ(ctx.evaluations[6].candidate.messages[0].content, "Solve with alpha and beta.");
  EXPECT_EQ(ctx.results[6].score, 1.0);
  EXPECT_THAT(ctx.logs.back(), HasSubstr("best: candidate 2"));
  // The reflection saw the current text and the examples with Opik's feedback.
  ASSERT_EQ(ctx.requests.size(), 2u);
  EXPECT_EQ(ctx.requests[0].model, "reflector");
  const auto& text = ctx.requests[0].messages[0].content;
  EXPECT_THAT(text, HasSubstr("```\nSolve.\n```"));
  EXPECT_THAT(text, HasSubstr("## Generated Outputs\nwrong"));
  EXPECT_THAT(text, HasSubstr("## Feedback\nObserved score=0.0000. Expected answer: "));
  EXPECT_THAT(text, HasSubstr("## Inputs\n### text\nq"));
  EXPECT_EQ(ctx.budget.unit, "metric calls");
  EXPECT_EQ(ctx.budget.total, 100);
}

TEST(gepa, a_tie_on_the_minibatch_is_rejected_and_buys_no_full_trial) {
  // "Solve carefully." scores what "Solve." scores: rejected, however often it is proposed.
  scripted_context ctx(scripted_context::items(10), alpha_beta,
                       [](const core::chat_request&) { return fenced("Solve carefully."); }, trials(3));
  gepa opt(settings());
  auto out = ctx.run(opt, seed_prompt());
  EXPECT_EQ(out.reason, core::finish_reason::max_trials);
  EXPECT_EQ(ctx.counts().trials, 1);  // the baseline only; no rescoring: the seed is the only candidate
  // Budget 3 × 10 = 30 metric calls; the baseline counts 10 (as gepa's seed evaluation), each
  // iteration 2 × b with b = 3; gepa checks at the top of an iteration, so it may end past 30.
  EXPECT_EQ(ctx.counts().mini_batches, 8);
  EXPECT_EQ(ctx.counts().item_evaluations, 10 + 8 * 3);
  EXPECT_THAT(ctx.logs, ::testing::Contains(HasSubstr("rejected")));
}

TEST(gepa, stops_after_iterations_without_a_better_candidate) {
  auto s = settings();
  s.no_improvement_iterations = 2;
  scripted_context ctx(scripted_context::items(10), alpha_beta,
                       [](const core::chat_request&) { return fenced("Solve carefully."); }, trials(100));
  gepa opt(s);
  EXPECT_EQ(ctx.run(opt, seed_prompt()).reason, core::finish_reason::no_improvement);
  EXPECT_EQ(ctx.requests.size(), 2u);
}

TEST(gepa, stops_at_the_reflection_call_cap) {
  auto s = settings();
  s.max_reflection_calls = 1;
  scripted_context ctx(scripted_context::items(10), alpha_beta,
                       [](const core::chat_request&) { return fenced("Solve carefully."); }, trials(100));
  gepa opt(s);
  EXPECT_EQ(ctx.run(opt, seed_prompt()).reason, core::finish_reason::reflection_budget);
  EXPECT_EQ(ctx.requests.size(), 1u);
}

TEST(gepa, a_failed_minibatch_does_not_end_the_run_but_a_failed_baseline_does) {
  scripted_context ctx(scripted_context::items(10), alpha_beta,
                       scripted_context::replies({fenced("Solve, broken."), fenced("Solve with alpha and beta.")}),
                       trials(10));
  gepa opt(settings());
  EXPECT_EQ(ctx.run(opt, seed_prompt()).reason, core::finish_reason::perfect_score);
  EXPECT_TRUE(ctx.results[2].all_failed());  // the broken child: rejected, and the run went on

  scripted_context dead(scripted_context::items(4), alpha_beta, scripted_context::replies({}), trials(10));
  EXPECT_THROW(dead.run(opt, {{core::role::system, "broken"}, {core::role::user, "{{question}}"}}), core::run_error);
}

TEST(gepa, a_perfect_baseline_or_a_perfect_minibatch_asks_no_reflection) {
  scripted_context ctx(scripted_context::items(6), alpha_beta, scripted_context::replies({}), trials(10));
  gepa opt(settings());
  core::prompt_messages perfect{{core::role::system, "alpha beta"}, {core::role::user, "{{question}}"}};
  EXPECT_EQ(ctx.run(opt, perfect).reason, core::finish_reason::perfect_score);
  EXPECT_EQ(ctx.evaluations.size(), 1u);
  EXPECT_TRUE(ctx.requests.empty());
}

TEST(gepa, a_new_text_that_loses_a_variable_is_put_back_and_never_evaluated) {
  // Without a system message the user message is the one optimized; the reflection drops {{question}}.
  scripted_context ctx(scripted_context::items(10), alpha_beta,
                       [](const core::chat_request&) { return fenced("Answer the question with alpha."); }, trials(2));
  gepa opt(settings());
  ctx.run(opt, {{core::role::user, "Answer {{question}}"}});
  EXPECT_EQ(ctx.counts().trials, 1);
  for (const auto& e : ctx.evaluations) EXPECT_EQ(e.candidate.messages[0].content, "Answer {{question}}");
  EXPECT_THAT(ctx.logs, ::testing::Contains(HasSubstr("lost or added a {{variable}}")));
}

TEST(gepa, the_seed_stays_best_unless_strictly_beaten_in_the_rescoring) {
  // "alpha" gets the odd items right and the seed's "beta" the even ones: a child can win a
  // mini-batch and still only tie the seed on the whole sample.
  scripted_context ctx(scripted_context::items(10), alpha_beta,
                       scripted_context::replies({fenced("Solve with alpha.")}), trials(2));
  gepa opt(settings());
  ctx.run(opt, {{core::role::system, "Solve with beta."}, {core::role::user, "{{question}}"}});
  ASSERT_GE(ctx.counts().trials, 2);
  EXPECT_THAT(ctx.logs.back(), HasSubstr("best: the seed prompt"));
}

TEST(gepa, two_candidates_that_improved_different_messages_are_merged) {
  // Two system messages: odd items need "alpha" in the first, even ones "beta" in the second;
  // items 9 and 10 need the first message untouched, so the seed keeps a front of its own and is
  // chosen again as a parent.
  auto score = [](const core::prompt_messages& p, const core::dataset_item& item) -> scripted_context::scored {
    int k = number_of(item);
    bool right = k >= 9 ? p[0].content == "First." : k % 2 ? p[0].content.find("alpha") != std::string::npos
                                                           : p[1].content.find("beta") != std::string::npos;
    return {right ? "right" : "wrong", right ? 1.0 : 0.0, ""};
  };
  auto reflect = [](const core::chat_request& r) -> std::optional<std::string> {
    const auto& text = r.messages[0].content;
    return fenced(text.find("```\nFirst.") != std::string::npos ? "First. alpha" : "Second. beta");
  };
  auto s = settings();
  s.use_merge = true;
  s.no_improvement_iterations = 0;
  scripted_context ctx(scripted_context::items(10), score, reflect, trials(12), 4);
  gepa opt(s);
  ctx.run(opt, {{core::role::system, "First."}, {core::role::system, "Second."}, {core::role::user, "{{question}}"}});
  const core::evaluation_request* merged = nullptr;
  for (const auto& e : ctx.evaluations)
    if (e.metadata.contains("configuration") && e.metadata["configuration"]["gepa"].value("source", "") == "merge")
      merged = &e;
  ASSERT_NE(merged, nullptr) << "no merge was tried";
  EXPECT_EQ(merged->item_ids.size(), 5u);
  EXPECT_EQ(merged->candidate.messages[0].content, "First. alpha");
  EXPECT_EQ(merged->candidate.messages[1].content, "Second. beta");
  EXPECT_EQ(merged->candidate.parent_ids.size(), 2u);
}

TEST(gepa, rich_feedback_shows_every_field_and_each_metrics_reason) {
  auto s = settings();
  s.rich_feedback = true;
  gepa opt(s);
  core::dataset_item item{"i1", {{"question", "What is 2 + 2?"}, {"topic", "sums"}, {"answer", "4"}}};
  core::evaluation_result r;
  auto& i = r.items.emplace_back();
  i.item = &item;
  i.output = "Sure! The answer is four.";
  i.objective = 0.25;
  i.scores = {{"equals", 0.0, "No match: output does not equal reference"}, {"levenshtein_ratio", 0.5, "Similarity: 50%"}};
  auto text = opt.reflection_request("Answer.", r).messages[0].content;
  EXPECT_THAT(text, HasSubstr("### question\nWhat is 2 + 2?"));
  EXPECT_THAT(text, HasSubstr("### topic\nsums"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("### answer")));
  EXPECT_THAT(text, HasSubstr("Observed score=0.2500. Expected answer: 4"));
  EXPECT_THAT(text, HasSubstr("levenshtein_ratio 0.5000: Similarity: 50%"));

  gepa plain(settings());  // Opik's: only the question, no reasons
  auto opik = plain.reflection_request("Answer.", r).messages[0].content;
  EXPECT_THAT(opik, HasSubstr("### text\nWhat is 2 + 2?"));
  EXPECT_THAT(opik, ::testing::Not(HasSubstr("topic")));
  EXPECT_THAT(opik, ::testing::Not(HasSubstr("Similarity")));
}

}  // namespace
}  // namespace optd::plugins
