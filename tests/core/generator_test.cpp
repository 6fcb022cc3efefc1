// generator<T>: values in order, laziness, move-only values, copies of yielded lvalues,
// exceptions, destruction of a suspended body, bodies that sleep and receive on a
// 2-worker runtime, cancellation and timeout of the consumer, a second pending next(),
// and a million values without stack growth.
#include "co_test.hpp"

#include <coring/core/generator.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

coring::generator<int> count_to(int n, int& steps) {
  for (int i = 0; i < n; ++i) {
    ++steps;
    co_yield i;
  }
}

coring::generator<int> empty() { co_return; }

coring::generator<int> doubled(coring::generator<int> inner) {
  while (std::optional<int> v = co_await inner.next()) co_yield *v * 2;
}

coring::generator<std::unique_ptr<int>> boxes(int n) {
  for (int i = 0; i < n; ++i) {
    auto named = std::make_unique<int>(i);
    co_yield std::move(named);
    EXPECT_EQ(named, nullptr);  // the consumer moved it out
  }
}

// Yields the same lvalue twice: each next() gets a copy and the body keeps its own.
coring::generator<std::string> echo_twice(std::string s) {
  co_yield s;
  EXPECT_EQ(s, "kept");
  co_yield s;
}

coring::generator<int> fails_after_one() {
  co_yield 1;
  throw std::runtime_error("boom");
}

// Counts live instances, so a leak or a double destruction shows.
struct tracked {
  static inline std::atomic<int> live{0};
  static inline std::atomic<int> destroyed{0};
  explicit tracked(int v) : value(v) { ++live; }
  tracked(tracked&& o) noexcept : value(o.value) { ++live; }
  tracked(const tracked& o) : value(o.value) { ++live; }
  tracked& operator=(const tracked&) = default;
  ~tracked() {
    --live;
    ++destroyed;
  }
  int value;
};

coring::generator<tracked> tracked_values(tracked param) {
  tracked local(100);
  for (int i = 0;; ++i) co_yield tracked(param.value + local.value + i);
}

// Yields until `done()` holds or 20 s pass; returns whether it held (polls instead of
// sleeping a fixed time).
coring::task<bool> eventually(std::function<bool()> done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await coring::yield();
  }
  co_return true;
}

// Receives from `ch` and sleeps between items; records the thread of every co_yield.
coring::generator<int> received_and_slept(coring::channel<int>& ch, std::thread::id& yielded_on) {
  int n = 0;
  while (std::optional<int> v = co_await ch.recv()) {
    if (++n % 8 == 0) co_await coring::sleep(1ms);
    yielded_on = std::this_thread::get_id();
    co_yield *v;
  }
}

coring::task<void> send_range(coring::channel<int>& ch, int n) {
  for (int i = 0; i < n; ++i) co_await ch.send(i);
  ch.close();
}

// Yields once, then waits in `ch.recv()` (nothing is ever sent); records whether that
// wait ended with coring::cancelled and counts its local's destruction.
coring::generator<int> yields_then_waits(coring::channel<int>& ch, std::atomic<bool>& saw_cancel) {
  tracked local(0);
  co_yield 1;
  try {
    (void)co_await ch.recv();
  } catch (const coring::cancelled&) {
    saw_cancel = true;
    throw;
  }
  co_yield 2;
}

coring::generator<int> waits_for(coring::event& go, coring::event& started) {
  started.set();
  co_await go.wait();
  co_yield 7;
}

coring::task<std::optional<int>> next_of(coring::generator<int>& g) { co_return co_await g.next(); }

coring::generator<int> many(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
}

}  // namespace

CO_TEST(generator, yields_values_in_order_and_runs_only_inside_next) {
  int steps = 0;
  auto g = count_to(5, steps);
  EXPECT_EQ(steps, 0);  // lazy: nothing ran yet
  std::vector<int> got;
  while (std::optional<int> v = co_await g.next()) {
    got.push_back(*v);
    EXPECT_EQ(steps, *v + 1);  // the body stopped at the co_yield that produced v
  }
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(co_await g.next());  // finished stays finished
}

CO_TEST(generator, empty_generator_yields_nothing) {
  auto g = empty();
  EXPECT_FALSE(co_await g.next());
  EXPECT_FALSE(co_await g.next());
}

CO_TEST(generator, a_generator_can_consume_another) {
  int steps = 0;
  auto g = doubled(count_to(4, steps));
  std::vector<int> got;
  while (auto v = co_await g.next()) got.push_back(*v);
  EXPECT_EQ(got, (std::vector<int>{0, 2, 4, 6}));
}

CO_TEST(generator, move_only_values) {
  auto g = boxes(3);
  for (int i = 0; i < 3; ++i) {
    std::optional<std::unique_ptr<int>> v = co_await g.next();
    CO_ASSERT_TRUE(v && *v);
    EXPECT_EQ(**v, i);
  }
  EXPECT_FALSE(co_await g.next());
}

CO_TEST(generator, yielded_lvalue_is_copied) {
  auto g = echo_twice("kept");
  EXPECT_EQ(co_await g.next(), "kept");
  EXPECT_EQ(co_await g.next(), "kept");
  EXPECT_FALSE(co_await g.next());
}

