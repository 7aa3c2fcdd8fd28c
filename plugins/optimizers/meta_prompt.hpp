#pragma once
// meta_prompt: the baseline prompt is trial 1; then, round after round, the reasoning model sees
// the best prompt so far with scored examples (worst first) and proposes rewrites, each evaluated
// as a trial. A rewrite that loses a {{variable}} of the original prompt is rejected unscored.
// Stops on max_trials, a perfect score, or `no_improvement_rounds` rounds without a better trial.
#include <optional>

#include "core/optimizer.hpp"

namespace optd::plugins {

struct meta_prompt_settings {
  int prompts_per_round = 3;
  int examples_per_round = 6;
  int no_improvement_rounds = 2;
  double perfect_score = 1.0;
  std::string model{};  // the reasoning model
  nlohmann::json model_parameters = nlohmann::json::object();

  static meta_prompt_settings from(const core::optimizer_spec& spec, const std::string& default_model);
};

class meta_prompt final : public core::optimizer {
 public:
  explicit meta_prompt(meta_prompt_settings settings) : settings_(std::move(settings)) {}
  boost::asio::awaitable<core::optimizer_outcome> run(core::optimizer_context& ctx, core::candidate baseline) override;

  // The reasoning request for one round (exposed for tests and documented in llm-sim's README).
  core::chat_request reasoning_request(const core::prompt_messages& best, double best_score,
                                       std::vector<const core::item_result*> examples, int wanted,
                                       const std::vector<std::string>& variables) const;

  // Candidates from the reasoning model's reply; `rejected` receives a reason per refused one.
  static std::vector<core::prompt_messages> parse_rewrites(const std::string& reply,
                                                           const std::vector<std::string>& variables,
                                                           std::vector<std::string>& rejected);

 private:
  meta_prompt_settings settings_;
};

}  // namespace optd::plugins
