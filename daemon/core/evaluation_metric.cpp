#include "core/evaluation_metric.hpp"

#include <stdexcept>

namespace optd::core {

metric_result evaluation_metric::score(std::string_view, const nlohmann::json&) const {
  throw std::logic_error("metric " + std::string(name()) + " asks a model: it is scored with judge()");
}

boost::asio::awaitable<metric_result> evaluation_metric::judge(judge_context&, std::string output,
                                                               const nlohmann::json& item_data) const {
  co_return score(output, item_data);
}

}  // namespace optd::core
