// gather and when_any: values, void, exceptions, real concurrency, cancellation of losers.
#include "co_test.hpp"

#include <array>
#include <atomic>
#include <span>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

coring::task<int> value(int v) { co_return v; }
coring::task<std::string> text(std::string s) { co_return s; }
coring::task<void> bump(std::atomic<int>& n) {
  n.fetch_add(1);
  co_return;
}
coring::task<int> fail(std::string what) {
  throw std::runtime_error(what);
  co_return 0;
}

// Yields until `flag` is set; the only way out besides cancellation.
coring::task<int> wait_for_flag(const std::atomic<bool>& flag, int result) {
  while (!flag.load()) co_await coring::yield();
  co_return result;
}

coring::task<long> fib(int n) {
  if (n < 2) co_return n;
  auto [a, b] = co_await coring::gather(fib(n - 1), fib(n - 2));
  co_return a + b;
}

// CPU work outside the coroutine body: g++ 12 drops `volatile` from coroutine-frame
// locals, so a busy loop written inside the coroutine is optimised away.
[[gnu::noinline]] long busy_work(long n) {
  volatile long sink = 0;
  for (long i = 0; i < n; ++i) sink = sink + i;
  return sink;
}
coring::task<int> worker_id_after_spin() {
  (void)busy_work(20000);  // enough that the other worker gets to steal siblings
  co_return coring::current_worker();
}

}  // namespace

CO_TEST(gather, tuple_of_values) {
  auto [a, b, c] = co_await coring::gather(value(1), text("two"), value(3));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, "two");
  EXPECT_EQ(c, 3);
}

CO_TEST(gather, void_children_give_monostate) {
  std::atomic<int> n{0};
  auto [x, y] = co_await coring::gather(bump(n), bump(n));
  (void)x;
  (void)y;
  EXPECT_EQ(n.load(), 2);
}

CO_TEST(gather, vector_preserves_order) {
  std::vector<coring::task<int>> tasks;
  for (int i = 0; i < 1000; ++i) tasks.push_back(value(i));
  std::vector<int> out = co_await coring::gather(std::move(tasks));
  EXPECT_EQ(out.size(), 1000u);
  for (int i = 0; i < static_cast<int>(out.size()); ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], i);
}

CO_TEST(gather, empty_vector_completes) {
  std::vector<int> out = co_await coring::gather(std::vector<coring::task<int>>{});
  EXPECT_TRUE(out.empty());
}

CO_TEST(gather, first_exception_in_argument_order_after_all_finish) {
  std::atomic<int> n{0};
  std::string what;
  try {
    (void)co_await coring::gather(bump(n), fail("first"), fail("second"), bump(n));
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  EXPECT_EQ(what, "first");
  EXPECT_EQ(n.load(), 2);  // the others still ran to completion
}

CO_TEST(gather, recursive_fib) { EXPECT_EQ(co_await fib(20), 6765); }

CO_TEST(gather, children_run_on_several_workers) {
  std::vector<coring::task<int>> tasks;
  for (int i = 0; i < 2000; ++i) tasks.push_back(worker_id_after_spin());
  auto ids = co_await coring::gather(std::move(tasks));
  std::set<int> seen(ids.begin(), ids.end());
  EXPECT_EQ(seen.size(), 2u) << "work did not spread to both workers";
}

// gather_into: a caller-owned span of tasks and of result slots (issue 10, item 5).
coring::task<long> fib_into(int n) {
  if (n < 2) co_return n;
  std::array<coring::task<long>, 2> kids{fib_into(n - 1), fib_into(n - 2)};
  std::array<long, 2> sums{};
  co_await coring::gather_into(kids, sums);
  co_return sums[0] + sums[1];
}

CO_TEST(gather_into, results_land_in_the_callers_slots_in_order) {
  std::array<coring::task<int>, 5> kids{value(10), value(11), value(12), value(13), value(14)};
  std::array<int, 5> out{};
  co_await coring::gather_into(std::span(kids), std::span(out));
  EXPECT_EQ(out, (std::array<int, 5>{10, 11, 12, 13, 14}));
  EXPECT_EQ(co_await fib_into(18), 2584);
}

CO_TEST(gather_into, void_tasks_and_an_empty_span) {
  std::atomic<int> n{0};
  std::array<coring::task<void>, 3> kids{bump(n), bump(n), bump(n)};
  co_await coring::gather_into(std::span(kids));
  EXPECT_EQ(n.load(), 3);
  co_await coring::gather_into(std::span<coring::task<void>>{});
}

CO_TEST(gather_into, first_failure_in_order_is_rethrown_and_slots_are_untouched) {
  std::array<coring::task<int>, 3> kids{value(1), fail("second"), fail("third")};
  std::array<int, 3> out{-1, -1, -1};
  std::string what;
  try {
    co_await coring::gather_into(std::span(kids), std::span(out));
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  EXPECT_EQ(what, "second");
  EXPECT_EQ(out, (std::array<int, 3>{-1, -1, -1}));
}

CO_TEST(gather_into, mismatched_spans_and_empty_tasks_are_refused_at_the_call) {
  std::array<coring::task<int>, 2> kids{value(1), value(2)};
  std::array<int, 1> short_out{};
  EXPECT_THROW((void)coring::gather_into(std::span(kids), std::span(short_out)), std::invalid_argument);
  std::array<coring::task<int>, 2> holes{value(1), coring::task<int>{}};
  std::array<int, 2> out{};
  EXPECT_THROW((void)coring::gather_into(std::span(holes), std::span(out)), std::invalid_argument);
  std::array<int, 2> fits{};
  co_await coring::gather_into(std::span(kids), std::span(fits));  // the tasks were left intact
  EXPECT_EQ(fits, (std::array<int, 2>{1, 2}));
}

CO_TEST(when_any, first_finisher_wins_and_losers_are_cancelled) {
  std::atomic<bool> never{false};
  auto r = co_await coring::when_any(wait_for_flag(never, 1), value(2));
  EXPECT_EQ(r.index(), 1u);
  EXPECT_EQ(std::get<1>(r), 2);
}

CO_TEST(when_any, winner_exception_is_rethrown) {
  std::atomic<bool> never{false};
  bool caught = false;
  try {
    (void)co_await coring::when_any(wait_for_flag(never, 1), fail("lost"));
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "lost";
  }
  EXPECT_TRUE(caught);
}

CO_TEST(when_any, vector_reports_index) {
  std::atomic<bool> never{false};
  std::vector<coring::task<int>> tasks;
  tasks.push_back(wait_for_flag(never, 0));
  tasks.push_back(wait_for_flag(never, 1));
  tasks.push_back(value(7));
  auto [index, v] = co_await coring::when_any(std::move(tasks));
  EXPECT_EQ(index, 2u);
  EXPECT_EQ(v, 7);
}
