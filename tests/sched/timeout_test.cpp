// coring::timeout (asyncio.wait_for) on the work-stealing runtime, where the inner
// operation may finish on another worker than the one whose ring holds the deadline.
#include "co_test.hpp"

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

coring::task<int> sleep_then(std::chrono::milliseconds d, int v) {
  co_await coring::sleep(d);
  co_return v;
}

// Inner work that hops workers: it yields between short sleeps.
coring::task<int> hopping(int v) {
  for (int i = 0; i < 3; ++i) {
    co_await coring::yield();
    co_await coring::sleep(1ms);
  }
  co_return v;
}

coring::task<int> timed_or_minus_one(std::chrono::milliseconds limit, coring::task<int> inner) {
  try {
    co_return co_await coring::timeout(limit, std::move(inner));
  } catch (const coring::timed_out&) {
    co_return -1;
  }
}

}  // namespace

CO_TEST(timeout_runtime, inner_finishing_first_keeps_its_value) {
  std::vector<coring::task<int>> tasks;
  for (int i = 0; i < 500; ++i) tasks.push_back(timed_or_minus_one(10s, hopping(i)));
  auto results = co_await coring::gather(std::move(tasks));
  for (int i = 0; i < 500; ++i) EXPECT_EQ(results[static_cast<std::size_t>(i)], i);
}

CO_TEST(timeout_runtime, deadline_cancels_the_inner_operation) {
  std::vector<coring::task<int>> tasks;
  for (int i = 0; i < 500; ++i) tasks.push_back(timed_or_minus_one(2ms, sleep_then(1h, i)));
  auto results = co_await coring::gather(std::move(tasks));
  for (int r : results) EXPECT_EQ(r, -1);
}

CO_TEST(timeout_runtime, channel_recv_times_out_and_loses_nothing) {
  coring::channel<int> ch(4);
  std::optional<int> got;
  bool timed_out = false;
  try {
    got = co_await coring::timeout(2ms, ch.recv());
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_FALSE(got.has_value());
  // The channel still works, and an item sent now is received exactly once.
  co_await ch.send(7);
  auto again = co_await coring::timeout(1s, ch.recv());
  EXPECT_TRUE(again.has_value() && *again == 7);
}

TEST(timeout_runtime, cancelling_the_outer_task_is_cancelled_not_timed_out) {
  coring::runtime rt(coring::testing::co_test_options());
  auto h = rt.spawn([]() -> coring::task<int> { co_return co_await coring::timeout(1h, sleep_then(1h, 1)); }());
  h.cancel();
  EXPECT_THROW(h.get(), coring::cancelled);
}

// timeout() takes a blocking() call (issue 11: it did not compile, the awaiter could not
// be moved into timeout's task). A call that finishes in time keeps its value and its
// exception; a call still queued when the deadline passes is removed and the awaiter
// sees coring::timed_out at once.
CO_TEST(timeout_runtime, wraps_a_blocking_call) {
  EXPECT_EQ(co_await coring::timeout(10s, coring::blocking([] { return 42; })), 42);
  const std::string s = "copied into the call";
  // Named and moved in: a capturing lambda built inside the co_await operand is what
  // g++ 12 destroys twice (README "Known issues").
  auto size_of_s = [s] { return s.size(); };
  EXPECT_EQ(co_await coring::timeout(10s, coring::blocking(std::move(size_of_s))), s.size());
  bool threw = false;
  try {
    co_await coring::timeout(10s, coring::blocking([]() -> int { throw std::runtime_error("from the pool"); }));
  } catch (const std::runtime_error&) {
    threw = true;
  }
  EXPECT_TRUE(threw);

  coring::blocking_pool_options one;
  one.max_threads = 1;
  coring::blocking_pool pool(one);
  std::atomic<bool> gate{false}, started{false};
  auto occupier = coring::spawn([](coring::blocking_pool& p, std::atomic<bool>& g,
                                   std::atomic<bool>& st) -> coring::task<void> {
    co_await p.run([&] {
      st = true;
      while (!g.load()) std::this_thread::sleep_for(200us);
    });
  }(pool, gate, started));
  while (!started.load()) co_await coring::yield();
  bool timed_out = false;
  try {
    (void)co_await coring::timeout(1ms, pool.run([] { return 7; }));  // queued behind the occupier
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  gate = true;
  co_await std::move(occupier);
}
