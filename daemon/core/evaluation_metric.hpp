#pragma once
// A metric scores one LLM output against one dataset item: a value in [0, 1] and a reason a
// person can read. Heuristic metrics are pure and cheap and score on the event loop thread; a
// judge metric asks a model, through a judge_context that the engine gives it: its calls take the
// run's provider slots and fair share, are journaled before they are sent, costed into the run's
// spend and max_cost_usd, counted in /metrics and traced as spans of the evaluation's trace.
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "core/llm.hpp"

namespace optd::core {

struct metric_result {
  double value = 0;
  std::string reason;
  // The metric could not score this item (a judge unreachable, a verdict that does not parse, a
  // code metric's error): the value is 0, the reason says why, and the trial goes on.
  bool failed = false;
};

// One metric's score of one evaluated item, under the metric's name.
struct metric_score {
  std::string name;
  double value = 0;
  std::string reason;
  bool failed = false;
};

// What a judge metric calls its model through, for one evaluation.
class judge_context {
 public:
  virtual ~judge_context() = default;
  // One call for this evaluation, on `provider` ("": the run's task provider). A resumed run
  // gets the journaled answer of the same request again instead of a new call.
  virtual boost::asio::awaitable<completion_result> complete(chat_request request, std::string provider) = 0;
  // A call whose answer serves the whole run (GEval's evaluation steps): made once, by the first
  // evaluation that asks, journaled; the others wait for it.
  virtual boost::asio::awaitable<completion_result> complete_once(chat_request request, std::string provider) = 0;
};

class evaluation_metric {
 public:
  virtual ~evaluation_metric() = default;
  virtual std::string_view name() const noexcept = 0;
  // True for a metric that asks a model: it is scored with judge(), the others with score().
  virtual bool judges() const noexcept { return false; }
  virtual metric_result score(std::string_view output, const nlohmann::json& item_data) const;
  virtual boost::asio::awaitable<metric_result> judge(judge_context& ctx, std::string output,
                                                      const nlohmann::json& item_data) const;
};

}  // namespace optd::core
