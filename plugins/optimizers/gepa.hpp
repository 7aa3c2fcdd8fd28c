#pragma once
// gepa: Opik's GepaOptimizer (the `gepa` package, 0.1.1) on optd's engine
// (reference/optimizers.md §2). After the baseline, each iteration selects a parent from the pool
// (per-item Pareto front, or another strategy), evaluates it on a reflection mini-batch (a
// `mini-batch` experiment), asks the reflection model for a new instruction from those examples,
// evaluates the child on the same mini-batch, and keeps it only when its sum there is strictly
// higher; a kept child is evaluated on the whole sample (a `trial`) and joins the pool. With
// use_merge, two candidates that improved different messages are merged. The budget is in
// metric calls: max_trials × items (Opik's), the baseline and the final rescoring outside it.
// At the end every candidate is scored again as a trial, and the best must beat the baseline
// strictly, else the seed prompt stays best.
//
// Where optd differs from Opik, on purpose: gepa's own first evaluation of the seed reuses the
// baseline's results (the same prompt on the same items; counted in the budget as gepa counts
// it), and so does the seed's rescoring, so that the seed is never evaluated three times; a child
// identical to its parent is rejected without its mini-batch being bought (but counted).
#include <optional>
#include <string>

#include "core/optimizer.hpp"
#include "plugins/optimizers/gepa_state.hpp"

namespace optd::plugins {

struct gepa_settings {
  std::string model;  // the reflection model
  nlohmann::json model_parameters = nlohmann::json::object();
  bool skip_perfect_score = true;
  double perfect_score = 1.0;                        // Opik's Studio pins 1.0 (the SDK: 0.95)
  std::optional<std::size_t> reflection_minibatch_size;  // none: Studio's rule
  gepa_selection selection = gepa_selection::pareto;
  bool use_merge = false;
  int max_merge_invocations = 5;
  int no_improvement_iterations = 10;  // 0: never stop for that
  int max_reflection_calls = 0;        // 0: no cap
  bool raise_on_exception = true;      // an empty reflection ends the run (EmptyLLMResponseError)
  // "opik": the reflection sees what Opik's adapter gives it (the item's input or question, the
  // answer, "Observed score=…. Expected answer: <answer>"); "rich": every field of the item, each
  // metric's score and reason, and the expected answer under the metric's reference_key.
  bool rich_feedback = false;
  std::string reference_key = "answer";  // for rich feedback: the first reference metric's
  std::string reflection_template;       // with <curr_param> and <side_info>; empty: optd's own

  static gepa_settings from(const core::run_spec& spec);
};

class gepa final : public core::optimizer {
 public:
  explicit gepa(gepa_settings settings) : settings_(std::move(settings)) {}
  boost::asio::awaitable<core::optimizer_outcome> run(core::optimizer_context& ctx, core::candidate baseline) override;

  // The reflection request for one component (exposed for tests and llm-sim's rules): the
  // template with the current text at <curr_param> and the rendered examples at <side_info>.
  core::chat_request reflection_request(const std::string& current, const core::evaluation_result& minibatch) const;

 private:
  gepa_settings settings_;
};

}  // namespace optd::plugins
