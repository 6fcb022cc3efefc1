// Timers: sleep, sleep_until, timeout, cancellation of a sleep, a million sleepers.
#include "io_test.hpp"
#include "sanitizers.hpp"

#include <coring/io/timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

IO_TEST(timer, sleep_waits_at_least_its_duration) {
  const auto start = clk::now();
  co_await coring::sleep(20ms);
  const auto took = clk::now() - start;
  EXPECT_GE(took, 20ms);
}

IO_TEST(timer, past_deadline_completes_at_once) {
  co_await coring::sleep_until(clk::now() - 1s);
  co_await coring::sleep(0ms);
}

IO_TEST(timer, sleepers_wake_in_deadline_order) {
  std::vector<int> order;
  auto sleeper = [&](int id, std::chrono::milliseconds d) -> coring::task<void> {
    co_await coring::sleep(d);
    order.push_back(id);
  };
  co_await coring::gather(sleeper(3, 30ms), sleeper(1, 10ms), sleeper(2, 20ms));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

IO_TEST(timer, when_any_cancels_the_losing_sleep) {
  auto r = co_await coring::when_any(
      []() -> coring::task<int> {
        co_await coring::sleep(10ms);
        co_return 1;
      }(),
      []() -> coring::task<int> {
        co_await coring::sleep(std::chrono::hours(1));  // cancelled in the heap: else the test hangs
        co_return 2;
      }());
  EXPECT_EQ(r.index(), 0u);
}

IO_TEST(timer, timeout_of_a_long_sleep_throws_timed_out) {
  const auto start = clk::now();
  bool timed_out = false;
  try {
    co_await coring::timeout(20ms, coring::sleep(std::chrono::hours(1)));  // else the test hangs
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_GE(clk::now() - start, 20ms);
}

IO_TEST(timer, timeout_passes_the_value_through_in_time) {
  auto quick = []() -> coring::task<int> {
    co_await coring::sleep(1ms);
    co_return 42;
  };
  EXPECT_EQ(co_await coring::timeout(5s, quick()), 42);
}

IO_TEST(timer, timeout_passes_other_exceptions_through) {
  auto failing = []() -> coring::task<int> {
    co_await coring::sleep(1ms);
    throw std::runtime_error("boom");
  };
  bool caught = false;
  try {
    (void)co_await coring::timeout(5s, failing());
  } catch (const std::runtime_error&) {
    caught = true;
  }
  EXPECT_TRUE(caught);
}

#ifdef CORING_SANITIZED
constexpr int sleepers = 100'000;
#else
constexpr int sleepers = 1'000'000;
#endif

// 1,000,000 concurrent sleepers of 50-100 ms: all complete; lateness is printed, and
// only checked against a generous bound (the machine is shared).
IO_TEST(timer, a_million_sleepers) {
  std::vector<std::int64_t> lateness_us(sleepers);
  auto sleeper = [&](int i, std::chrono::milliseconds d) -> coring::task<void> {
    const auto deadline = clk::now() + d;
    co_await coring::sleep_until(deadline);
    lateness_us[static_cast<std::size_t>(i)] =
        std::chrono::duration_cast<std::chrono::microseconds>(clk::now() - deadline).count();
  };
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> ms(50, 100);
  const auto start = clk::now();
  std::vector<coring::task<void>> tasks;
  tasks.reserve(sleepers);
  for (int i = 0; i < sleepers; ++i) tasks.push_back(sleeper(i, std::chrono::milliseconds(ms(rng))));
  const auto created = clk::now();
  co_await coring::gather(std::move(tasks));
  const auto total = clk::now() - start;
  std::sort(lateness_us.begin(), lateness_us.end());
  const auto pct = [&](double p) { return lateness_us[static_cast<std::size_t>(p * (sleepers - 1))]; };
  std::printf("%d sleepers of 50-100 ms: created in %.1f ms, all done in %.1f ms; lateness p50 %lld us, p99 %lld us, max %lld us\n",
              sleepers, std::chrono::duration<double, std::milli>(created - start).count(),
              std::chrono::duration<double, std::milli>(total).count(), static_cast<long long>(pct(0.5)),
              static_cast<long long>(pct(0.99)), static_cast<long long>(lateness_us.back()));
  EXPECT_GE(lateness_us.front(), 0);  // none woke early; the figures above are for reading
}

// Lateness when the loop is not saturated: 10,000 sleepers spread over 200 ms.
IO_TEST(timer, lateness_of_ten_thousand_sleepers) {
  constexpr int n = 10'000;
  std::vector<std::int64_t> lateness_us(n);
  auto sleeper = [&](int i) -> coring::task<void> {
    const auto deadline = clk::now() + std::chrono::microseconds(100'000 + (i * 20));
    co_await coring::sleep_until(deadline);
    lateness_us[static_cast<std::size_t>(i)] =
        std::chrono::duration_cast<std::chrono::microseconds>(clk::now() - deadline).count();
  };
  std::vector<coring::task<void>> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back(sleeper(i));
  co_await coring::gather(std::move(tasks));
  std::sort(lateness_us.begin(), lateness_us.end());
  std::printf("%d sleepers over 200 ms: lateness p50 %lld us, p99 %lld us, max %lld us\n", n,
              static_cast<long long>(lateness_us[n / 2]), static_cast<long long>(lateness_us[n * 99 / 100]),
              static_cast<long long>(lateness_us.back()));
  EXPECT_GE(lateness_us.front(), 0);  // none woke early; the figures above are for reading
}
