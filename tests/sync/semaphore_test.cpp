// coring::semaphore: never admits more than its count, FIFO, permits, cancellation.
#include "sync_helpers.hpp"

#include <vector>

namespace {

using coring::testing::ended_cancelled;
using coring::testing::eventually;
using coring::testing::raise_max;

[[gnu::noinline]] void spin_a_little() {
  volatile int sink = 0;
  for (int i = 0; i < 2000; ++i) sink = sink + i;
}

coring::task<void> enter_many(coring::semaphore& s, std::atomic<int>& inside, std::atomic<int>& max_inside,
                              int times) {
  for (int i = 0; i < times; ++i) {
    co_await s.acquire();
    raise_max(max_inside, inside.fetch_add(1) + 1);
    spin_a_little();
    if (i % 4 == 0) co_await coring::yield();
    inside.fetch_sub(1);
    s.release();
  }
}

}  // namespace

CO_TEST(semaphore, never_admits_more_than_its_count) {
  coring::semaphore s(3);
  std::atomic<int> inside{0}, max_inside{0};
  std::vector<coring::join_handle<void>> tasks;
  for (int t = 0; t < 64; ++t) tasks.push_back(coring::spawn(enter_many(s, inside, max_inside, 200)));
  for (auto& h : tasks) co_await std::move(h);
  EXPECT_LE(max_inside.load(), 3);
  EXPECT_GE(max_inside.load(), 1);
  EXPECT_EQ(s.available(), 3U);
}

CO_TEST(semaphore, try_acquire_release_n_and_permit) {
  coring::semaphore s(2);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_FALSE(s.try_acquire());
  s.release(2);
  EXPECT_EQ(s.available(), 2U);
  {
    auto p = co_await s.acquire_guard();
    EXPECT_TRUE(static_cast<bool>(p));
    EXPECT_EQ(s.available(), 1U);
  }
  EXPECT_EQ(s.available(), 2U);
}

namespace {
coring::task<void> acquire_once(coring::semaphore& s, std::atomic<int>& got) {
  co_await s.acquire();
  got.fetch_add(1);
}
}  // namespace

CO_TEST(semaphore, release_n_wakes_n_waiters) {
  coring::semaphore s(0);
  std::atomic<int> got{0};
  std::vector<coring::join_handle<void>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(coring::spawn(acquire_once(s, got)));
  for (int k = 0; k < 100; ++k) co_await coring::yield();
  EXPECT_EQ(got.load(), 0);
  s.release(3);
  CO_ASSERT_TRUE(co_await eventually([&] { return got.load() == 3; }));
  s.release(5);  // two to waiters, three back to the count
  for (auto& h : tasks) co_await std::move(h);
  EXPECT_EQ(got.load(), 5);
  EXPECT_EQ(s.available(), 3U);
}

CO_TEST(semaphore, cancel_while_waiting) {
  coring::semaphore s(0);
  std::atomic<int> got{0};
  auto h = coring::spawn(acquire_once(s, got));
  for (int k = 0; k < 100; ++k) co_await coring::yield();
  h.cancel();
  EXPECT_TRUE(co_await ended_cancelled(std::move(h)));
  s.release();
  EXPECT_EQ(s.available(), 1U);  // the permit was not handed to the cancelled waiter
  EXPECT_EQ(got.load(), 0);
}
