#include "engine/daily_budget.hpp"

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "engine/budgeted_provider.hpp"
#include "support/test_support.hpp"

namespace optd::engine {
namespace {

namespace asio = boost::asio;
using namespace std::chrono;

// $1 a token: a request of 100 prompt bytes and max_tokens 100 can cost up to $200.
constexpr core::model_price dollar_a_token{1'000'000, 1'000'000};

core::chat_request request(std::string run = "run-1") {
  core::chat_request r;
  r.model = "m";
  r.share_key = std::move(run);
  r.messages.push_back({core::role::user, std::string(92, 'x')});
  r.parameters = {{"max_tokens", 100}};
  return r;
}

// Answers each call when release() is called, having used `usage` tokens.
class held_provider final : public core::llm_provider {
 public:
  explicit held_provider(core::token_usage usage) : usage_(usage) {}
  asio::awaitable<core::completion_result> complete(const core::chat_request&) override {
    ++sent;
    if (!release_) release_.emplace(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    if (held) co_await release_->async_wait(asio::as_tuple(asio::use_awaitable));
    core::completion c;
    c.text = "ok";
    c.usage = usage_;
    co_return c;
  }
  void release() {
    held = false;
    if (release_) release_->cancel();
  }
  int sent = 0;
  bool held = true;

 private:
  core::token_usage usage_;
  std::optional<asio::steady_timer> release_;
};

// Time that moves only when slept, and a sleep that yields to the other coroutines first, as a
// real timer does: calls that wait for the same midnight all wait.
class yielding_clock final : public core::clock {
 public:
  system_clock::time_point now() const override { return now_; }
  asio::awaitable<void> sleep(milliseconds d) override {
    sleeps.push_back(d);
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    now_ += d;
  }
  std::vector<milliseconds> sleeps;

