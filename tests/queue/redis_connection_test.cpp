#include "queue/redis_connection.hpp"

#include <csignal>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "queue/rq_records.hpp"
#include "support/redis_server.hpp"
#include "support/test_support.hpp"

namespace optd::queue {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;
using ::testing::Not;

config::redis_endpoint endpoint_of(const test::redis_server& redis, std::string password = {}) {
  auto e = config::parse_redis_url(redis.url());
  EXPECT_TRUE(e.has_value());
  e->password = config::secret(std::move(password));
  return *e;
}

class redis_connection_test : public ::testing::Test {
 protected:
  std::string dir_ = test::temp_dir("redis_connection");
  asio::io_context ioc_;
};

TEST_F(redis_connection_test, sends_commands_and_pipelines_and_reads_every_reply_type) {
  test::redis_server redis(dir_);
  test::run(ioc_, [&]() -> asio::awaitable<void> {
    auto c = co_await redis_connection::connect(ioc_.get_executor(), endpoint_of(redis));
    EXPECT_EQ((co_await c->command(make_command("SET", "k", std::string("a\0b", 3)))).str, "OK");
    auto got = co_await c->command(make_command("GET", "k"));
    EXPECT_EQ(got.type, redis_reply::kind::string);
    EXPECT_EQ(got.str, std::string("a\0b", 3));  // binary-safe, as zlib data needs
    EXPECT_TRUE((co_await c->command(make_command("GET", "missing"))).is_nil());
    auto err = co_await c->command(make_command("LPUSH", "k", "x"));  // wrong type: Redis answers an error
    EXPECT_TRUE(err.is_error());
    EXPECT_THAT(err.str, HasSubstr("WRONGTYPE"));
    std::vector<redis_command> batch;
    for (int i = 0; i < 100; ++i) batch.push_back(make_command("RPUSH", "list", std::to_string(i)));
    batch.push_back(make_command("LRANGE", "list", "0", "-1"));
    auto replies = co_await c->pipeline(std::move(batch));
    EXPECT_EQ(replies.size(), 101u);
    if (replies.size() != 101u || replies[100].elements.size() != 100u) co_return;
    EXPECT_EQ(replies[99].integer, 100);
    EXPECT_EQ(replies[100].elements[42].str, "42");
    c->close();
    EXPECT_FALSE(c->connected());
    EXPECT_THROW(co_await c->command(make_command("PING")), redis_error);
  }());
  EXPECT_EQ(redis.cli({"LLEN", "list"}), "100");
}

TEST_F(redis_connection_test, authenticates_and_never_names_the_password) {
  test::redis_server redis(dir_, {"--requirepass", "opik-pass"});
  test::run(ioc_, [&]() -> asio::awaitable<void> {
    auto c = co_await redis_connection::connect(ioc_.get_executor(), endpoint_of(redis, "opik-pass"));
    EXPECT_EQ((co_await c->command(make_command("PING"))).str, "PONG");
    try {
      co_await redis_connection::connect(ioc_.get_executor(), endpoint_of(redis, "wrong-pass"));
      ADD_FAILURE() << "a wrong password connected";
    } catch (const redis_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("refused the password"));
      EXPECT_THAT(e.what(), Not(HasSubstr("wrong-pass")));
    }
  }());
}

TEST_F(redis_connection_test, a_server_that_is_not_there_or_stops_answering_is_an_error_not_a_hang) {
  test::redis_server redis(dir_);
  auto endpoint = endpoint_of(redis);
  test::run(ioc_, [&]() -> asio::awaitable<void> {
    auto c = co_await redis_connection::connect(ioc_.get_executor(), endpoint);
    redis.signal(SIGSTOP);
    try {
      co_await c->command(make_command("PING"), std::chrono::milliseconds(200));
      ADD_FAILURE() << "a stopped server answered";
    } catch (const redis_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("did not answer within 200 ms"));
    }
    EXPECT_FALSE(c->connected());  // its replies would now be matched to the wrong commands
    redis.signal(SIGCONT);
    auto again = co_await redis_connection::connect(ioc_.get_executor(), endpoint);
    EXPECT_EQ((co_await again->command(make_command("PING"))).str, "PONG");
    redis.stop();
    EXPECT_THROW(co_await again->command(make_command("PING")), redis_error);  // lost
    EXPECT_THROW(co_await redis_connection::connect(ioc_.get_executor(), endpoint), redis_error);  // refused
  }());
}

