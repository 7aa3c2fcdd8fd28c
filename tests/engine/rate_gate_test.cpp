#include "engine/rate_gate.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "core/llm.hpp"

namespace optd::engine {
namespace {

namespace asio = boost::asio;
using namespace std::chrono;

// Time that moves only when slept, and a sleep that yields to the other coroutines first: the
// attempts queued behind a waiting one are queued when it wakes, as with a real timer.
class yielding_clock final : public core::clock {
 public:
  system_clock::time_point now() const override { return now_; }
  asio::awaitable<void> sleep(milliseconds d) override {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    now_ += d;
  }
  system_clock::time_point now_{seconds(1'790'000'000)};
};

core::chat_request request(std::string model = "m", std::string share_key = {}, std::size_t prompt_bytes = 100) {
  core::chat_request r;
  r.model = std::move(model);
  r.share_key = std::move(share_key);
  r.messages.push_back({core::role::user, std::string(prompt_bytes - 8, 'x')});
  return r;
}

struct gate_fixture {
  asio::io_context ioc;
  yielding_clock clock;
  rate_gate gate;
  std::vector<std::pair<std::string, system_clock::time_point>> admitted;  // share key, when

  explicit gate_fixture(core::rate_limits configured = {})
      : gate(clock, [configured](std::string_view) { return configured; }) {}

  // Queues `n` attempts of `r` (they wait for the loop to run).
  void spawn(core::chat_request r, int n = 1) {
    for (int i = 0; i < n; ++i)
      asio::co_spawn(
          ioc,
          [this, r]() -> asio::awaitable<void> {
            co_await gate.admit(r);
            admitted.emplace_back(r.share_key, clock.now());
          },
          asio::detached);
  }

  void admit(core::chat_request r, int n = 1) {
    spawn(std::move(r), n);
    ioc.run();
    ioc.restart();
  }

  // The most admissions in any window of `w`.
  std::size_t most_in(milliseconds w) const {
    std::size_t most = 0;
    for (std::size_t i = 0; i < admitted.size(); ++i) {
      std::size_t n = 0;
      for (std::size_t j = i; j < admitted.size() && admitted[j].second < admitted[i].second + w; ++j) ++n;
      most = std::max(most, n);
    }
    return most;
  }
};

TEST(rate_gate, without_a_known_limit_attempts_go_at_once) {
  gate_fixture f;
  f.admit(request(), 50);
  EXPECT_EQ(f.admitted.size(), 50u);
  EXPECT_EQ(f.admitted.back().second, f.admitted.front().second);
  EXPECT_EQ(f.gate.waited(), microseconds(0));
}

TEST(rate_gate, paces_at_the_configured_requests_per_minute_never_above_it) {
  gate_fixture f(core::rate_limits{6000, std::nullopt});  // 100 a second
  f.admit(request(), 1000);
  ASSERT_EQ(f.admitted.size(), 1000u);
  EXPECT_LE(f.most_in(seconds(1)), 100u);  // any second, however it is cut
  auto took = duration<double>(f.admitted.back().second - f.admitted.front().second).count();
  EXPECT_GT(999 / took, 100 * 0.98);  // and close to the limit: at 99% less the rounding
  EXPECT_LE(999 / took, 100.0);
}

TEST(rate_gate, learns_the_limit_from_answers_and_paces_under_the_lower_one) {
  gate_fixture f(core::rate_limits{6000, std::nullopt});
  core::attempt_outcome answer;
  answer.http_status = 200;
  answer.facts.limit_requests = 600;  // the provider says 10 a second
  f.gate.settle(request(), {}, answer);
  EXPECT_NEAR(*f.gate.in_force("m").requests_per_minute, 600 * rate_gate::margin, 1e-9);
  f.admit(request(), 101);
  EXPECT_LE(f.most_in(seconds(1)), 10u);
  EXPECT_GE(f.admitted.back().second - f.admitted.front().second, milliseconds(10'000));
  EXPECT_FALSE(f.gate.in_force("other").requests_per_minute);  // each model its own pace
}

TEST(rate_gate, a_429_stops_the_model_until_retry_after_and_no_other) {
  gate_fixture f;
  auto start = f.clock.now();
  core::attempt_outcome limited;
  limited.http_status = 429;
  limited.retry_after = milliseconds(2500);
  f.gate.settle(request(), {}, limited);
  f.admit(request("other"));
  EXPECT_EQ(f.admitted.back().second, start);
  f.admit(request(), 3);
  EXPECT_GE(f.admitted.back().second, start + milliseconds(2500));
  EXPECT_LT(f.admitted.back().second, start + milliseconds(2600));

  // A day asked for stops the model for a minute at most.
  start = f.clock.now();
  limited.retry_after = hours(24);
  f.gate.settle(request(), {}, limited);
  f.admit(request());
  EXPECT_LE(f.admitted.back().second, start + minutes(1) + milliseconds(10));
  EXPECT_GE(f.admitted.back().second, start + minutes(1));
}

TEST(rate_gate, nothing_left_pauses_until_the_reset_only_when_no_pace_is_known) {
  gate_fixture f;
  auto start = f.clock.now();
  core::attempt_outcome last;
  last.http_status = 200;
  last.facts.remaining_requests = 0;  // Azure: what is left, not the limit
  last.facts.reset_requests = seconds(4);
  f.gate.settle(request(), {}, last);
  f.admit(request());
  EXPECT_GE(f.admitted.back().second, start + seconds(4));
  EXPECT_LT(f.admitted.back().second, start + milliseconds(4100));

  // With the limit known, the pace already keeps to the window's edge: one interval, no more.
  gate_fixture paced;
  start = paced.clock.now();
  last.facts.limit_requests = 60;
  paced.gate.settle(request(), {}, last);
  paced.admit(request(), 2);
  EXPECT_EQ(paced.admitted[0].second, start);
  EXPECT_GE(paced.admitted[1].second, start + milliseconds(1000));
  EXPECT_LT(paced.admitted[1].second, start + milliseconds(1100));
}

TEST(rate_gate, tokens_are_estimated_then_learned_from_usage) {
  gate_fixture f(core::rate_limits{std::nullopt, 60'000});  // 1,000 tokens a second
  // 4,000 bytes: 1,000 tokens at the first guess of 4 bytes a token, so one a second.
  f.admit(request("m", "", 4000), 3);
  EXPECT_GE(f.admitted[2].second - f.admitted[0].second, milliseconds(2000));
  // The provider counted 500: the estimate halves and so does the pace.
  core::attempt_outcome answer;
  answer.http_status = 200;
  answer.usage = core::token_usage{500, 10};
  f.gate.settle(request("m", "", 4000), {1000}, answer);
  f.admitted.clear();
  f.admit(request("m", "", 4000), 11);
  auto took = f.admitted.back().second - f.admitted.front().second;
  EXPECT_LT(took, milliseconds(7000));
  EXPECT_GT(took, milliseconds(4000));
}

TEST(rate_gate, max_tokens_counts_against_the_token_limit) {
  gate_fixture f(core::rate_limits{std::nullopt, 60'000});
  auto r = request("m", "", 40);  // 10 tokens of prompt
  r.parameters["max_tokens"] = 990;
  f.admit(r, 3);
  EXPECT_GE(f.admitted[2].second - f.admitted[0].second, milliseconds(2000));
}

TEST(rate_gate, runs_take_turns_at_a_paced_model) {
  gate_fixture f(core::rate_limits{60, std::nullopt});
  f.spawn(request("m", "busy-run"), 10);
  f.spawn(request("m", "small-run"));
  f.ioc.run();
  ASSERT_EQ(f.admitted.size(), 11u);
  auto at = std::find_if(f.admitted.begin(), f.admitted.end(), [](const auto& a) { return a.first == "small-run"; });
  // The busy run had two through before the small one queued, then one more turn: fourth, not eleventh.
  EXPECT_LE(at - f.admitted.begin(), 3);
}

}  // namespace
}  // namespace optd::engine
