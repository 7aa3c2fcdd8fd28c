#pragma once
// hierarchical_reflective: Opik's HierarchicalReflectiveOptimizer (HRPO) on optd's engine
// (reference/optimizers.md §3). Round after round: the current best prompt's results are split
// into batches of `batch_size` test cases, each analysed by the reasoning model for failure modes
// (at most `max_parallel_batches` at once); one more call merges them into unified failure modes;
// then, mode by mode, the model rewrites the best prompt to fix it, up to max_retries + 1 times,
// each rewrite evaluated as a trial and kept when it scores strictly higher. A round whose
// relative gain is under `convergence_threshold` ends the run. `max_trials` counts the rewrites
// evaluated, as Opik's does.
//
// Where optd differs from Opik, on purpose: the analysis of a round uses the results the best
// prompt already has (Opik evaluates it again, on the same items); a rewrite equal to a prompt
// already evaluated takes that prompt's score instead of being bought again (it still counts as
// a trial, as in Opik); with n_samples_minibatch below the sample, rewrites are screened on that
// many items (a mini-batch) and a kept one is evaluated on the whole sample (a trial).
#include <optional>
#include <string>

#include "core/optimizer.hpp"

namespace optd::plugins {

struct hierarchical_reflective_settings {
  std::string model;  // the reasoning model: reasoning_model, else model, else the task model
  nlohmann::json model_parameters = nlohmann::json::object();
  int max_parallel_batches = 5;
  int batch_size = 25;
  double convergence_threshold = 0.01;
  int max_retries = 2;                     // attempts per failure mode: max_retries + 1
  std::optional<int> n_samples_minibatch;  // none: the whole sample
  bool skip_perfect_score = true;
  double perfect_score = 1.0;  // Opik's Studio pins 1.0 (the SDK: 0.95)
  std::uint64_t seed = 42;
  // Opik's analysts see each case's scores and reasons only; with this they also see its input,
  // the output and the expected answer (under the metric's reference_key).
  bool analyze_outputs = false;
  std::string reference_key = "answer";
  // Opik's convergence test is on the relative gain, which is 0 after a round that starts at 0
  // (so such a run ends after one round); "absolute" compares the gain itself.
  bool absolute_convergence = false;

  static hierarchical_reflective_settings from(const core::run_spec& spec);
};

class hierarchical_reflective final : public core::optimizer {
 public:
  explicit hierarchical_reflective(hierarchical_reflective_settings s) : settings_(std::move(s)) {}
  boost::asio::awaitable<core::optimizer_outcome> run(core::optimizer_context& ctx, core::candidate baseline) override;

  struct failure_mode {
    std::string name, description, root_cause;
  };
  // The requests of a round (exposed for tests and llm-sim's rules): one batch's analysis, the
  // synthesis of all batches, and the rewrite of `prompt` for one failure mode.
  core::chat_request analysis_request(const core::evaluation_result& result, std::size_t first, std::size_t count) const;
  core::chat_request synthesis_request(const std::vector<std::vector<failure_mode>>& batches,
                                       const std::vector<std::pair<std::size_t, std::size_t>>& ranges) const;
  core::chat_request improve_request(const core::prompt_messages& prompt, const failure_mode& mode, int attempt) const;
  // Failure modes in a reply ({"failure_modes": […]} or {"unified_failure_modes": […]}).
  static std::optional<std::vector<failure_mode>> parse_failure_modes(const std::string& reply, const char* key);

 private:
  hierarchical_reflective_settings settings_;
};

}  // namespace optd::plugins
