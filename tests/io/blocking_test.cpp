// coring::blocking / blocking_pool: results and exceptions, resumption on a worker, the
// thread cap, shrinking after the idle time, cancellation (queued and running), shutdown.
#include "co_test.hpp"

#include <coring/io/blocking.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Polls `done` (yielding) until it holds or `limit` passes.
template <class Done>
coring::task<bool> eventually(Done done, std::chrono::milliseconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await coring::yield();
  }
  co_return true;
}

// Blocks the calling (pool) thread until `open` is set.
void wait_for_gate(const std::atomic<bool>& open) {
  while (!open.load()) std::this_thread::sleep_for(200us);
}

coring::blocking_pool_options small_pool(unsigned threads, std::chrono::milliseconds idle = 10s) {
  coring::blocking_pool_options o;
  o.max_threads = threads;
  o.idle_timeout = idle;
  return o;
}

}  // namespace

CO_TEST(blocking, returns_values_references_void_and_rethrows) {
  EXPECT_EQ(co_await coring::blocking([](int a, int b) { return a + b; }, 2, 3), 5);
  std::string s = co_await coring::blocking([](std::string x) { return x + "!"; }, std::string("hi"));
  EXPECT_EQ(s, "hi!");
  int target = 1;
  int& ref = co_await coring::blocking([&]() -> int& { return target; });
  EXPECT_EQ(&ref, &target);
  bool ran = false;
  co_await coring::blocking([&] { ran = true; });
  EXPECT_TRUE(ran);
  bool caught = false;
  try {
    co_await coring::blocking([]() -> int { throw std::runtime_error("boom"); });
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "boom";
  }
  EXPECT_TRUE(caught);
}

CO_TEST(blocking, runs_on_a_pool_thread_and_resumes_on_a_worker) {
  for (int i = 0; i < 50; ++i) {
    const auto before = std::this_thread::get_id();
    EXPECT_NE(coring::current_worker(), -1);
    auto [inside, worker_inside] = co_await coring::blocking(
        [] { return std::make_pair(std::this_thread::get_id(), coring::current_worker()); });
    EXPECT_NE(inside, before);
    EXPECT_EQ(worker_inside, -1);  // not a worker thread
    EXPECT_NE(std::this_thread::get_id(), inside);
    EXPECT_NE(coring::current_worker(), -1);  // resumed on a worker
  }
}

namespace {
coring::task<void> counted_call(coring::blocking_pool& pool, std::atomic<int>& running, std::atomic<int>& max_running) {
  co_await pool.run([&] {
    const int now = running.fetch_add(1) + 1;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(2ms);
    running.fetch_sub(1);
  });
}
}  // namespace

CO_TEST(blocking, never_more_threads_than_the_cap_then_shrinks_after_idle_time) {
  coring::blocking_pool pool(small_pool(4, 50ms));
  std::atomic<int> running{0}, max_running{0};
  std::vector<coring::join_handle<void>> calls;
  for (int i = 0; i < 64; ++i) calls.push_back(coring::spawn(counted_call(pool, running, max_running)));
  CO_ASSERT_TRUE(co_await eventually([&] { return pool.queued() > 0 || max_running.load() > 0; }));
  EXPECT_LE(pool.threads(), 4U);
  for (auto& h : calls) co_await std::move(h);
  EXPECT_LE(max_running.load(), 4);
  EXPECT_GE(max_running.load(), 2);  // calls beyond one do run in parallel
  EXPECT_LE(pool.threads(), 4U);
  // Idle threads exit after 50 ms.
  EXPECT_TRUE(co_await eventually([&] { return pool.threads() == 0; }, 10s));
  // And the pool grows again on demand.
  EXPECT_EQ(co_await pool.run([] { return 7; }), 7);
}

CO_TEST(blocking, an_idle_thread_is_reused_instead_of_starting_another) {
  coring::blocking_pool pool(small_pool(8));
  for (int i = 0; i < 100; ++i) co_await pool.run([] {});
  EXPECT_EQ(pool.threads(), 1U);  // sequential calls: one thread, reused
}

namespace {
coring::task<void> gated_call(coring::blocking_pool& pool, const std::atomic<bool>& gate, std::atomic<int>& finished) {
  co_await pool.run([&] {
    wait_for_gate(gate);
    finished.fetch_add(1);
  });
}
}  // namespace

