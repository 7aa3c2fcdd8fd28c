// evolutionary and its operators against a scripted optimizer context.
#include "plugins/optimizers/evolutionary.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plugins/optimizers/evolution_ops.hpp"
#include "support/scripted_context.hpp"

namespace optd::plugins {
namespace {

using ::testing::HasSubstr;
using test::scripted_context;

constexpr auto alpha_beta = &scripted_context::alpha_beta;
constexpr auto trials = &scripted_context::trials;
constexpr auto schema_of = &scripted_context::schema_of;

nlohmann::json prompt(const std::string& system) {
  return nlohmann::json::array({{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", "{{question}}"}}});
}

// Fresh prompts and variations from a fixed list, in turn; crossovers that keep every sentence
// of both parents; mutations that change nothing.
scripted_context::reasoner model(std::vector<std::string> texts) {
  auto next = std::make_shared<std::size_t>(0);
  return [texts, next](const core::chat_request& r) -> std::optional<std::string> {
    auto schema = schema_of(r);
    const auto& user = r.messages[1].content;
    if (schema == "FreshPrompts" || schema == "PromptVariations") {
      int count = std::stoi(user.substr(user.find("exactly ") + 8));
      auto list = nlohmann::json::array();
      for (int i = 0; i < count; ++i) list.push_back({{"prompt", prompt(texts[(*next)++ % texts.size()])}});
      return nlohmann::json{{"prompts", list}}.dump();
    }
    if (schema == "PromptCrossover") {
      auto p1 = nlohmann::json::parse(user.substr(user.find('['), user.find("\n\nParent 2") - user.find('[')));
      auto rest = user.substr(user.find("Parent 2:\n") + 10);
      auto p2 = nlohmann::json::parse(rest.substr(0, rest.find("\n\n")));
      auto both = p1;
      both[0]["content"] = p1[0]["content"].get<std::string>() + " " + p2[0]["content"].get<std::string>();
      return "Children:\n" + nlohmann::json{{"child_1", both}, {"child_2", p2}}.dump();
    }
    return std::nullopt;  // mutations fail: the individual stays as it was
  };
}

core::prompt_messages seed() { return {{core::role::system, "Solve."}, {core::role::user, "{{question}}"}}; }

TEST(evolution_ops, crossover_cuts_sentences_then_words) {
  std::mt19937_64 rng(1);
  auto s = crossover_texts("Use alpha. Be brief.", "Be kind. Use beta.", rng);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->first, "Use alpha. Use beta.");
  EXPECT_EQ(s->second, "Be kind. Be brief.");
  auto w = crossover_texts("one two", "three four", rng);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first, "one four");
  EXPECT_FALSE(crossover_texts("single", "words", rng));
}

TEST(evolution_ops, restructuring_keeps_every_word) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 50; ++i) {
    auto out = restructure("Answer the question now. Use digits. Be brief and exact please.", rng);
    ASSERT_TRUE(out);
    auto w = words(*out);
    std::string joined;
    for (auto& x : w) {
      std::erase(x, '.');
      if (x != "and") joined += x + " ";
    }
    for (const char* word : {"Answer", "digits", "exact", "please"}) EXPECT_THAT(joined, HasSubstr(word)) << *out;
  }
  EXPECT_FALSE(restructure("One sentence only", rng));
}

TEST(evolution_ops, selection_prefers_higher_scores_and_nsga2_shorter_prompts_at_equal_score) {
  std::vector<fitness> f{{0.2, 10, true}, {0.9, 50, true}, {0.9, 30, true}, {0.5, 5, true}};
  EXPECT_EQ(best_of(f, 2), (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(pareto_front(f), (std::vector<std::size_t>{2, 3}));  // 1 is as good but longer; 0 is dominated by 3
  auto picked = nsga2(f, 3);
  ASSERT_EQ(picked.size(), 3u);
  EXPECT_EQ(std::set<std::size_t>(picked.begin(), picked.begin() + 2), (std::set<std::size_t>{2, 3}));
  std::mt19937_64 rng(3);
  auto t = tournament(f, 200, 4, rng);
  EXPECT_GT(std::count_if(t.begin(), t.end(), [](auto i) { return i == 1 || i == 2; }), 120);
}

TEST(evolution_ops, the_mutation_rate_rises_when_progress_stalls_and_falls_when_it_is_fast) {
  int stagnation = 0;
  EXPECT_DOUBLE_EQ(adaptive_rate(0.2, {0.5}, 0.9, stagnation), 0.2);
  EXPECT_DOUBLE_EQ(adaptive_rate(0.2, {0.5, 0.6}, 0.9, stagnation), 0.16);  // +20%: slower
  EXPECT_DOUBLE_EQ(adaptive_rate(0.2, {0.5, 0.5}, 0.9, stagnation), 0.2 * 1.5);
  EXPECT_DOUBLE_EQ(adaptive_rate(0.2, {0.5, 0.5}, 0.1, stagnation), 0.4);  // and low diversity: ×2, capped
  EXPECT_DOUBLE_EQ(adaptive_rate(0.1, {0.5, 0.5}, 0.9, stagnation), 0.25);  // the third stale one: ×2.5
  EXPECT_NEAR(diversity({"abc", "abc"}), 0.0, 1e-9);
  EXPECT_NEAR(diversity({"abc", "xyz"}), 1.0, 1e-9);
}

TEST(evolutionary, with_studios_ten_trials_and_a_population_of_ten_no_generation_runs) {
  std::vector<std::string> distinct;
  for (int i = 1; i <= 12; ++i) distinct.push_back("Solve way " + std::to_string(i) + ".");
  scripted_context ctx(scripted_context::items(6), alpha_beta, model(distinct), trials(10));
  evolutionary_settings s;
  s.population_size = 10;
  s.num_generations = 5;
  evolutionary opt(s);
  EXPECT_EQ(ctx.run(opt, seed()).reason, core::finish_reason::max_trials);
  // The seed counts as one of the ten (its score is the baseline's); the other nine are bought.
  EXPECT_EQ(ctx.budget.used, 10);
  EXPECT_LE(ctx.evaluations.size(), 1u + 9u);
  for (const auto& r : ctx.requests) EXPECT_NE(schema_of(r), "PromptCrossover");
  EXPECT_THAT(ctx.logs, ::testing::Not(::testing::Contains(HasSubstr("generation 1:"))));
}

TEST(evolutionary, generations_combine_what_different_individuals_got_right) {
  scripted_context ctx(scripted_context::items(8), alpha_beta, model({"Use alpha.", "Use beta.", "Be kind."}), trials(60));
  evolutionary_settings s;
  s.population_size = 6;
  s.num_generations = 5;
  s.enable_moo = false;
  s.elitism_size = 1;
  s.tournament_size = 2;
  s.crossover_rate = 1.0;
  evolutionary opt(s);
  auto out = ctx.run(opt, seed());
  EXPECT_EQ(out.reason, core::finish_reason::perfect_score);
  double best = 0;
  for (const auto& r : ctx.results) best = std::max(best, r.score.value_or(0));
  EXPECT_EQ(best, 1.0);
  // Every fitness is a trial of the whole sample, and none is bought twice.
  std::set<std::string> prompts;
  for (const auto& e : ctx.evaluations) {
    EXPECT_EQ(e.type, core::experiment_type::trial);
    EXPECT_TRUE(e.item_ids.empty());
    EXPECT_TRUE(prompts.insert(core::to_json(e.candidate.messages).dump()).second);
  }
  EXPECT_LE(ctx.budget.used, 60);
}

TEST(evolutionary, fitting_the_population_to_the_budget_leaves_trials_for_generations) {
  scripted_context ctx(scripted_context::items(6), alpha_beta,
                       model({"Use alpha. Be brief.", "Be kind. Use beta.", "Be calm.", "Be quick."}), trials(10));
  evolutionary_settings s;
  s.population_size = 10;
  s.fit_population_to_budget = true;
  s.enable_moo = false;
  s.crossover_rate = 1.0;
  evolutionary opt(s);
  ctx.run(opt, seed());
  EXPECT_THAT(ctx.logs, ::testing::Contains(HasSubstr("generation 0: 5 individuals")));
  EXPECT_THAT(ctx.logs, ::testing::Contains(HasSubstr("generation 1:")));
}

}  // namespace
}  // namespace optd::plugins
