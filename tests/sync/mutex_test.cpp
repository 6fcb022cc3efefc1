// coring::mutex: mutual exclusion, FIFO hand-off, try_lock, guards, cancellation.
#include "sync_helpers.hpp"

#include <vector>

namespace {

using coring::testing::ended_cancelled;
using coring::testing::eventually;

coring::task<void> add_many(coring::mutex& m, int& counter, int times) {
  for (int i = 0; i < times; ++i) {
    auto guard = co_await m.lock();
    ++counter;  // a plain int: only the mutex keeps this exact
    if (i % 64 == 0) co_await coring::yield();  // hold the lock across a suspension now and then
  }
}

}  // namespace

CO_TEST(mutex, thousand_tasks_thousand_increments_exact) {
  coring::mutex m;
  int counter = 0;
  std::vector<coring::join_handle<void>> tasks;
  for (int t = 0; t < 1000; ++t) tasks.push_back(coring::spawn(add_many(m, counter, 1000)));
  for (auto& h : tasks) co_await std::move(h);
  auto guard = co_await m.lock();
  EXPECT_EQ(counter, 1000 * 1000);
}

CO_TEST(mutex, try_lock_and_guards) {
  coring::mutex m;
  EXPECT_TRUE(m.try_lock());
  EXPECT_TRUE(m.is_locked());
  EXPECT_FALSE(m.try_lock());
  {
    coring::mutex::guard g(m, std::adopt_lock);
    EXPECT_TRUE(g.owns_lock());
  }
  EXPECT_FALSE(m.is_locked());
  auto g = co_await m.lock();
  EXPECT_TRUE(m.is_locked());
  coring::mutex::guard moved = std::move(g);
  EXPECT_FALSE(g.owns_lock());
  moved.unlock();
  moved.unlock();  // idempotent
  EXPECT_FALSE(m.is_locked());
}

namespace {
coring::task<void> record_order(coring::mutex& m, std::vector<int>& order, int id, std::atomic<int>& queued) {
  queued.fetch_add(1);
  auto guard = co_await m.lock();
  order.push_back(id);
}
}  // namespace

CO_TEST(mutex, fifo_hand_off) {
  coring::mutex m;
  std::vector<int> order;
  std::atomic<int> queued{0};
  auto held = co_await m.lock();
  std::vector<coring::join_handle<void>> tasks;
  // Start waiters one at a time so that their arrival order is known.
  for (int i = 0; i < 8; ++i) {
    tasks.push_back(coring::spawn(record_order(m, order, i, queued)));
    CO_ASSERT_TRUE(co_await eventually([&] { return queued.load() == i + 1; }));
    // queued is bumped before lock(); give the waiter time to reach the queue.
    for (int k = 0; k < 50; ++k) co_await coring::yield();
  }
  held.unlock();
  for (auto& h : tasks) co_await std::move(h);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

namespace {
coring::task<void> lock_forever(coring::mutex& m, std::atomic<bool>& got) {
  auto guard = co_await m.lock();
  got = true;
}
}  // namespace

CO_TEST(mutex, cancel_while_waiting) {
  coring::mutex m;
  std::atomic<bool> got{false};
  auto held = co_await m.lock();
  auto h = coring::spawn(lock_forever(m, got));
  for (int k = 0; k < 100; ++k) co_await coring::yield();
  h.cancel();
  h.cancel();  // twice is fine
  EXPECT_TRUE(co_await ended_cancelled(std::move(h)));
  EXPECT_FALSE(got.load());
  held.unlock();
  EXPECT_FALSE(m.is_locked());  // the cancelled waiter left the queue: nobody was handed the lock
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

// Cancellation racing with the hand-off: every waiter either got the lock (and released
// it) or saw cancelled; the mutex ends unlocked either way.
CO_TEST(mutex, cancel_races_with_unlock) {
  coring::mutex m;
  int counter = 0;
  int acquired_total = 0;
  for (int round = 0; round < 200; ++round) {
    std::atomic<bool> got{false};
    auto held = co_await m.lock();
    auto h = coring::spawn(lock_forever(m, got));
    co_await coring::yield();
    h.cancel();
    held.unlock();
    const bool was_cancelled = co_await ended_cancelled(std::move(h));
    EXPECT_NE(was_cancelled, got.load());
    acquired_total += got.load() ? 1 : 0;
    EXPECT_FALSE(m.is_locked());
    ++counter;
  }
  EXPECT_EQ(counter, 200);
  (void)acquired_total;
}
