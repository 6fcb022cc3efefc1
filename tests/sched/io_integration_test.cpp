// The io layer under the work-stealing runtime: workers own a reactor and park in it.
#include "co_test.hpp"

#include <coring/io/reactor.hpp>
#include <coring/io/timer.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <vector>

using namespace std::chrono_literals;

namespace {

coring::task<int> sleep_then_worker(std::chrono::milliseconds d) {
  co_await coring::sleep(d);
  co_return coring::current_worker();
}

}  // namespace

CO_TEST(io_runtime, every_worker_has_a_reactor) {
  EXPECT_NE(coring::current_reactor(), nullptr);
  co_return;
}

CO_TEST(io_runtime, sleeping_tasks_complete_and_spread_over_workers) {
  // Timers fire on the worker whose ring holds them; the woken coroutines land in that
  // worker's queues, where the idle peer steals some.
  std::vector<coring::join_handle<int>> handles;
  for (int i = 0; i < 2000; ++i) handles.push_back(coring::spawn(sleep_then_worker(std::chrono::milliseconds(1 + i % 20))));
  std::set<int> ids;
  for (auto& h : handles) ids.insert(co_await h);
  EXPECT_EQ(ids.size(), 2u);
}

namespace {
struct in_flight_meter {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
};
coring::task<void> metered_sleep(in_flight_meter& m) {
  const int n = m.now.fetch_add(1) + 1;
  for (int seen = m.max.load(); seen < n && !m.max.compare_exchange_weak(seen, n);) {
  }
  co_await coring::sleep(20ms);
  m.now.fetch_sub(1);
}
}  // namespace

CO_TEST(io_runtime, gather_of_sleeps_sleeps_concurrently) {
  // All three are asleep at once (a sequential run would never exceed one).
  in_flight_meter m;
  co_await coring::gather(metered_sleep(m), metered_sleep(m), metered_sleep(m));
  EXPECT_EQ(m.max.load(), 3);
  EXPECT_EQ(m.now.load(), 0);
}

TEST(io_runtime, cancel_wakes_a_task_sleeping_on_a_worker) {
  coring::runtime rt(coring::testing::co_test_options());
  auto h = rt.spawn([]() -> coring::task<void> { co_await coring::sleep(std::chrono::hours(1)); }());
  h.cancel();
  EXPECT_THROW(h.get(), coring::cancelled);
}

TEST(io_runtime, shutdown_cancels_sleepers) {
  coring::runtime rt(coring::testing::co_test_options());
  for (int i = 0; i < 100; ++i) (void)rt.spawn([]() -> coring::task<void> { co_await coring::sleep(std::chrono::hours(1)); }());
  // ~runtime must cancel the hour-long sleeps and return.
}
