#pragma once
// A run's spending against its max_cost_usd, held before the money is spent: each call reserves
// the most it can cost before it is sent and settles at what it did cost when it is answered, so
// the calls in flight together can never take the run past its cap. Pure.
#include <cstdint>
#include <optional>

#include "core/llm.hpp"
#include "core/price.hpp"

namespace optd::core {

// Completion tokens assumed for a request that sets no max_tokens (nor max_completion_tokens).
inline constexpr std::int64_t assumed_max_tokens = 4096;

// The most `request` can cost at `price`: its prompt_bytes() as prompt tokens and its max_tokens
// of completion (assumed_max_tokens when it sets none).
double worst_case_cost_usd(const chat_request& request, const model_price& price) noexcept;

class spend_ledger {
 public:
  explicit spend_ledger(std::optional<double> cap_usd = std::nullopt) : cap_(cap_usd) {}

  enum class reservation {
    held,     // it fits: `usd` is held until settle()
    wait,     // it fits once calls in flight settle: nothing held, ask again then
    refused,  // it cannot fit even then: the run must stop (refused() holds from now on)
  };
  // Holds `usd` for a call about to be sent, if it fits under the cap with what is held already.
  reservation reserve(double usd) noexcept;
  // The call that reserved `reserved` ended having cost `actual` (0 when it failed unanswered).
  void settle(double reserved, double actual) noexcept;
  // Spent by calls this ledger did not see (a resumed run's journal), counted against the cap.
  void add_spent(double usd) noexcept { spent_ += usd; }
  void set_cap(std::optional<double> cap_usd) noexcept { cap_ = cap_usd; }
  std::optional<double> cap() const noexcept { return cap_; }
  // A new period (a daily budget's next day): `spent` so far in it, nothing refused; what calls in
  // flight hold stays held, as they settle in the new period.
  void start_over(double spent) noexcept {
    spent_ = spent;
    refused_ = false;
    refused_usd_ = 0;
  }

  double spent() const noexcept { return spent_; }
  double held() const noexcept { return held_; }
  // Whether a reservation was refused: the budget cannot pay for the next call; and the first
  // refused reservation's amount, to say why the run stopped.
  bool refused() const noexcept { return refused_; }
  double refused_usd() const noexcept { return refused_usd_; }

 private:
  std::optional<double> cap_;
  double spent_ = 0;
  double held_ = 0;
  bool refused_ = false;
  double refused_usd_ = 0;
};

}  // namespace optd::core
