// Accounting of spawned tasks (issue 10): how many are live, and what shutdown waits for
// and cancels, whichever thread spawned a task and whichever thread finished it.
//
// Each worker counts the tasks spawned and finished on it, and threads outside the pool
// share one more count; a task may start on one and finish on another. These tests pin
// what that must give: exact live counts at quiet points, a shutdown that cancels tasks
// spawned anywhere (each worker's tasks inherit that worker's shutdown source), and a
// shutdown that waits for a task resumed, and finished, on a thread outside the pool.
#include "co_test.hpp"

#include <coring/core/event.hpp>

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace {

using coring::testing::co_test_options;

// Waits on `e`; counts itself in `cancelled` if it ends by cancellation.
coring::task<void> wait_on(coring::event& e, std::atomic<int>& cancelled) {
  try {
    co_await e.wait();
  } catch (const coring::cancelled&) {
    cancelled.fetch_add(1);
    throw;
  }
}

coring::task<void> hop_and_wait(coring::event& e, std::atomic<int>& cancelled, std::atomic<int>& waiting) {
  co_await coring::yield();  // may land on the other worker
  waiting.fetch_add(1);
  co_await wait_on(e, cancelled);
}

// Polls live_tasks() from outside the pool until it reads `n` (the tasks get there on
// their own; the poll only observes).
bool wait_for_live(const coring::runtime& rt, std::size_t n) {
  for (int i = 0; i < 20'000'000 && rt.live_tasks() != n; ++i) std::this_thread::yield();
  return rt.live_tasks() == n;
}

// A custom awaitable that hands the awaiting coroutine to a thread outside the pool,
// which resumes it there when released: the rest of the task, its end included, runs on
// that thread.
struct foreign_resumer {
  std::mutex mutex;
  std::condition_variable cv;
  std::coroutine_handle<> parked;
  bool release = false;

  struct awaiter {
    foreign_resumer& r;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      std::lock_guard lock(r.mutex);
      r.parked = h;
      r.cv.notify_all();
    }
    void await_resume() const noexcept {}
  };
  awaiter operator co_await() noexcept { return {*this}; }

  // Runs on the foreign thread: waits for a coroutine and for the release, resumes it.
  void serve() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return parked && release; });
    const std::coroutine_handle<> h = std::exchange(parked, {});
    lock.unlock();
    h.resume();
  }
  bool has_parked() {
    std::lock_guard lock(mutex);
    return static_cast<bool>(parked);
  }
  void let_go() {
    std::lock_guard lock(mutex);
    release = true;
    cv.notify_all();
  }
};

coring::task<void> finish_outside(foreign_resumer& r, std::atomic<bool>& finished) {
  co_await r;  // resumed on the foreign thread
  finished.store(true);
}

}  // namespace

TEST(spawn_accounting, live_count_is_exact_for_tasks_spawned_on_workers_and_outside_and_finished_anywhere) {
  coring::runtime rt(co_test_options(2));
  coring::event gate;
  std::atomic<int> cancelled{0};
  std::atomic<int> waiting{0};
  std::vector<coring::join_handle<void>> outside;
  for (int i = 0; i < 300; ++i) outside.push_back(rt.spawn(hop_and_wait(gate, cancelled, waiting)));
  // 200 more, spawned on the workers by a task that is itself live until they finish.
  auto spawner = [&]() -> coring::task<void> {
    std::vector<coring::join_handle<void>> inside;
    for (int i = 0; i < 200; ++i) inside.push_back(coring::spawn(hop_and_wait(gate, cancelled, waiting)));
    for (auto& h : inside) co_await h;
  };
  auto root = rt.spawn(spawner());
  ASSERT_TRUE(wait_for_live(rt, 300 + 200 + 1)) << rt.live_tasks();
  while (waiting.load() != 500) std::this_thread::yield();
  EXPECT_EQ(rt.live_tasks(), 501U);
  gate.set();
  root.get();
  for (auto& h : outside) h.get();
  EXPECT_EQ(rt.live_tasks(), 0U);
  EXPECT_EQ(cancelled.load(), 0);
}

TEST(spawn_accounting, shutdown_cancels_tasks_spawned_on_every_worker_and_outside) {
  coring::event never;
  std::atomic<int> cancelled{0};
  std::atomic<int> waiting{0};
  std::atomic<int> spawned_on[2] = {0, 0};
  {
    coring::runtime rt(co_test_options(2));
    for (int i = 0; i < 50; ++i) (void)rt.spawn(hop_and_wait(never, cancelled, waiting));
    // Spawners that stay on a worker until both workers have spawned some: tasks then
    // inherit the shutdown source of each worker.
    auto spawner = [&]() -> coring::task<void> {
      const int w = coring::current_worker();
      for (int i = 0; i < 50; ++i) (void)coring::spawn(hop_and_wait(never, cancelled, waiting));
      spawned_on[w].fetch_add(50);
      co_return;
    };
    for (int round = 0; round < 1000 && (spawned_on[0].load() == 0 || spawned_on[1].load() == 0); ++round) {
      rt.block_on(spawner());
    }
    ASSERT_GT(spawned_on[0].load(), 0) << "no spawner ran on worker 0 in 1000 rounds";
    ASSERT_GT(spawned_on[1].load(), 0) << "no spawner ran on worker 1 in 1000 rounds";
    const int expected = 50 + spawned_on[0].load() + spawned_on[1].load();
    ASSERT_TRUE(wait_for_live(rt, static_cast<std::size_t>(expected)));
    while (waiting.load() != expected) std::this_thread::yield();
    // ~runtime: every one of them must see coring::cancelled, or this never returns.
  }
  EXPECT_EQ(cancelled.load(), waiting.load());
}

TEST(spawn_accounting, shutdown_waits_for_a_task_that_finishes_on_a_thread_outside_the_pool) {
  foreign_resumer resumer;
  std::atomic<bool> finished{false};
  std::thread outside([&] { resumer.serve(); });
  {
    auto rt = std::make_optional<coring::runtime>(co_test_options(2));
    (void)rt->spawn(finish_outside(resumer, finished));  // detached
    while (!resumer.has_parked()) std::this_thread::yield();
    EXPECT_EQ(rt->live_tasks(), 1U);
    // Released while (or before) the runtime shuts down: ~runtime must wait for the task
    // to end on the foreign thread, whether or not it has ended by then.
    std::thread releaser([&] { resumer.let_go(); });
    rt.reset();
    EXPECT_TRUE(finished.load()) << "~runtime returned before the task finished";
    releaser.join();
  }
  outside.join();
}

// A task that waited on a cancellable operation has linked its cancellation into the
// runtime's shutdown source; a handle kept past the runtime must not reach back into it
// when it is joined and frees the task (AddressSanitizer reported a use after free).
TEST(spawn_accounting, a_handle_joined_after_its_runtime_is_gone_touches_nothing_of_it) {
  std::optional<coring::join_handle<int>> kept;
  {
    coring::runtime rt(co_test_options(2));
    auto waits_then_returns = []() -> coring::task<int> {
      coring::event set_soon;
      auto setter = coring::spawn([](coring::event& e) -> coring::task<void> {
        e.set();
        co_return;
      }(set_soon));
      co_await set_soon.wait();  // cancellable: links into the shutdown source
      co_await setter;
      co_return 7;
    };
    kept.emplace(rt.spawn(waits_then_returns()));
    while (!kept->done()) std::this_thread::yield();
  }
  EXPECT_EQ(kept->get(), 7);
}
