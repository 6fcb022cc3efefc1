// The harness every coring benchmark binary shares (DESIGN.md §5).
//
// Each binary (bench_spawn_join, bench_fib, bench_skynet, bench_nqueens) defines
// `coring::bench::register_benchmarks()` and nothing else at namespace scope that runs
// on its own; the harness owns `main`:
//
//   bench_fib [--quick] [--workers N] [--benchmark_* flags of Google Benchmark]
//
//  --quick      small sizes, so that the whole suite runs in seconds (smoke test);
//  --workers N  the thread count of every parallel contender; default: the worker count
//               coring resolves on its own (CORING_WORKERS, else the available CPUs).
//
// Our flags are stripped before Google Benchmark sees argv, so every --benchmark_* flag
// (--benchmark_format=json, --benchmark_repetitions=5, --benchmark_filter=...) works.
//
// Fairness: one coring runtime with N workers is created per process and reused by every
// coring benchmark; oneTBB runs inside one `tbb::task_arena` of N slots; the std::thread
// contenders use N threads. Serial contenders use 1.
//
// Naming contract (tools/bench parses it): `<family>/<contender>/<size>`, registered by
// `add()`, which rejects any other family or contender. Google Benchmark appends its own
// suffixes for the run settings: the reported name is
// `<family>/<contender>/<size>/iterations:1/real_time` (plus `_median` etc. for
// aggregates); the first three `/` components are ours.
//
// Answers are checked: `verify()` marks a wrong answer as an error in the report, prints
// it to stderr, and `main` then exits with status 1, so a broken runtime cannot produce a
// good-looking table. A job that throws is handled the same way.
#pragma once

#include <benchmark/benchmark.h>
#include <coring/coring.hpp>
#include <tbb/task_arena.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace coring::bench {

// Defined once by each benchmark binary: registers its benchmarks with add(). Called by
// main after the flags are parsed, so sizes may depend on quick().
void register_benchmarks();

// --quick was given.
bool quick() noexcept;

// The thread count of every parallel contender (--workers, or coring's resolved default).
unsigned threads() noexcept;

// The coring runtime shared by the whole process (threads() workers). Only valid while
// benchmarks run.
coring::runtime& shared_runtime() noexcept;

// The oneTBB arena every tbb contender runs in (threads() slots, the calling thread
// included).
tbb::task_arena& shared_arena() noexcept;

// A dedicated one-worker coring runtime and a one-slot oneTBB arena, for the 1-worker
// figures (coring_1worker, tbb_1worker: the speed-up of 2 workers over 1). Built on first
// use and kept until exit; call once outside the timed job.
coring::runtime& one_worker_runtime();
tbb::task_arena& one_thread_arena();

// Registers `fn` as `<family>/<contender>/<size>`, timed in wall-clock time, reported in
// milliseconds, one job per iteration and one iteration per repetition (the runner asks
// for repetitions). Aborts on a family or contender outside the naming contract.
benchmark::internal::Benchmark* add(std::string_view family, std::string_view contender, std::uint64_t size,
                                    std::function<void(benchmark::State&)> fn);

// The same for a job that times itself (state.SetIterationTime): `size` is free text (it
// may hold slashes, e.g. "64/4096": connections/bytes) and the time is manual.
benchmark::internal::Benchmark* add_manual(std::string_view family, std::string_view contender, std::string_view size,
                                           std::function<void(benchmark::State&)> fn);

// The process's peak resident set size so far, in bytes: VmHWM from /proc/self/status,
// else getrusage's ru_maxrss. Both are process-wide high-water marks.
std::size_t peak_rss_bytes();

// The current resident set size (VmRSS), in bytes; 0 if unknown.
std::size_t current_rss_bytes();

// Lowers the high-water mark that peak_rss_bytes() reads to the current RSS, by writing
// "5" to /proc/self/clear_refs (Linux >= 4.0). False if the kernel refused: the mark then
// still covers everything that ran before in this process.
bool reset_peak_rss();

