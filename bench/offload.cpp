// offload: the round trip of handing a no-op to another thread and getting the answer
// back (DESIGN.md §5; target: blocking(noop) ≤ 10 µs median).
//
//  - coring:          `co_await coring::blocking(noop)` from a task, N times in a row: the
//                     pool thread runs it and posts the task back to a worker.
//  - coring_compute:  `co_await coring::compute(noop)`: through the oneTBB arena.
//  - std_async:       `std::async(std::launch::async, noop).get()` from a plain thread
//                     (libstdc++ starts a new thread per call).
// Reported: ns_per_round_trip (wall time / N).
#include "harness.hpp"

#include <coring/io/blocking.hpp>
#include <coring/sched/compute.hpp>

#include <future>

namespace {

namespace cb = coring::bench;
using number = std::uint64_t;

[[gnu::noinline]] number noop(number v) { return v; }

coring::task<number> round_trips_blocking(number n) {
  number sum = 0;
  for (number i = 0; i < n; ++i) sum += co_await coring::blocking(noop, i);
  co_return sum;
}

coring::task<number> round_trips_compute(number n) {
  number sum = 0;
  for (number i = 0; i < n; ++i) sum += co_await coring::compute(noop, i);
  co_return sum;
}

number round_trips_async(number n) {
  number sum = 0;
  for (number i = 0; i < n; ++i) sum += std::async(std::launch::async, noop, i).get();
  return sum;
}

template <class Job>
void add_contender(const char* contender, number n, Job job) {
  cb::add("offload", contender, n, [n, job](benchmark::State& state) {
    const auto result = cb::time_jobs(state, [&] { return job(n); });
    if (!result.ok) return;
    cb::verify(state, result.value, n * (n - 1) / 2, "sum of the results");
    cb::report_threads(state, 1);
    cb::report_ns_per_item(state, "ns_per_round_trip", result, static_cast<double>(n));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const number n = quick() ? 2'000 : 20'000;
  add_contender("coring", n, [](number k) { return shared_runtime().block_on(round_trips_blocking(k)); });
  add_contender("coring_compute", n, [](number k) { return shared_runtime().block_on(round_trips_compute(k)); });
  add_contender("std_async", n, [](number k) { return round_trips_async(k); });
}