CO_TEST(generator, exception_propagates_then_generator_is_finished) {
  auto g = fails_after_one();
  EXPECT_EQ(co_await g.next(), 1);
  bool caught = false;
  try {
    (void)co_await g.next();
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "boom";
  }
  EXPECT_TRUE(caught);
  EXPECT_FALSE(co_await g.next());  // rethrown once, then finished
}

CO_TEST(generator, destroying_a_suspended_generator_runs_its_locals_destructors) {
  tracked::live = 0;
  tracked::destroyed = 0;
  {
    auto g = tracked_values(tracked(1));
    // Not started: the frame holds the parameter's copy.
    EXPECT_EQ(tracked::live.load(), 1);
  }
  EXPECT_EQ(tracked::live.load(), 0);
  {
    auto g = tracked_values(tracked(1));
    for (int i = 0; i < 3; ++i) {
      std::optional<tracked> v = co_await g.next();
      CO_ASSERT_TRUE(v.has_value());
      EXPECT_EQ(v->value, 101 + i);
    }
    // Suspended at a co_yield: parameter, local and the yielded temporary are alive.
    EXPECT_EQ(tracked::live.load(), 3);
    const int before = tracked::destroyed.load();
    g = coring::generator<tracked>();  // destroys the frame
    EXPECT_EQ(tracked::destroyed.load() - before, 3);
  }
  EXPECT_EQ(tracked::live.load(), 0);
}

// On the 2-worker runtime of CO_TEST: the body receives from a channel fed by a task on
// any worker and sleeps now and then, so it resumes on whichever worker completed the
// wait; the consumer must see every value in order, on the thread the body yielded on.
CO_TEST(generator, body_that_sleeps_and_receives_resumes_the_consumer_where_it_yielded) {
  constexpr int n = 200;
  coring::channel<int> ch(4);
  auto producer = coring::spawn(send_range(ch, n));
  std::thread::id yielded_on;
  auto g = received_and_slept(ch, yielded_on);
  int expected = 0;
  while (std::optional<int> v = co_await g.next()) {
    EXPECT_EQ(*v, expected++);
    EXPECT_EQ(std::this_thread::get_id(), yielded_on);
  }
  EXPECT_EQ(expected, n);
  co_await producer;
}

coring::task<int> consume_forever(coring::generator<int> g, std::atomic<int>& received) {
  int n = 0;
  while (co_await g.next()) received = ++n;
  co_return n;
}

CO_TEST(generator, cancelling_the_consumer_cancels_the_wait_in_the_body) {
  tracked::live = 0;
  coring::channel<int> ch;
  std::atomic<bool> saw_cancel{false};
  std::atomic<int> received{0};
  auto h = coring::spawn(consume_forever(yields_then_waits(ch, saw_cancel), received));
  // The body is suspended in recv() on behalf of the consumer's second next().
  CO_ASSERT_TRUE(co_await eventually([&] { return ch.waiting_receivers() == 1; }));
  h.cancel();
  // Bounded: if the cancellation did not reach the body, end it by closing the channel.
  const bool ended = co_await eventually([&] { return h.done(); });
  if (!ended) ch.close();
  EXPECT_TRUE(ended) << "the body's recv() was not cancelled";
  bool cancelled = false;
  try {
    (void)co_await h;
  } catch (const coring::cancelled&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(saw_cancel.load());
  EXPECT_EQ(received.load(), 1);
  EXPECT_EQ(ch.waiting_receivers(), 0u);
  EXPECT_EQ(tracked::live.load(), 0);  // the body unwound and the frame is gone
}

CO_TEST(generator, timeout_around_next_cancels_the_body_and_finishes_the_generator) {
  coring::channel<int> ch;
  std::atomic<bool> saw_cancel{false};
  auto g = yields_then_waits(ch, saw_cancel);
  EXPECT_EQ(co_await coring::timeout(10s, g.next()), 1);  // in time: the value comes through
  bool timed_out = false;
  try {
    (void)co_await coring::timeout(20ms, g.next());
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_TRUE(saw_cancel.load());
  EXPECT_EQ(ch.waiting_receivers(), 0u);
  EXPECT_FALSE(co_await g.next());
}

CO_TEST(generator, second_pending_next_is_a_logic_error) {
  coring::event go, started;
  auto g = waits_for(go, started);
  auto first = coring::spawn(next_of(g));
  co_await started.wait();  // the first next() is pending: the body waits for `go`
  bool refused = false;
  try {
    (void)co_await g.next();
  } catch (const std::logic_error& e) {
    refused = std::string(e.what()).find("previous next() is still pending") != std::string::npos;
  }
  EXPECT_TRUE(refused);
  go.set();
  EXPECT_EQ(co_await first, 7);  // the first consumer is unaffected
  EXPECT_FALSE(co_await g.next());
}

CO_TEST(generator, next_on_an_empty_generator_is_a_logic_error) {
  coring::generator<int> g;
  bool refused = false;
  try {
    (void)co_await g.next();
  } catch (const std::logic_error&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
}

// Without guaranteed tail calls (g++ -O0 or ASan) each next() and co_yield goes through
// the trampoline; a million of them must not grow the stack.
CO_TEST(generator, a_million_values_do_not_grow_the_stack) {
  auto g = many(1'000'000);
  std::int64_t sum = 0, count = 0;
  while (auto v = co_await g.next()) {
    sum += *v;
    ++count;
  }
  EXPECT_EQ(count, 1'000'000);
  EXPECT_EQ(sum, 999'999LL * 1'000'000 / 2);
}
