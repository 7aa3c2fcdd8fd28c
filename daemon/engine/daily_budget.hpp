#pragma once
// A provider's daily_budget_usd, shared by every run of the process. Each call holds its worst
// case before it is sent and settles at its cost, as a run's max_cost_usd does, so the calls in
// flight together never take the day past its budget. A call that does not fit waits: for the
// calls in flight to settle, and when even that would not do, for the next day (UTC). Runs pause
// rather than fail, and each run is told once a day why it waits; only a call that could cost more
// than the whole budget is refused.
// The day's spending is kept in the store, so a restart does not give the day's money again.
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/spend_ledger.hpp"
#include "engine/budget_gate.hpp"
#include "engine/spend_gate.hpp"
#include "store/store.hpp"

namespace optd::engine {

class daily_budget final : public spend_gate {
 public:
  // Tells a run (the request's share_key) something about its calls.
  using notice = std::function<void(std::string_view run_id, std::string_view line)>;
  daily_budget(std::string provider, double cap_usd, core::clock& clock, store::store& db, notice tell);

  // Holds `usd` as soon as it fits today, or on a later day; false when the caller is cancelled
  // while it waits, or when `usd` is more than the whole budget (it would never fit).
  boost::asio::awaitable<bool> hold(double usd, const core::chat_request& request) override;
  // Adds `actual` to today's spending in the store (and so across a restart). A store that fails
  // here loses the record, not the run: the failure is reported through `tell` to no run ("").
  void settle(double held, double actual) override;
  core::llm_error refusal() const override { return refusal_; }

  // A reload: calls waiting for the next day see a raised budget within a minute.
  void set_cap(double usd) noexcept {
    ledger_.set_cap(usd);
    settled_.wake();
  }
  double cap() const noexcept { return ledger_.cap().value_or(0); }
  // Spent today so far (what was known, when the store cannot be read), and whether calls wait
  // for the next day.
  double spent_today() noexcept;
  bool exhausted() const noexcept { return exhausted_; }

  // The UTC day of `ms` since the epoch, as the store keys it: "2026-12-03".
  static std::string day_of(std::int64_t ms);

 private:
  void roll();  // to today, if the day changed since the last call

  std::string provider_;
  core::clock& clock_;
  store::store& db_;
  notice tell_;
  std::int64_t day_ = -1;  // days since the epoch (UTC) the ledger counts
  core::spend_ledger ledger_;
  settle_signal settled_;
  bool exhausted_ = false;  // a call was refused for today, and none has been held since
  bool told_daemon_ = false;  // today
  std::set<std::string, std::less<>> told_;  // runs told today that their calls wait
  core::llm_error refusal_{core::errc::cancelled, "cancelled", 0, 0};  // the last hold() that returned false
};

}  // namespace optd::engine
