#pragma once
// A metric scores one LLM output against one dataset item: a value in [0, 1] and a reason a
// person can read. Metrics are pure and cheap; they run on the event loop thread.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace optd::core {

struct metric_result {
  double value = 0;
  std::string reason;
};

// One metric's score of one evaluated item, under the metric's name (its type).
struct metric_score {
  std::string name;
  double value = 0;
  std::string reason;
};

class evaluation_metric {
 public:
  virtual ~evaluation_metric() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual metric_result score(std::string_view output, const nlohmann::json& item_data) const = 0;
};

}  // namespace optd::core
