// fib: recursive fork-join fib(N), both children spawned, joined, added (DESIGN.md §5).
// fib_spawn: the same recursion written as an asyncio user writes it: spawn one child
// (create_task), await the other directly, then await the spawned one's handle.
// Both families also run on one worker (coring_1worker, tbb_1worker): the speed-up of
// 2 workers over 1 is the ratio of the two figures in the same run.
//
// No serial cut-off for coring and oneTBB: every call is a task, so the figure is the
// cost of a fork and a join (`ns_per_task` = wall time / number of calls). std::async
// would start millions of OS threads, so it forks only the top floor(log2(threads)) + 4
// levels; std::thread solves a frontier of subtrees serially on a pool. Those two show
// what hand-cut parallelism reaches, not task overhead.
#include "harness.hpp"

#include <tbb/task_group.h>

#include <algorithm>
#include <future>

namespace {

namespace cb = coring::bench;

using number = std::uint64_t;

// Known answers, so that a wrong runtime cannot agree with a wrong serial version.
constexpr number fib_answer(unsigned n) {
  number a = 0, b = 1;
  for (unsigned i = 0; i < n; ++i) {
    const number next = a + b;
    a = b;
    b = next;
  }
  return a;
}
static_assert(fib_answer(35) == 9227465 && fib_answer(27) == 196418);

// Calls made by the recursion: calls(n) = 1 + calls(n-1) + calls(n-2) = 2 fib(n+1) - 1.
constexpr number fib_calls(unsigned n) { return 2 * fib_answer(n + 1) - 1; }

[[gnu::noinline]] number fib_serial(unsigned n) {
  if (n < 2) return n;
  return fib_serial(n - 1) + fib_serial(n - 2);
}

coring::task<number> fib_coring(unsigned n) {
  if (n < 2) co_return n;
  auto [a, b] = co_await coring::gather(fib_coring(n - 1), fib_coring(n - 2));
  co_return a + b;
}

coring::task<number> fib_spawn(unsigned n) {
  if (n < 2) co_return n;
  coring::join_handle<number> first = coring::spawn(fib_spawn(n - 1));
  const number second = co_await fib_spawn(n - 2);
  co_return co_await std::move(first) + second;
}

// One child forked, the other computed inline, then wait: oneTBB's idiomatic fork-join.
number fib_tbb(unsigned n) {
  if (n < 2) return n;
  number a = 0;
  tbb::task_group group;
  group.run([&a, n] { a = fib_tbb(n - 1); });
  const number b = fib_tbb(n - 2);
  group.wait();
  return a + b;
}

number fib_async(unsigned n, unsigned fork_levels) {
  if (fork_levels == 0 || n < 2) return fib_serial(n);
  auto a = std::async(std::launch::async, fib_async, n - 1, fork_levels - 1);
  const number b = fib_async(n - 2, fork_levels - 1);
  return a.get() + b;
}

// The std::thread contender: the arguments of the subtrees `levels` below the root,
// largest first so that dynamic assignment ends balanced.
void fib_frontier(unsigned n, unsigned levels, std::vector<unsigned>& out) {
  if (levels == 0 || n < 2) {
    out.push_back(n);
    return;
  }
  fib_frontier(n - 1, levels - 1, out);
  fib_frontier(n - 2, levels - 1, out);
}

number fib_threads(unsigned n, unsigned thread_count) {
  std::vector<unsigned> frontier;
  fib_frontier(n, cb::floor_log2(thread_count) + 6, frontier);
  std::sort(frontier.begin(), frontier.end(), std::greater<>());
  return cb::sum_on_threads(thread_count, frontier.size(), [&](std::size_t i) { return fib_serial(frontier[i]); });
}

template <class Job>
void add_contender(const char* family, const char* contender, unsigned n, unsigned thread_count, Job job) {
  cb::add(family, contender, n, [n, thread_count, job](benchmark::State& state) {
    const auto result = cb::time_jobs(state, [&] { return job(n); });
    if (!result.ok) return;
    cb::verify(state, result.value, fib_answer(n), "fib(" + std::to_string(n) + ")");
    cb::report_threads(state, thread_count);
    cb::report_ns_per_item(state, "ns_per_task", result, static_cast<double>(fib_calls(n)));
    state.counters["tasks"] = benchmark::Counter(static_cast<double>(fib_calls(n)));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const unsigned n = quick() ? 27 : 35;
  const unsigned t = threads();

  (void)one_worker_runtime();  // started outside the timed runs
  const auto tbb_on = [](tbb::task_arena& arena) {
    return [&arena](unsigned k) {
      number r = 0;
      arena.execute([&] { r = fib_tbb(k); });
      return r;
    };
  };
  add_contender("fib", "coring", n, t, [](unsigned k) { return shared_runtime().block_on(fib_coring(k)); });
  add_contender("fib", "coring_1worker", n, 1, [](unsigned k) { return one_worker_runtime().block_on(fib_coring(k)); });
  add_contender("fib", "tbb", n, t, tbb_on(shared_arena()));
  add_contender("fib", "tbb_1worker", n, 1, tbb_on(one_thread_arena()));
  add_contender("fib", "std_async", n, t, [t](unsigned k) { return fib_async(k, floor_log2(t) + 4); });
  add_contender("fib", "std_thread", n, t, [t](unsigned k) { return fib_threads(k, t); });
  add_contender("fib", "serial", n, 1, [](unsigned k) { return fib_serial(k); });

  add_contender("fib_spawn", "coring", n, t, [](unsigned k) { return shared_runtime().block_on(fib_spawn(k)); });
  add_contender("fib_spawn", "coring_1worker", n, 1,
                [](unsigned k) { return one_worker_runtime().block_on(fib_spawn(k)); });
  add_contender("fib_spawn", "tbb", n, t, tbb_on(shared_arena()));
  add_contender("fib_spawn", "tbb_1worker", n, 1, tbb_on(one_thread_arena()));
}
