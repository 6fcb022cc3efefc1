// spawn_join: spawn N trivial tasks, then join them all (DESIGN.md §5).
//
// Task i returns i; the joiner sums the results, so the answer is N(N-1)/2 and every
// task is known to have run exactly once. Each contender keeps one result slot per task
// (join handles, futures, an output array), allocated inside the timed job.
//
// std::async and std::thread start one OS thread per task; they are capped at a smaller
// N (counter `capped` = 1) and compared per task through `ns_per_task`.
//
// Memory: every task is alive at once here, so the peak RSS per run (bench::rss_probe)
// shows the footprint of a pending task; coring is registered first (see rss_probe).
// `bytes_per_task` is the RSS growth of the first run divided by N: coring keeps frame
// memory for reuse, so later runs grow by nothing, and the counter repeats the first
// run's figure (it is measured once per process, in the first run of the contender).
// Only the first contender registered (coring) starts from an empty frame pool; a later
// coring_1worker may reuse memory the first one gave back to the pool.
//
// Also on one worker (coring_1worker, tbb_1worker): the 1-worker figure of the issue.
#include "harness.hpp"

#include <tbb/task_group.h>

#include <future>
#include <memory>
#include <optional>

namespace {

namespace cb = coring::bench;

std::uint64_t expected_sum(std::uint64_t n) { return n * (n - 1) / 2; }

coring::task<std::uint64_t> trivial(std::uint64_t i) { co_return i; }

// Runs on a worker: spawns every task first, then awaits the handles in order.
coring::task<std::uint64_t> spawn_all(std::uint64_t n) {
  std::vector<coring::join_handle<std::uint64_t>> handles;
  handles.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) handles.push_back(coring::spawn(trivial(i)));
  std::uint64_t sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return sum;
}

std::uint64_t run_tbb(tbb::task_arena& arena, std::uint64_t n) {
  std::vector<std::uint64_t> out(n);
  arena.execute([&] {
    tbb::task_group group;
    for (std::uint64_t i = 0; i < n; ++i) {
      group.run([&out, i] { out[i] = i; });
    }
    group.wait();
  });
  std::uint64_t sum = 0;
  for (std::uint64_t v : out) sum += v;
  return sum;
}

std::uint64_t run_async(std::uint64_t n) {
  std::vector<std::future<std::uint64_t>> futures;
  futures.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) futures.push_back(std::async(std::launch::async, [i] { return i; }));
  std::uint64_t sum = 0;
  for (auto& f : futures) sum += f.get();
  return sum;
}

std::uint64_t run_threads(std::uint64_t n) {
  std::vector<std::uint64_t> out(n);
  std::vector<std::thread> pool;
  pool.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) pool.emplace_back([&out, i] { out[i] = i; });
  for (std::thread& t : pool) t.join();
  std::uint64_t sum = 0;
  for (std::uint64_t v : out) sum += v;
  return sum;
}

// Registers one contender: `job(n)` must return the sum of the task ids.
template <class Job>
void add_contender(const char* contender, std::uint64_t n, bool capped, unsigned thread_count, Job job) {
  auto first_growth = std::make_shared<std::optional<double>>();  // this contender's first run
  cb::add("spawn_join", contender, n, [n, capped, thread_count, job, first_growth](benchmark::State& state) {
    const cb::rss_probe memory;
    const std::size_t before = cb::current_rss_bytes();
    const auto result = cb::time_jobs(state, [&] { return job(n); });
    if (!result.ok) return;
    memory.report(state);
    if (!*first_growth) {
      const std::size_t peak = cb::peak_rss_bytes();
      *first_growth = peak > before ? static_cast<double>(peak - before) : 0.0;
    }
    state.counters["bytes_per_task"] = benchmark::Counter(**first_growth / static_cast<double>(n));
    cb::verify(state, result.value, expected_sum(n), "sum of task ids");
    cb::report_threads(state, thread_count);
    cb::report_ns_per_item(state, "ns_per_task", result, static_cast<double>(n));
    state.counters["tasks"] = benchmark::Counter(static_cast<double>(n));
    state.counters["capped"] = benchmark::Counter(capped ? 1 : 0);
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const std::uint64_t pooled = quick() ? 100'000 : 1'000'000;
  const std::uint64_t per_thread = quick() ? 1'000 : 10'000;  // one OS thread per task

  add_contender("coring", pooled, false, threads(),
                [](std::uint64_t n) { return shared_runtime().block_on(spawn_all(n)); });
  add_contender("coring_1worker", pooled, false, 1,
                [](std::uint64_t n) { return cb::one_worker_runtime().block_on(spawn_all(n)); });
  add_contender("tbb", pooled, false, threads(), [](std::uint64_t n) { return run_tbb(cb::shared_arena(), n); });
  add_contender("tbb_1worker", pooled, false, 1, [](std::uint64_t n) { return run_tbb(cb::one_thread_arena(), n); });
  // std::async and std::thread: one OS thread per task, whatever `threads()` says.
  add_contender("std_async", per_thread, true, threads(), run_async);
  add_contender("std_thread", per_thread, true, threads(), run_threads);
}
