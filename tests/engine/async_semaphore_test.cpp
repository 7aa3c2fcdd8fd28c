#include "engine/async_semaphore.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace optd::engine {
namespace {

namespace asio = boost::asio;

asio::awaitable<void> take(async_semaphore& s, std::vector<int>& order, int id, std::string key = {}) {
  co_await s.acquire(key);
  order.push_back(id);
}

TEST(async_semaphore, grants_permits_then_queues_in_fifo_order) {
  asio::io_context ioc;
  async_semaphore s(2);
  std::vector<int> order;
  for (int i = 1; i <= 5; ++i) asio::co_spawn(ioc, take(s, order, i), asio::detached);
  ioc.poll();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(s.waiting(), 3u);
  s.release();
  ioc.poll();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  s.release();
  s.release();
  ioc.poll();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(s.available(), 0u);
}

TEST(async_semaphore, a_cancelled_waiter_leaves_the_queue) {
  asio::io_context ioc;
  async_semaphore s(1);
  std::vector<int> order;
  asio::co_spawn(ioc, take(s, order, 1), asio::detached);
  asio::cancellation_signal sig;
  bool cancelled = false;
  asio::co_spawn(ioc, take(s, order, 2), asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr e) {
    cancelled = e != nullptr;
  }));
  asio::co_spawn(ioc, take(s, order, 3), asio::detached);
  ioc.poll();
  sig.emit(asio::cancellation_type::terminal);
  ioc.poll();
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(s.waiting(), 1u);
  s.release();
  ioc.poll();
  EXPECT_EQ(order, (std::vector<int>{1, 3}));
}

TEST(async_semaphore, keys_take_turns_so_a_busy_run_cannot_starve_a_small_one) {
  asio::io_context ioc;
  async_semaphore s(1);
  std::vector<int> order;
  asio::co_spawn(ioc, take(s, order, 0, "busy"), asio::detached);  // holds the permit
  for (int i = 1; i <= 6; ++i) asio::co_spawn(ioc, take(s, order, i, "busy"), asio::detached);  // 1..6
  for (int i = 11; i <= 12; ++i) asio::co_spawn(ioc, take(s, order, i, "small"), asio::detached);  // 11, 12
  asio::co_spawn(ioc, take(s, order, 21, "late"), asio::detached);
  ioc.poll();
  EXPECT_EQ(s.waiting(), 9u);
  for (int i = 0; i < 9; ++i) {
    s.release();
    ioc.poll();
  }
  // FIFO would serve 1..6 before the others; turns interleave them.
  EXPECT_EQ(order, (std::vector<int>{0, 1, 11, 21, 2, 12, 3, 4, 5, 6}));
  EXPECT_EQ(s.waiting(), 0u);
}

}  // namespace
}  // namespace optd::engine
