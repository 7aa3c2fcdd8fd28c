#pragma once
// evolutionary: Opik's EvolutionaryOptimizer on optd's engine (reference/optimizers.md §4). A
// population grows from the seed prompt (the seed, fresh prompts and variations the reasoning
// model writes); each generation selects parents (tournament with elitism, or NSGA-II on score
// against length when enable_moo), crosses consecutive pairs (by the model with
// enable_llm_crossover, else by sentences or words) and mutates offspring at an adaptive rate
// (the model's semantic rewrites, sentence-level restructuring, word-level edits). Every fitness
// is one trial, and max_trials caps them: once spent, an individual's fitness is −∞ unevaluated,
// as in Opik. The population restarts from its best after 3 stale generations and the run stops
// after 5 without a better best. A generation's new individuals are evaluated at once.
//
// Where optd differs from Opik, on purpose: an individual whose prompt was evaluated before (the
// seed, re-made by a mutation that changed nothing, …) takes that score instead of being bought
// again (it still counts as a trial, as in Opik); fit_population_to_budget (off by default)
// shrinks the population to half of max_trials, because with Studio's 10 trials and a
// population of 10 no generation ever runs.
#include <string>

#include "core/optimizer.hpp"

namespace optd::plugins {

struct evolutionary_settings {
  std::string model;  // the reasoning model
  nlohmann::json model_parameters = nlohmann::json::object();
  int population_size = 30;
  int num_generations = 15;
  double mutation_rate = 0.2;
  double crossover_rate = 0.8;
  int tournament_size = 4;
  int elitism_size = 3;
  bool adaptive_mutation = true;
  bool enable_moo = true;
  bool enable_llm_crossover = true;
  std::string output_style_guidance = "Produce clear, effective, and high-quality responses suitable for the task.";
  bool infer_output_style = false;
  bool skip_perfect_score = true;
  double perfect_score = 1.0;  // Opik's Studio pins 1.0 (the SDK: 0.95)
  bool fit_population_to_budget = false;

  static evolutionary_settings from(const core::run_spec& spec);
};

class evolutionary final : public core::optimizer {
 public:
  explicit evolutionary(evolutionary_settings s) : settings_(std::move(s)) {}
  boost::asio::awaitable<core::optimizer_outcome> run(core::optimizer_context& ctx, core::candidate baseline) override;

  // The model's requests (exposed for tests and llm-sim's rules), each with a response schema
  // named FreshPrompts, PromptVariations, PromptCrossover, MutatedPrompt, WordReplacement or
  // OutputStyle.
  core::chat_request population_request(const core::prompt_messages& prompt, int count, bool fresh,
                                        const std::string& style) const;
  core::chat_request crossover_request(const core::prompt_messages& a, const core::prompt_messages& b,
                                       const std::string& style) const;
  core::chat_request mutation_request(const core::prompt_messages& prompt, const std::string& strategy,
                                      const std::string& style) const;
  core::chat_request word_request(const std::string& word, const std::string& context, bool synonym) const;
  core::chat_request style_request(const std::vector<core::dataset_item>& examples) const;

 private:
  evolutionary_settings settings_;
};

}  // namespace optd::plugins
