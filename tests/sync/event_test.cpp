// coring::event: set wakes all, clear, is_set, cancellation, many waiters.
#include "sync_helpers.hpp"

#include <vector>

namespace {

using coring::testing::ended_cancelled;
using coring::testing::eventually;

coring::task<void> wait_then_count(coring::event& e, std::atomic<int>& woke) {
  co_await e.wait();
  woke.fetch_add(1);
}

}  // namespace

CO_TEST(event, set_wakes_every_waiter) {
  coring::event e;
  std::atomic<int> woke{0};
  std::vector<coring::join_handle<void>> tasks;
  for (int i = 0; i < 1000; ++i) tasks.push_back(coring::spawn(wait_then_count(e, woke)));
  for (int k = 0; k < 100; ++k) co_await coring::yield();
  EXPECT_EQ(woke.load(), 0);
  EXPECT_FALSE(e.is_set());
  e.set();
  for (auto& h : tasks) co_await std::move(h);
  EXPECT_EQ(woke.load(), 1000);
}

CO_TEST(event, hundred_thousand_waiters_wake_in_one_set) {
  coring::event e;
  std::atomic<int> woke{0};
  std::vector<coring::join_handle<void>> tasks;
  tasks.reserve(100000);
  for (int i = 0; i < 100000; ++i) tasks.push_back(coring::spawn(wait_then_count(e, woke)));
  co_await coring::yield();
  e.set();
  for (auto& h : tasks) co_await std::move(h);
  EXPECT_EQ(woke.load(), 100000);
}

CO_TEST(event, set_clear_and_ready_paths) {
  coring::event e(true);
  EXPECT_TRUE(e.is_set());
  co_await e.wait();  // set: does not suspend
  e.clear();
  EXPECT_FALSE(e.is_set());
  std::atomic<int> woke{0};
  auto h = coring::spawn(wait_then_count(e, woke));
  for (int k = 0; k < 50; ++k) co_await coring::yield();
  EXPECT_EQ(woke.load(), 0);
  e.set();
  e.set();  // idempotent
  co_await std::move(h);
  EXPECT_EQ(woke.load(), 1);
}

CO_TEST(event, cancel_while_waiting) {
  coring::event e;
  std::atomic<int> woke{0};
  auto a = coring::spawn(wait_then_count(e, woke));
  auto b = coring::spawn(wait_then_count(e, woke));
  for (int k = 0; k < 100; ++k) co_await coring::yield();
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(std::move(a)));
  EXPECT_EQ(woke.load(), 0);
  e.set();
  co_await std::move(b);
  EXPECT_EQ(woke.load(), 1);
}

// A task cancelled before it ever waits sees cancelled at its first suspension point.
CO_TEST(event, cancel_before_waiting) {
  coring::event e;
  std::atomic<int> woke{0};
  auto a = coring::spawn(wait_then_count(e, woke));
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(std::move(a)));
}

TEST(event, awaiting_outside_a_runtime_thread_is_refused) {
  // A coroutine resumed by hand on a plain thread has no executor to be posted to.
  coring::event e;
  auto body = [](coring::event& ev) -> coring::task<bool> {
    try {
      co_await ev.wait();
    } catch (const std::logic_error&) {
      co_return true;
    }
    co_return false;
  };
  auto t = body(e);
  t.handle().resume();
  ASSERT_TRUE(t.done());
  EXPECT_TRUE(t.handle().promise().take());
}
