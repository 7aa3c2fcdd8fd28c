#include "core/optimizer.hpp"

#include <map>

#include "core/run_error.hpp"
#include "core/uuid.hpp"

namespace optd::core {

std::string_view to_string(experiment_type t) noexcept {
  switch (t) {
    case experiment_type::trial: return "trial";
    case experiment_type::mini_batch: return "mini-batch";
    case experiment_type::mutation: return "mutation";
  }
  return "trial";
}

std::optional<experiment_type> experiment_type_from_string(std::string_view s) noexcept {
  for (auto t : {experiment_type::trial, experiment_type::mini_batch, experiment_type::mutation})
    if (to_string(t) == s) return t;
  return std::nullopt;
}

std::string_view to_string(finish_reason r) noexcept {
  switch (r) {
    case finish_reason::completed: return "completed";
    case finish_reason::max_trials: return "max_trials";
    case finish_reason::perfect_score: return "perfect_score";
    case finish_reason::no_improvement: return "no_improvement";
    case finish_reason::reflection_budget: return "reflection_budget";
    case finish_reason::budget: return "budget";
    case finish_reason::cancelled: return "cancelled";
    case finish_reason::error: return "error";
  }
  return "error";
}

std::string candidate::id() const {
  return derived_uuid_v7("00000000-0000-7000-8000-000000000000", "candidate:" + to_json(messages).dump());
}

std::string item_result::reason() const {
  if (failed) return "evaluation failed: " + error;
  std::string out;
  for (const auto& s : scores) out += (out.empty() ? "" : "; ") + s.name + ": " + s.reason;
  return out;
}

double evaluation_result::sum() const noexcept {
  double s = 0;
  for (const auto& i : items) s += i.failed ? 0.0 : i.objective;
  return s;
}

void throw_all_failed(const evaluation_result& r) {
  std::map<std::string, int> errors;  // each distinct error, with how often it came
  std::string first;
  for (const auto& i : r.items) {
    if (i.error.empty()) continue;
    if (first.empty()) first = i.error;
    ++errors[i.error];
  }
  std::string details;
  for (const auto& [error, n] : errors) details += (details.empty() ? "" : "\n") + std::to_string(n) + " × " + error;
  throw run_error("AllEvaluationsFailedError",
                  "all " + std::to_string(r.failed) + " evaluations of trial " + std::to_string(r.number) +
                      " failed; first: " + first,
                  details);
}

boost::asio::awaitable<evaluation_result> optimizer_context::evaluate(evaluation_request request) {
  std::vector<evaluation_request> one;
  one.push_back(std::move(request));
  auto results = co_await evaluate_all(std::move(one));
  co_return std::move(results.front());
}

boost::asio::awaitable<evaluation_result> evaluate_or_fail(optimizer_context& ctx, candidate c) {
  evaluation_request request;
  request.candidate = std::move(c);
  auto result = co_await ctx.evaluate(std::move(request));
  if (result.all_failed()) throw_all_failed(result);
  co_return result;
}

boost::asio::awaitable<completion_result> optimizer_context::reason(chat_request request) {
  std::vector<chat_request> one;
  one.push_back(std::move(request));
  auto results = co_await reason_all(std::move(one));
  co_return std::move(results.front());
}

}  // namespace optd::core
