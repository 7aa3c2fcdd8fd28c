#include "engine/daily_budget.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

namespace optd::engine {

namespace asio = boost::asio;

namespace {

constexpr std::int64_t ms_per_day = 86'400'000;

std::string usd(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "$%.6f", v);
  return text;
}

}  // namespace

daily_budget::daily_budget(std::string provider, double cap_usd, core::clock& clock, store::store& db, notice tell)
    : provider_(std::move(provider)), clock_(clock), db_(db), tell_(std::move(tell)), ledger_(cap_usd) {}

std::string daily_budget::day_of(std::int64_t ms) {
  std::chrono::year_month_day d{std::chrono::sys_days{std::chrono::days{ms / ms_per_day}}};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return text;
}

void daily_budget::roll() {
  auto today = clock_.now_ms() / ms_per_day;
  if (today == day_) return;
  // Read before anything changes: a store that fails here leaves yesterday's ledger, and the
  // next call tries again.
  auto spent = db_.provider_spend(provider_, day_of(today * ms_per_day));
  day_ = today;
  ledger_.start_over(spent);
  exhausted_ = false;
  told_daemon_ = false;
  told_.clear();
}

double daily_budget::spent_today() noexcept {
  try {
    roll();
  } catch (const std::exception&) {
    // The store cannot be read now: what this ledger knows.
  }
  return ledger_.spent();
}

asio::awaitable<bool> daily_budget::hold(double usd_held, const core::chat_request& request) {
  // refusal_ is set right before each `co_return false`: the caller reads it before any other
  // call can run, so each call gets its own.
  const core::llm_error cancelled{core::errc::cancelled, "cancelled", 0, 0};
  for (;;) {
    if (usd_held > cap()) {  // checked each time round: a reload may have lowered the budget
      refusal_ = {core::errc::invalid_argument,
                  "this call could cost up to " + usd(usd_held) + " (its prompt and max_tokens at the model's price), "
                  "more than provider '" + provider_ + "''s whole daily_budget_usd " + usd(cap()),
                  0, 0};
      co_return false;
    }
    roll();
    auto reserved = ledger_.reserve(usd_held);
    if (reserved == core::spend_ledger::reservation::held) {
      exhausted_ = false;
      co_return true;
    }
    if (reserved == core::spend_ledger::reservation::wait) {
      if (!co_await settled_.wait()) {  // ifs, not a switch: see budget_gate::hold
        refusal_ = cancelled;
        co_return false;
      }
      continue;
    }
    // Spent for today: only the next day can pay for it. Slept a minute at a time, so that a
    // reload that raises the budget lets it go within a minute.
    auto now = clock_.now_ms();
    auto next_day_ms = (now / ms_per_day + 1) * ms_per_day;
    exhausted_ = true;
    if (!told_daemon_ && tell_)
      tell_("", "provider '" + provider_ + "': daily_budget_usd " + usd(cap()) + " reached (" + usd(ledger_.spent()) +
                    " spent today, UTC); its calls wait until 00:00 UTC");
    told_daemon_ = true;
    if (tell_ && told_.insert(request.share_key).second)
      tell_(request.share_key, "calls to provider '" + provider_ + "' wait until 00:00 UTC (in " +
                                   std::to_string((next_day_ms - now + 59'999) / 60'000) +
                                   " min): its daily_budget_usd " + usd(cap()) + " is spent");
    try {
      co_await clock_.sleep(std::min(std::chrono::milliseconds(next_day_ms - now), std::chrono::milliseconds(60'000)));
    } catch (const boost::system::system_error&) {
      refusal_ = cancelled;
      co_return false;
    }
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) {
      refusal_ = cancelled;
      co_return false;
    }
  }
}

void daily_budget::settle(double held, double actual) {
  // Called from a destructor (budgeted_provider's hold): nothing may escape.
  ledger_.settle(held, actual);
  settled_.wake();
  if (actual <= 0) return;
  try {
    roll();
    db_.add_provider_spend(provider_, day_of(day_ * ms_per_day), actual);
  } catch (const std::exception& e) {
    if (tell_) tell_("", "provider '" + provider_ + "': today's spending could not be stored (" + e.what() + ")");
  }
}

}  // namespace optd::engine
