#include "core/spend_ledger.hpp"

#include <gtest/gtest.h>

namespace optd::core {
namespace {

chat_request request_of(std::size_t prompt_bytes, nlohmann::json parameters = nlohmann::json::object()) {
  chat_request r;
  r.messages.emplace_back();
  r.messages.back().content.assign(prompt_bytes, 'x');
  r.parameters = std::move(parameters);
  return r;
}

TEST(spend_ledger, the_worst_case_counts_every_prompt_byte_a_token_and_the_whole_max_tokens) {
  model_price price{1'000'000, 2'000'000};  // $1 per prompt token, $2 per completion token
  EXPECT_DOUBLE_EQ(worst_case_cost_usd(request_of(8, {{"max_tokens", 10}}), price), (8 + 8) * 1.0 + 10 * 2.0);
  EXPECT_DOUBLE_EQ(worst_case_cost_usd(request_of(0, {{"max_completion_tokens", 3}}), price), 8 + 3 * 2.0);
  EXPECT_DOUBLE_EQ(worst_case_cost_usd(request_of(0), price), 8 + assumed_max_tokens * 2.0);
  EXPECT_DOUBLE_EQ(worst_case_cost_usd(request_of(3), {}), 0.0);  // unpriced: free (a cap then needs prices)
}

TEST(spend_ledger, calls_in_flight_together_never_hold_more_than_the_cap) {
  using r = spend_ledger::reservation;
  spend_ledger ledger(1.0);
  EXPECT_EQ(ledger.reserve(0.4), r::held);
  EXPECT_EQ(ledger.reserve(0.4), r::held);
  EXPECT_EQ(ledger.reserve(0.4), r::wait);  // 1.2 could be spent: not now, nothing held for it
  EXPECT_FALSE(ledger.refused());
  EXPECT_DOUBLE_EQ(ledger.held(), 0.8);
  ledger.settle(0.4, 0.1);  // it cost less than it could have
  ledger.settle(0.4, 0.0);  // failed unanswered
  EXPECT_DOUBLE_EQ(ledger.held(), 0.0);
  EXPECT_DOUBLE_EQ(ledger.spent(), 0.1);
  EXPECT_EQ(ledger.reserve(0.4), r::held);  // now it fits
  EXPECT_EQ(ledger.reserve(0.95), r::refused);  // 0.1 + 0.95 > 1 even with nothing else held
  EXPECT_TRUE(ledger.refused());
  EXPECT_DOUBLE_EQ(ledger.refused_usd(), 0.95);
}

TEST(spend_ledger, a_resumed_run_counts_what_its_journal_spent_and_no_cap_refuses_nothing) {
  spend_ledger resumed(1.0);
  resumed.add_spent(0.95);
  EXPECT_EQ(resumed.reserve(0.06), spend_ledger::reservation::refused);
  spend_ledger uncapped;
  EXPECT_EQ(uncapped.reserve(1e12), spend_ledger::reservation::held);
  EXPECT_FALSE(uncapped.refused());
}

}  // namespace
}  // namespace optd::core
