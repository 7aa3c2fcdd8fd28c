// A sandbox's process ends gracefully when it can (so its CPU time is the daemon's children's), and
// is killed when it does not within the grace.
#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plugins/sandbox/child_process.hpp"

namespace optd::plugins {
namespace {

using namespace std::chrono_literals;

child_process start(boost::asio::io_context& ioc, std::vector<std::string> argv) {
  spawn_options o;
  o.program = argv.front();
  o.argv = std::move(argv);
  auto spawned = child_process::spawn(ioc.get_executor(), o);
  EXPECT_TRUE(spawned) << spawned.error();
  return std::move(*spawned);
}

TEST(child_process, ends_a_child_that_exits_when_its_input_closes_and_kills_one_that_does_not) {
  boost::asio::io_context ioc;
  auto reader = start(ioc, {"/bin/cat"});  // reads its input to the end, then exits 0
  EXPECT_EQ(reader.end(10s), "exited with status 0");  // returns as soon as cat has exited

  auto sleeper = start(ioc, {"/bin/sleep", "600"});
  EXPECT_EQ(sleeper.end(20ms), "killed by SIGKILL");

  auto missing = start(ioc, {"/nonexistent/program"});
  EXPECT_THAT(missing.end(10s), ::testing::StartsWith("exited with status 127"));
}

}  // namespace
}  // namespace optd::plugins