// The peak memory of one benchmark run. ru_maxrss and VmHWM are process-wide high-water
// marks: after one contender ran they also cover it. So the probe lowers the mark to the
// current RSS when constructed (just before the timed loop), and report() sets
//  - peak_rss_mib:   the process's peak since then (memory that earlier runs freed but an
//                    allocator kept, and the idle pools, included);
//  - rss_growth_mib: that peak minus the RSS at construction: what this run brought in;
//  - rss_reset:      0 if the kernel refused the reset; peak_rss_mib is then the peak
//                    since process start, which is why a binary that reports memory
//                    registers coring first.
class rss_probe {
 public:
  rss_probe() : reset_(reset_peak_rss()), before_(current_rss_bytes()) {}
  void report(benchmark::State& state) const;

 private:
  bool reset_;
  std::size_t before_;
};

// Records a failure of the running benchmark: prints it to stderr, marks the run as an
// error in the report, and makes main exit non-zero.
void fail(benchmark::State& state, std::string_view what);

// Compares an answer with the known one; on a mismatch calls fail() and returns false.
template <class T>
bool verify(benchmark::State& state, const T& got, const T& expected, std::string_view what) {
  if (got == expected) return true;
  std::ostringstream message;
  message << what << ": got " << got << ", expected " << expected;
  fail(state, message.str());
  return false;
}

// What time_jobs measured: the last job's answer, and the wall time summed over jobs.
template <class R>
struct timed_result {
  R value{};
  double seconds = 0;
  std::int64_t jobs = 0;
  bool ok = false;  // false: a job threw (already reported through fail())
};

// Runs `job` once per benchmark iteration and times each run with a steady clock. The
// benchmark's own timer measures the same thing; this copy exists because Google
// Benchmark 1.7 does not expose elapsed time to the benchmark, and per-item counters need
// it. An exception from `job` is reported with fail() and ends the loop.
template <class Job>
auto time_jobs(benchmark::State& state, Job&& job) {
  using R = std::invoke_result_t<Job&>;
  timed_result<R> result;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    try {
      result.value = job();
    } catch (const std::exception& e) {
      fail(state, std::string("the job threw: ") + e.what());
      return result;
    } catch (...) {
      fail(state, "the job threw a non-standard exception");
      return result;
    }
    result.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++result.jobs;
    benchmark::DoNotOptimize(result.value);
  }
  result.ok = true;
  return result;
}

// Sets the `threads` counter (the thread count this contender used).
inline void report_threads(benchmark::State& state, unsigned count) {
  state.counters["threads"] = benchmark::Counter(static_cast<double>(count));
}

// Sets counter `name` to the wall time per item in nanoseconds (`items` per job), so that
// runs of different sizes compare.
template <class R>
void report_ns_per_item(benchmark::State& state, const char* name, const timed_result<R>& result, double items) {
  if (result.jobs == 0 || items <= 0) return;
  state.counters[name] = benchmark::Counter(result.seconds * 1e9 / (static_cast<double>(result.jobs) * items));
}

// Runs `work(i)` for every i in [0, count) on `thread_count` fresh std::threads that take
// indices from a shared counter (dynamic load balancing), and returns the sum of the
// results. The std::thread contender of the tree-shaped families: the tree is cut into a
// frontier of independent subtrees and each is solved serially.
template <class Work>
std::uint64_t sum_on_threads(unsigned thread_count, std::size_t count, const Work& work) {
  std::atomic<std::size_t> next{0};
  std::vector<std::uint64_t> partial(thread_count, 0);
  auto body = [&](unsigned self) {
    std::uint64_t sum = 0;
    // relaxed: the counter only hands out distinct indices; join() publishes `partial`.
    for (std::size_t i = next.fetch_add(1, std::memory_order_relaxed); i < count;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      sum += work(i);
    }
    partial[self] = sum;
  };
  std::vector<std::thread> pool;
  pool.reserve(thread_count);
  for (unsigned t = 0; t < thread_count; ++t) pool.emplace_back(body, t);
  for (std::thread& t : pool) t.join();
  std::uint64_t total = 0;
  for (std::uint64_t s : partial) total += s;
  return total;
}

// floor(log2(n)) for n >= 1.
inline unsigned floor_log2(unsigned n) noexcept {
  unsigned log = 0;
  while (n > 1) {
    n /= 2;
    ++log;
  }
  return log;
}

}  // namespace coring::bench
