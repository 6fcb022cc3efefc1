// Start order and fairness on one worker (issue 10, item 0): asyncio's order.
//
//   spawn 0..5, then await each            0 1 2 3 4 5
//   gather(say(0), say(1), say(2), say(3)) 0 1 2 3
//   gather of 3 tasks: print, yield, print start 0 start 1 start 2 end 0 end 1 end 2
//
// and a task spawned first is not held back by a burst of tasks spawned after it. One
// worker makes the order deterministic: nothing is stolen.
#include "co_test.hpp"

#include <coring/io/timer.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

coring::runtime_options one_worker() {
  coring::runtime_options o;
  o.workers = 1;
  return o;
}

coring::task<void> say(std::vector<std::string>& log, std::string word) {
  log.push_back(std::move(word));
  co_return;
}

coring::task<void> say_yield_say(std::vector<std::string>& log, int i) {
  log.push_back("start " + std::to_string(i));
  co_await coring::yield();
  log.push_back("end " + std::to_string(i));
}

std::string joined(const std::vector<std::string>& log) {
  std::string out;
  for (const std::string& w : log) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

TEST(order, spawned_tasks_start_in_spawn_order_on_one_worker) {
  coring::runtime rt(one_worker());
  std::vector<std::string> log;
  auto body = [&]() -> coring::task<void> {
    std::vector<coring::join_handle<void>> handles;
    for (int i = 0; i < 6; ++i) handles.push_back(coring::spawn(say(log, std::to_string(i))));
    for (auto& h : handles) co_await h;
  };
  rt.block_on(body());
  EXPECT_EQ(joined(log), "0 1 2 3 4 5");
}

TEST(order, gather_starts_its_children_in_argument_order) {
  coring::runtime rt(one_worker());
  std::vector<std::string> log;
  auto body = [&]() -> coring::task<void> {
    co_await coring::gather(say(log, "0"), say(log, "1"), say(log, "2"), say(log, "3"));
  };
  rt.block_on(body());
  EXPECT_EQ(joined(log), "0 1 2 3");
}

TEST(order, gather_over_a_vector_starts_its_children_in_order) {
  coring::runtime rt(one_worker());
  std::vector<std::string> log;
  auto body = [&]() -> coring::task<void> {
    std::vector<coring::task<void>> children;
    for (int i = 0; i < 5; ++i) children.push_back(say(log, std::to_string(i)));
    co_await coring::gather(std::move(children));
  };
  rt.block_on(body());
  EXPECT_EQ(joined(log), "0 1 2 3 4");
}

TEST(order, yield_lets_everything_queued_before_it_run_first) {
  coring::runtime rt(one_worker());
  std::vector<std::string> log;
  auto body = [&]() -> coring::task<void> {
    co_await coring::gather(say_yield_say(log, 0), say_yield_say(log, 1), say_yield_say(log, 2));
  };
  rt.block_on(body());
  EXPECT_EQ(joined(log), "start 0 start 1 start 2 end 0 end 1 end 2");
}

// An accept loop that spawns a burst of connections: the first one spawned starts
// before every later one, however long the burst.
TEST(order, the_first_spawned_task_is_not_delayed_by_a_burst_of_later_ones) {
  coring::runtime rt(one_worker());
  constexpr int burst = 2000;
  int started = 0;
  int first_started_after = -1;
  auto connection = [&](int i) -> coring::task<void> {
    if (i == 0) first_started_after = started;
    ++started;
    co_return;
  };
  auto listener = [&]() -> coring::task<void> {
    std::vector<coring::join_handle<void>> handles;
    for (int i = 0; i < burst; ++i) handles.push_back(coring::spawn(connection(i)));
    for (auto& h : handles) co_await h;
  };
  rt.block_on(listener());
  EXPECT_EQ(started, burst);
  EXPECT_EQ(first_started_after, 0) << "the first connection waited behind later ones";
}

namespace {

coring::task<long> fib_by_spawn(int n) {
  if (n < 2) co_return n;
  auto first = coring::spawn(fib_by_spawn(n - 1));
  const long second = co_await fib_by_spawn(n - 2);
  co_return co_await std::move(first) + second;
}

coring::task<int> thrower() {
  throw std::runtime_error("inline child failed");
  co_return 0;
}

}  // namespace

// A join takes back its unstarted child and runs it inline: results, exceptions and
// cancellation still arrive as from a child that ran elsewhere (1 worker: every join is
// inline; 2 workers: some children are stolen first).
TEST(order, joins_that_run_their_child_inline_give_its_value_exception_and_cancellation) {
  for (unsigned workers : {1U, 2U}) {
    coring::runtime_options o;
    o.workers = workers;
    coring::runtime rt(o);
    EXPECT_EQ(rt.block_on(fib_by_spawn(22)), 17711) << workers << " workers";
    auto failing = []() -> coring::task<std::string> {
      auto h = coring::spawn(thrower());
      try {
        (void)co_await h;
      } catch (const std::runtime_error& e) {
        co_return e.what();
      }
      co_return "no exception";
    };
    EXPECT_EQ(rt.block_on(failing()), "inline child failed");
    // Only one worker makes "before it starts" certain: with two, the other worker may
    // take the task and run it before cancel() (it then fails with its own exception).
    auto cancelled_first = []() -> coring::task<bool> {
      auto h = coring::spawn(thrower());
      h.cancel();  // before it starts: it must end with coring::cancelled, not run
      try {
        (void)co_await h;
      } catch (const coring::cancelled&) {
        co_return true;
      }
      co_return false;
    };
    if (workers == 1) {
      EXPECT_TRUE(rt.block_on(cancelled_first()));
    }
    EXPECT_EQ(rt.live_tasks(), 0U);
  }
}

namespace {

// One of `count` tasks that sleep a microsecond `rounds` times: each wake-up comes from
// the worker's ring (a reaping pass), as a socket's readiness would.
coring::task<void> sleeper(std::vector<int>& runs, std::size_t i, int rounds, int& min_when_first_done, bool& first_done) {
  for (int r = 0; r < rounds; ++r) {
    co_await coring::sleep(std::chrono::microseconds(1));
    ++runs[i];
  }
  if (!first_done) {
    first_done = true;
    min_when_first_done = *std::min_element(runs.begin(), runs.end());
  }
}

}  // namespace

// Work woken by the ring is served oldest first, as an epoll loop serves ready
// connections: a task woken in one reaping pass does not wait behind the wake-ups of
// later passes (which come every 61 loop passes even while the queues are full). Before,
// the wake-ups went to the fork deque, popped newest first: 61 tasks kept cycling and the
// other 139 did not run at all until those were done (http_plaintext's 1-worker p99 was
// 0.1-1.6 s).
TEST(order, wake_ups_from_the_ring_are_served_oldest_first_so_none_starves) {
  coring::runtime rt(one_worker());
  constexpr std::size_t count = 200;
  constexpr int rounds = 20;
  std::vector<int> runs(count, 0);
  int min_when_first_done = -1;
  bool first_done = false;
  auto body = [&]() -> coring::task<void> {
    std::vector<coring::join_handle<void>> all;
    for (std::size_t i = 0; i < count; ++i) all.push_back(coring::spawn(sleeper(runs, i, rounds, min_when_first_done, first_done)));
    for (auto& h : all) co_await h;
  };
  rt.block_on(body());
  // Oldest first, every task is within a round or two of the others; the bound leaves
  // room for wake-ups that fall into different passes.
  EXPECT_GE(min_when_first_done, rounds / 2) << "some task ran only " << min_when_first_done << " of " << rounds
                                             << " rounds while another finished all";
}
