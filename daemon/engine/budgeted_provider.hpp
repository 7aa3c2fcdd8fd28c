#pragma once
// A run's view of a provider: each call holds its worst-case cost in the run's budget_gate before
// it is sent (and before it waits for a provider slot, so the calls queued count too) and settles
// at its real cost when answered. A call the budget cannot pay for is not sent: it ends as
// errc::cancelled, as a stopped call does, so what asked for it stays pending (resumable) and the
// run stops with finish reason "budget".
#include <functional>
#include <string_view>

#include "core/llm.hpp"
#include "engine/budget_gate.hpp"

namespace optd::engine {

class budgeted_provider final : public core::llm_provider {
 public:
  using price_of = std::function<core::model_price(std::string_view model)>;
  budgeted_provider(core::llm_provider& inner, budget_gate& gate, price_of price)
      : inner_(inner), gate_(gate), price_(std::move(price)) {}

  boost::asio::awaitable<core::completion_result> complete(const core::chat_request& request) override {
    auto price = price_(request.model);
    double worst = core::worst_case_cost_usd(request, price);
    if (!co_await gate_.hold(worst))
      co_return core::llm_error{core::errc::cancelled,
                                gate_.ledger().refused() ? "max_cost_usd: the budget left cannot pay for this call"
                                                         : "cancelled",
                                0, 0};
    // Settled however the call ends: answered, failed, or its coroutine destroyed mid-way.
    struct hold {
      budget_gate& gate;
      double usd;
      double actual = 0;
      ~hold() { gate.settle(usd, actual); }
    } h{gate_, worst};
    auto result = co_await inner_.complete(request);
    if (result) h.actual = core::cost_usd(price, result->usage);
    co_return result;
  }

 private:
  core::llm_provider& inner_;
  budget_gate& gate_;
  price_of price_;
};

}  // namespace optd::engine