 private:
  system_clock::time_point now_{seconds(1'790'000'000)};
};

struct fixture {
  asio::io_context ioc;
  yielding_clock clock;
  std::string dir = test::temp_dir("daily_budget");
  store::store db{dir + "/optd.db"};
  std::vector<std::pair<std::string, std::string>> told;  // run id ("" the daemon), line
  std::vector<core::completion_result> results;

  std::unique_ptr<daily_budget> budget(double cap) {
    return std::make_unique<daily_budget>("p", cap, clock, db, [this](std::string_view id, std::string_view line) {
      told.emplace_back(id, line);
    });
  }
  void spawn(core::llm_provider& provider, core::chat_request r = request()) {
    asio::co_spawn(
        ioc, [&provider, r, this]() -> asio::awaitable<void> { results.push_back(co_await provider.complete(r)); },
        asio::detached);
  }
  void drain() {
    ioc.restart();
    ioc.run();
  }
  std::string today() const { return daily_budget::day_of(clock.now_ms()); }
};

TEST(daily_budget, calls_in_flight_together_never_hold_more_than_the_day_and_what_is_spent_is_stored) {
  fixture f;
  auto budget = f.budget(500);
  held_provider inner({10, 10});  // each answer costs $20
  budgeted_provider provider(inner, *budget, [](std::string_view) { return dollar_a_token; });
  for (int i = 0; i < 3; ++i) f.spawn(provider);
  f.ioc.poll();
  EXPECT_EQ(inner.sent, 2);  // $400 held; a third $200 would make $600
  inner.release();
  f.drain();
  EXPECT_EQ(inner.sent, 3);  // sent once the first two settled at $20 each
  ASSERT_EQ(f.results.size(), 3u);
  EXPECT_DOUBLE_EQ(budget->spent_today(), 60);
  EXPECT_FALSE(budget->exhausted());
  EXPECT_TRUE(f.told.empty());
  // A restart (a new ledger over the same store) starts the day from what was spent.
  EXPECT_DOUBLE_EQ(f.db.provider_spend("p", f.today()), 60);
  EXPECT_DOUBLE_EQ(f.budget(500)->spent_today(), 60);
}

TEST(daily_budget, a_spent_day_makes_calls_wait_for_the_next_one_telling_each_run_once) {
  fixture f;
  auto budget = f.budget(450);
  held_provider inner({100, 100});  // each answer costs $200
  inner.held = false;
  budgeted_provider provider(inner, *budget, [](std::string_view) { return dollar_a_token; });
  auto first_day = f.today();
  f.spawn(provider);
  f.spawn(provider);
  f.drain();
  ASSERT_EQ(inner.sent, 2);  // $400 spent: the day has $50 left
  f.spawn(provider, request("run-1"));
  f.spawn(provider, request("run-2"));
  f.ioc.restart();
  f.ioc.poll_one();
  f.ioc.poll_one();
  EXPECT_EQ(inner.sent, 2);
  EXPECT_TRUE(budget->exhausted());
  f.drain();  // both slept until midnight (9 h 46 min 40 s after 1,790,000,000 s since the epoch)
  EXPECT_EQ(inner.sent, 4);
  // A minute at a time (a reload may raise the budget meanwhile), the shared clock to midnight.
  milliseconds slept{0};
  for (auto d : f.clock.sleeps) {
    EXPECT_LE(d, minutes(1));
    slept += d;
  }
  EXPECT_GE(slept, seconds(35'200));
  EXPECT_LE(slept, seconds(35'200) + minutes(2));
  EXPECT_NE(f.today(), first_day);
  EXPECT_FALSE(budget->exhausted());
  EXPECT_DOUBLE_EQ(f.db.provider_spend("p", first_day), 400);
  EXPECT_DOUBLE_EQ(f.db.provider_spend("p", f.today()), 400);  // the next day's two calls
  std::vector<std::string> runs;
  for (const auto& [id, line] : f.told) runs.push_back(id);
  EXPECT_EQ(runs, (std::vector<std::string>{"", "run-1", "run-2"}));  // the daemon once, each run once
  EXPECT_NE(f.told[0].second.find("daily_budget_usd $450.000000 reached ($400.000000 spent today"), std::string::npos)
      << f.told[0].second;
  EXPECT_NE(f.told[1].second.find("wait until 00:00 UTC (in 587 min)"), std::string::npos) << f.told[1].second;
}

TEST(daily_budget, a_call_that_could_cost_more_than_the_whole_day_fails_saying_so) {
  fixture f;
  auto budget = f.budget(150);
  held_provider inner({1, 1});
  budgeted_provider provider(inner, *budget, [](std::string_view) { return dollar_a_token; });
  f.spawn(provider);
  f.drain();
  ASSERT_EQ(f.results.size(), 1u);
  ASSERT_FALSE(f.results[0]);
  EXPECT_EQ(f.results[0].error().code, core::errc::invalid_argument);  // fails the item; never waits
  EXPECT_NE(f.results[0].error().message.find("up to $200.000000"), std::string::npos);
  EXPECT_NE(f.results[0].error().message.find("daily_budget_usd $150.000000"), std::string::npos);
  EXPECT_EQ(inner.sent, 0);
  EXPECT_TRUE(f.clock.sleeps.empty());
}

TEST(daily_budget, a_waiting_call_ends_cancelled_when_its_run_stops) {
  fixture f;
  auto budget = f.budget(300);
  held_provider inner({1, 1});
  budgeted_provider provider(inner, *budget, [](std::string_view) { return dollar_a_token; });
  f.spawn(provider);  // holds $200 until released
  asio::cancellation_signal stop;
  std::optional<core::completion_result> waiting;
  asio::co_spawn(
      f.ioc, [&]() -> asio::awaitable<void> { waiting = co_await provider.complete(request()); },
      asio::bind_cancellation_slot(stop.slot(), asio::detached));
  f.ioc.poll();
  EXPECT_EQ(inner.sent, 1);
  stop.emit(asio::cancellation_type::terminal);
  f.ioc.poll();
  ASSERT_TRUE(waiting);
  ASSERT_FALSE(*waiting);
  EXPECT_EQ(waiting->error().code, core::errc::cancelled);
  inner.release();
  f.drain();
  EXPECT_EQ(inner.sent, 1);
  EXPECT_DOUBLE_EQ(budget->spent_today(), 2);
}

TEST(daily_budget, a_raised_budget_lets_waiting_calls_go_and_a_lowered_one_fails_those_it_cannot_pay_for) {
  fixture f;
  auto budget = f.budget(250);
  held_provider inner({100, 100});  // $200 an answer
  inner.held = false;
  budgeted_provider provider(inner, *budget, [](std::string_view) { return dollar_a_token; });
  f.spawn(provider);
  f.drain();
  auto day = f.today();
  f.spawn(provider);  // $200 more does not fit today: it waits, a minute at a time
  f.ioc.restart();
  for (int i = 0; i < 6; ++i) f.ioc.poll_one();
  EXPECT_EQ(inner.sent, 1);
  EXPECT_TRUE(budget->exhausted());
  budget->set_cap(1000);  // SIGHUP with a bigger budget: it goes at its next look, the same day
  f.drain();
  EXPECT_EQ(inner.sent, 2);
  EXPECT_EQ(f.today(), day);  // minutes later, not at midnight
  EXPECT_LE(f.clock.sleeps.size(), 10u);
  EXPECT_FALSE(budget->exhausted());
  EXPECT_DOUBLE_EQ(budget->spent_today(), 400);

  budget->set_cap(150);  // lowered below what a call can cost: it fails, saying so, instead of waiting forever
  f.spawn(provider);
  f.drain();
  ASSERT_EQ(f.results.size(), 3u);
  ASSERT_FALSE(f.results[2]);
  EXPECT_EQ(f.results[2].error().code, core::errc::invalid_argument);
}

TEST(daily_budget, days_are_utc_dates) {
  EXPECT_EQ(daily_budget::day_of(0), "1970-01-01");
  EXPECT_EQ(daily_budget::day_of(1'790'000'000'000), "2026-09-21");
  EXPECT_EQ(daily_budget::day_of(1'790'035'200'000 - 1), "2026-09-21");
  EXPECT_EQ(daily_budget::day_of(1'790'035'200'000), "2026-09-22");
}

}  // namespace
}  // namespace optd::engine
