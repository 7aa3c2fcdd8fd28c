#pragma once
// The optimizer plugin interface. An optimizer is a coroutine that proposes candidate prompts and
// awaits their scores through an optimizer_context; the engine owns evaluation, budgets, storage
// and cancellation, so an optimizer can be tested with a scripted context and no sockets.
#include <random>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/llm.hpp"
#include "core/run_spec.hpp"

namespace optd::core {

struct candidate {
  prompt_messages messages;
  std::string origin;  // "baseline", "round 2 rewrite 1", … shown in results
};

struct scored_example {
  nlohmann::json data;   // the dataset item's data
  std::string output;    // the LLM's answer, or empty on error
  double score = 0;      // objective
  std::string reason;    // metric reasons, joined
};

struct trial_result {
  int number = 0;        // 1-based, the baseline is trial 1
  double score = 0;      // mean objective over the sample
  std::vector<scored_example> examples;
};

enum class finish_reason { max_trials, perfect_score, no_improvement, budget, cancelled, error };
std::string_view to_string(finish_reason r) noexcept;

class optimizer_context {
 public:
  virtual ~optimizer_context() = default;
  // Evaluates a candidate on the run's sample as one trial.
  virtual boost::asio::awaitable<trial_result> evaluate(candidate c) = 0;
  // Asks the reasoning model; the call is journaled and costed like any other.
  virtual boost::asio::awaitable<completion_result> reason(chat_request request) = 0;
  // Trials the optimizer may still start (max_trials minus those done).
  virtual int trials_left() const noexcept = 0;
  // True once the run must stop: cancellation, max_duration or max_cost_usd.
  virtual bool should_stop() const noexcept = 0;
  virtual std::mt19937_64& rng() noexcept = 0;
  virtual void log(std::string_view line) = 0;
};

struct optimizer_outcome {
  finish_reason reason = finish_reason::max_trials;
  std::string detail;
};

class optimizer {
 public:
  virtual ~optimizer() = default;
  virtual boost::asio::awaitable<optimizer_outcome> run(optimizer_context& ctx, candidate baseline) = 0;
};

}  // namespace optd::core
