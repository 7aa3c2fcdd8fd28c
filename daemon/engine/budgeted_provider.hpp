#pragma once
// A provider behind a spend gate: each call holds its worst-case cost in the gate before it is
// sent (and before it waits for a provider slot, so the calls queued count too) and settles at
// its real cost when answered. A call the gate refuses is not sent: it ends with the gate's
// refusal, mostly errc::cancelled, as a stopped call does, so what asked for it stays pending
// (resumable); a run whose own budget_gate refused stops with finish reason "budget".
#include <functional>
#include <string_view>

#include "core/llm.hpp"
#include "core/spend_ledger.hpp"
#include "engine/spend_gate.hpp"

namespace optd::engine {

class budgeted_provider final : public core::llm_provider {
 public:
  using price_of = std::function<core::model_price(std::string_view model)>;
  budgeted_provider(core::llm_provider& inner, spend_gate& gate, price_of price)
      : inner_(inner), gate_(gate), price_(std::move(price)) {}

  boost::asio::awaitable<core::completion_result> complete(const core::chat_request& request) override {
    auto price = price_(request.model);
    double worst = core::worst_case_cost_usd(request, price);
    if (!co_await gate_.hold(worst, request)) co_return gate_.refusal();
    // Settled however the call ends: answered, failed, or its coroutine destroyed mid-way.
    struct hold {
      spend_gate& gate;
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
  spend_gate& gate_;
  price_of price_;
};

}  // namespace optd::engine
