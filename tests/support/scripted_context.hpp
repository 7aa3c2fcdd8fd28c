#pragma once
// An optimizer_context in memory, for optimizers' unit tests: a sample of items, a scorer that
// gives each (prompt, item) an output and a score, a reasoning model that answers from a script,
// and a record of everything asked, counted as the engine counts it. No sockets, no store, no
// clock: an optimizer's decisions (selection, acceptance, budgets, stopping) are checked against
// fixed scores.
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/optimizer.hpp"

namespace optd::test {

class scripted_context : public core::optimizer_context {
 public:
  struct scored {
    std::string output;
    double value = 0;
    std::string reason;
    bool failed = false;  // the call failed: no output, no score
  };
  // The task model and the metric together: what a prompt gives on an item.
  using scorer = std::function<scored(const core::prompt_messages& prompt, const core::dataset_item& item)>;
  // The reasoning model: a reply, or nullopt for a call that fails.
  using reasoner = std::function<std::optional<std::string>(const core::chat_request& request)>;

  scripted_context(std::vector<core::dataset_item> sample, scorer score, reasoner reason, core::run_limits limits = {},
                   std::uint64_t seed = 1);

  // Items "item-1" … "item-n" with data {"question": "q<i>", "answer": "<i>"}.
  static std::vector<core::dataset_item> items(int n);
  // A reasoner that answers from a list, in order, and fails once the list is used up.
  static reasoner replies(std::vector<std::string> list);

  const std::vector<core::dataset_item>& sample() const noexcept override { return sample_; }
  boost::asio::awaitable<std::vector<core::evaluation_result>> evaluate_all(
      std::vector<core::evaluation_request> requests) override;
  boost::asio::awaitable<std::vector<core::completion_result>> reason_all(std::vector<core::chat_request> requests) override;
  const core::run_counts& counts() const noexcept override { return counts_; }
  const core::run_limits& limits() const noexcept override { return limits_; }
  bool should_stop() const noexcept override { return stop; }
  std::mt19937_64& rng() noexcept override { return rng_; }
  void log(std::string_view line) override { logs.emplace_back(line); }
  void report_budget(double used, double total, std::string_view unit) override {
    budget = {used, total, std::string(unit)};
  }

  // The task the optimizer tests share: odd items ("item-1", …) need "alpha" somewhere in the
  // prompt, even ones "beta" (reasons "needs alpha", "needs beta", "match"); a prompt with
  // "broken" fails every call.
  static scored alpha_beta(const core::prompt_messages& prompt, const core::dataset_item& item);
  static bool has(const core::prompt_messages& prompt, std::string_view word);
  static core::run_limits trials(int max_trials);
  // The name of a request's response_format schema, or "".
  static std::string schema_of(const core::chat_request& request);

  // Runs `opt` on the baseline prompt to its end.
  core::optimizer_outcome run(core::optimizer& opt, core::prompt_messages baseline);

  // What was asked, in order.
  std::vector<core::evaluation_request> evaluations;
  std::vector<core::evaluation_result> results;     // of each evaluation, in the same order
  std::vector<std::size_t> evaluation_batches;      // sizes of the evaluate_all() calls
  std::vector<core::chat_request> requests;
  std::vector<std::size_t> reasoning_batches;       // sizes of the reason_all() calls
  std::vector<std::string> logs;
  struct budget_report {
    double used = 0, total = 0;
    std::string unit;
  } budget;
  bool stop = false;  // should_stop()

  // The results of the evaluations of `type`, in order.
  std::vector<const core::evaluation_result*> of_type(core::experiment_type type) const;

 private:
  std::vector<core::dataset_item> sample_;
  scorer score_;
  reasoner reason_;
  core::run_limits limits_;
  core::run_counts counts_;
  std::mt19937_64 rng_;
};

}  // namespace optd::test