TEST_F(redis_connection_test, a_blocking_command_waits_on_its_own_connection_while_another_works) {
  test::redis_server redis(dir_);
  std::string moved;
  std::unique_ptr<redis_connection> blocking, other;  // outlive the coroutine that makes them
  test::run(ioc_, [&]() -> asio::awaitable<void> {
    blocking = co_await redis_connection::connect(ioc_.get_executor(), endpoint_of(redis));
    other = co_await redis_connection::connect(ioc_.get_executor(), endpoint_of(redis));
    asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
      auto r = co_await blocking->command(make_command("BLMOVE", "q", "mine", "LEFT", "RIGHT", "5"), std::chrono::seconds(10));
      moved = r.str;
    }, asio::detached);
    co_await other->command(make_command("RPUSH", "q", "job-1"));  // the loop is free meanwhile
  }());
  EXPECT_TRUE(test::poll_until(ioc_, [&] { return !moved.empty(); }));
  EXPECT_EQ(moved, "job-1");
  EXPECT_EQ(redis.cli({"LRANGE", "mine", "0", "-1"}), "job-1");
}

// RQ's records as optd writes them, read back as RQ's tools read them.
TEST_F(redis_connection_test, rq_records_are_what_rq_reads) {
  test::redis_server redis(dir_);
  rq_worker w{"optd-test-1", "opik:optimizer-cloud", "host", 42, "optd 0.1"};
  const std::int64_t now = 1'784'195'272'123;
  redis.cli({"HSET", "rq:job:j1", "status", "queued", "data", "[]"});
  redis.cli({"RPUSH", "optd:claims:optd-test-1", "j1"});
  test::run(ioc_, [&]() -> asio::awaitable<void> {
    auto c = co_await redis_connection::connect(ioc_.get_executor(), endpoint_of(redis));
    for (auto group : {rq_register(w, now), rq_job_started(w, "j1", "e1", now), rq_job_heartbeat(w, "j1", "e1", now + 30'000)}) {
      auto replies = co_await c->pipeline(std::move(group));
      for (const auto& r : replies.back().elements) EXPECT_FALSE(r.is_error()) << r.str;
    }
  }());
  EXPECT_EQ(rq_timestamp(now), "2026-07-16T09:47:52.123000Z");
  EXPECT_EQ(redis.cli({"HGET", "rq:job:j1", "status"}), "started");
  EXPECT_EQ(redis.cli({"HGET", "rq:job:j1", "worker_name"}), "optd-test-1");
  EXPECT_EQ(redis.cli({"HGET", "rq:worker:optd-test-1", "state"}), "busy");
  EXPECT_EQ(redis.cli({"SISMEMBER", "rq:workers:opik:optimizer-cloud", "rq:worker:optd-test-1"}), "1");
  EXPECT_EQ(redis.cli({"ZSCORE", "rq:wip:opik:optimizer-cloud", "j1:e1"}), std::to_string(now / 1000 + 30 + 90));

  test::run(ioc_, [&]() -> asio::awaitable<void> {
    auto c = co_await redis_connection::connect(ioc_.get_executor(), endpoint_of(redis));
    co_await c->pipeline(rq_job_failed(w, "j1", "e1", now + 60'000, "InvalidOptimizerError: unknown optimizer type 'x'"));
  }());
  EXPECT_EQ(redis.cli({"HGET", "rq:job:j1", "status"}), "failed");
  EXPECT_EQ(redis.cli({"ZCARD", "rq:wip:opik:optimizer-cloud"}), "0");
  EXPECT_EQ(redis.cli({"ZCARD", "rq:failed:opik:optimizer-cloud"}), "1");
  EXPECT_EQ(redis.cli({"LLEN", "optd:claims:optd-test-1"}), "0");  // the claim is released with it
  EXPECT_EQ(redis.cli({"HGET", "rq:worker:optd-test-1", "failed_job_count"}), "1");
  EXPECT_EQ(redis.cli({"XLEN", "rq:results:j1"}), "1");
  // exc_info is zlib-compressed text, as RQ stores it (zlib's header: 78 9c).
  auto exc = redis.cli({"--no-raw", "HGET", "rq:job:j1", "exc_info"});
  EXPECT_THAT(exc, HasSubstr("x\\x9c"));
}

}  // namespace
}  // namespace optd::queue
