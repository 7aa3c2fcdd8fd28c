#include "engine/daily_budget.hpp"

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
  day_ = today;
  ledger_.start_over(db_.provider_spend(provider_, day_of(today * ms_per_day)));
  exhausted_ = false;
  told_.clear();
}

double daily_budget::spent_today() {
  roll();
  return ledger_.spent();
}

asio::awaitable<bool> daily_budget::hold(double usd_held, const core::chat_request& request) {
  if (usd_held > cap()) {
    refusal_ = {core::errc::invalid_argument,
                "this call could cost up to " + usd(usd_held) + " (its prompt and max_tokens at the model's price), more "
                "than provider '" + provider_ + "''s whole daily_budget_usd " + usd(cap()),
                0, 0};
    co_return false;
  }
  refusal_ = {core::errc::cancelled, "cancelled", 0, 0};
  for (;;) {
    roll();
    auto reserved = ledger_.reserve(usd_held);
    if (reserved == core::spend_ledger::reservation::held) co_return true;
    if (reserved == core::spend_ledger::reservation::wait) {
      if (!co_await settled_.wait()) co_return false;  // ifs, not a switch: see budget_gate::hold
      continue;
    }
    // Spent for today: only the next day can pay for it.
    auto now = clock_.now_ms();
    auto next_day_ms = (now / ms_per_day + 1) * ms_per_day;
    if (!exhausted_ && tell_)
      tell_("", "provider '" + provider_ + "': daily_budget_usd " + usd(cap()) + " reached (" + usd(ledger_.spent()) +
                    " spent today, UTC); its calls wait until 00:00 UTC");
    exhausted_ = true;
    if (tell_ && told_.insert(request.share_key).second)
      tell_(request.share_key, "calls to provider '" + provider_ + "' wait until 00:00 UTC (in " +
                                   std::to_string((next_day_ms - now + 59'999) / 60'000) +
                                   " min): its daily_budget_usd " + usd(cap()) + " is spent");
    try {
      co_await clock_.sleep(std::chrono::milliseconds(next_day_ms - now));
    } catch (const boost::system::system_error&) {
      co_return false;  // cancelled while it waited
    }
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return false;
  }
}

void daily_budget::settle(double held, double actual) {
  roll();
  ledger_.settle(held, actual);
  settled_.wake();
  if (actual <= 0) return;
  try {
    db_.add_provider_spend(provider_, day_of(day_ * ms_per_day), actual);
  } catch (const std::exception& e) {
    if (tell_) tell_("", "provider '" + provider_ + "': today's spending could not be stored (" + e.what() + ")");
  }
}

}  // namespace optd::engine