CO_TEST(blocking, cancel_a_queued_call_resumes_at_once) {
  coring::blocking_pool pool(small_pool(1));
  std::atomic<bool> gate{false};
  std::atomic<int> finished{0};
  auto first = coring::spawn(gated_call(pool, gate, finished));
  CO_ASSERT_TRUE(co_await eventually([&] { return pool.threads() == 1 && pool.queued() == 0; }));
  auto second = coring::spawn(gated_call(pool, gate, finished));
  CO_ASSERT_TRUE(co_await eventually([&] { return pool.queued() == 1; }));
  second.cancel();
  bool cancelled = false;
  try {
    co_await std::move(second);  // the first call still blocks the only thread
  } catch (const coring::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(pool.queued(), 0U);
  gate = true;
  co_await std::move(first);
  EXPECT_EQ(finished.load(), 1);  // the cancelled call never ran
}

CO_TEST(blocking, cancel_a_running_call_discards_its_result) {
  coring::blocking_pool pool(small_pool(2));
  std::atomic<bool> gate{false}, started{false};
  auto h = coring::spawn([](coring::blocking_pool& p, std::atomic<bool>& g, std::atomic<bool>& s) -> coring::task<int> {
    co_return co_await p.run([&] {
      s = true;
      wait_for_gate(g);
      return 42;
    });
  }(pool, gate, started));
  CO_ASSERT_TRUE(co_await eventually([&] { return started.load(); }));
  h.cancel();
  for (int k = 0; k < 20; ++k) co_await coring::yield();
  EXPECT_FALSE(h.done());  // it waits for the call to return
  gate = true;
  bool cancelled = false;
  try {
    (void)co_await std::move(h);
  } catch (const coring::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
}

CO_TEST(blocking, shutdown_cancels_queued_calls_and_waits_for_running_ones) {
  coring::blocking_pool pool(small_pool(1));
  std::atomic<bool> gate{false};
  std::atomic<int> finished{0};
  auto running = coring::spawn(gated_call(pool, gate, finished));
  CO_ASSERT_TRUE(co_await eventually([&] { return pool.threads() == 1 && pool.queued() == 0; }));
  auto queued = coring::spawn(gated_call(pool, gate, finished));
  CO_ASSERT_TRUE(co_await eventually([&] { return pool.queued() == 1; }));
  std::atomic<bool> shut{false};
  std::thread stopper([&] {
    pool.shutdown();  // blocks until the running call returns
    shut = true;
  });
  bool cancelled = false;
  try {
    co_await std::move(queued);
  } catch (const coring::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(shut.load());
  gate = true;
  co_await std::move(running);  // a running call completes normally
  stopper.join();
  EXPECT_TRUE(shut.load());
  EXPECT_EQ(finished.load(), 1);
  EXPECT_EQ(pool.threads(), 0U);
  cancelled = false;
  try {
    co_await pool.run([] {});
  } catch (const coring::cancelled&) {
    cancelled = true;  // calls after shutdown are refused
  }
  EXPECT_TRUE(cancelled);
}

CO_TEST(blocking, cancelled_before_the_call_never_runs_it) {
  std::atomic<bool> ran{false};
  auto h = coring::spawn([](std::atomic<bool>& r) -> coring::task<void> {
    co_await coring::blocking([&] { r = true; });
  }(ran));
  h.cancel();
  bool cancelled = false;
  try {
    co_await std::move(h);
  } catch (const coring::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled || ran.load());  // cancelled before the call, or it had already finished
}

CO_TEST(blocking, configure_a_live_pool) {
  coring::blocking_pool pool(small_pool(2, 10s));
  std::vector<coring::join_handle<void>> calls;
  std::atomic<int> running{0}, max_running{0};
  for (int i = 0; i < 8; ++i) calls.push_back(coring::spawn(counted_call(pool, running, max_running)));
  for (auto& h : calls) co_await std::move(h);
  pool.configure(small_pool(2, 20ms));  // shorter idle time applies to waiting threads now
  EXPECT_TRUE(co_await eventually([&] { return pool.threads() == 0; }, 10s));
  EXPECT_THROW(pool.configure(small_pool(0)), std::invalid_argument);
}

TEST(blocking, invalid_options_and_outside_a_runtime) {
  EXPECT_THROW(coring::blocking_pool(small_pool(0)), std::invalid_argument);
  auto body = []() -> coring::task<bool> {
    try {
      co_await coring::blocking([] {});
    } catch (const std::logic_error&) {
      co_return true;
    }
    co_return false;
  };
  auto t = body();
  t.handle().resume();
  ASSERT_TRUE(t.done());
  EXPECT_TRUE(t.handle().promise().take());
}
