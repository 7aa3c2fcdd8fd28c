#include "store/owner_lock.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace optd::store {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(owner_lock, a_second_owner_is_refused_and_told_who_holds_the_store) {
  auto dir = test::temp_dir("owner_lock_second");
  auto first = owner_lock::acquire(dir, "optd serve");
  ASSERT_TRUE(first);
  // flock(2) locks an open file: a second open, even in this process, is a second owner.
  auto second = owner_lock::acquire(dir, "optd run");
  ASSERT_FALSE(second);
  EXPECT_THAT(second.error(), StartsWith("pid " + std::to_string(::getpid()) + " (optd serve, since 20"));
}

TEST(owner_lock, the_lock_ends_with_its_owner_however_it_ends_and_the_next_one_learns_who_it_was) {
  auto dir = test::temp_dir("owner_lock_killed");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = owner_lock::acquire(dir, "optd run");
    char c = held ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();  // until SIGKILL: no destructor runs
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto refused = owner_lock::acquire(dir, "optd serve");
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error(), StartsWith("pid " + std::to_string(child) + " (optd run, since "));

  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto next = owner_lock::acquire(dir, "optd serve");
  ASSERT_TRUE(next) << next.error();
  EXPECT_THAT(next->previous_owner(), HasSubstr("pid " + std::to_string(child) + " (optd run"));
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(owner_lock, released_when_its_owner_lets_go) {
  auto dir = test::temp_dir("owner_lock_release");
  { auto held = owner_lock::acquire(dir, "optd run"); ASSERT_TRUE(held); }
  EXPECT_TRUE(owner_lock::acquire(dir, "optd run"));
}

}  // namespace
}  // namespace optd::store
