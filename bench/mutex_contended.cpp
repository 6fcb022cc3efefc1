// mutex_contended: N parties increment one counter M times in total, each increment under
// one lock (DESIGN.md §5 "mutex_contended", issue 4).
//
//  - coring:      N tasks on the shared runtime, coring::mutex (FIFO hand-off: a waiter
//                 is handed the lock and posted, so contention costs a task switch, never
//                 a blocked thread).
//  - std_thread:  N threads, std::mutex.
// N = 4 × the thread count, so there are always more contenders than cores. Reported:
// ns_per_lock (wall time / M).
#include "harness.hpp"

#include <coring/core/mutex.hpp>

#include <mutex>
#include <thread>
#include <vector>

namespace {

namespace cb = coring::bench;
using number = std::uint64_t;

coring::task<void> add_locked(coring::mutex& m, number& counter, number times) {
  for (number i = 0; i < times; ++i) {
    auto guard = co_await m.lock();
    ++counter;
  }
}

coring::task<number> contended_coring(unsigned parties, number total) {
  coring::mutex m;
  number counter = 0;
  std::vector<coring::join_handle<void>> all;
  for (unsigned p = 0; p < parties; ++p) all.push_back(coring::spawn(add_locked(m, counter, total / parties)));
  for (auto& h : all) co_await std::move(h);
  auto guard = co_await m.lock();
  co_return counter;
}

number contended_threads(unsigned parties, number total) {
  std::mutex m;
  number counter = 0;
  std::vector<std::thread> all;
  for (unsigned p = 0; p < parties; ++p) {
    all.emplace_back([&] {
      for (number i = 0; i < total / parties; ++i) {
        std::lock_guard lock(m);
        ++counter;
      }
    });
  }
  for (auto& t : all) t.join();
  return counter;
}

template <class Job>
void add_contender(const char* contender, number total, unsigned parties, unsigned thread_count, Job job) {
  cb::add("mutex_contended", contender, total, [=](benchmark::State& state) {
    const auto result = cb::time_jobs(state, [&] { return job(parties, total); });
    if (!result.ok) return;
    cb::verify(state, result.value, total / parties * parties, "the counter");
    cb::report_threads(state, thread_count);
    state.counters["parties"] = benchmark::Counter(parties);
    cb::report_ns_per_item(state, "ns_per_lock", result, static_cast<double>(total));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const number total = quick() ? 200'000 : 2'000'000;
  const unsigned parties = 4 * threads();
  add_contender("coring", total, parties, threads(),
                [](unsigned p, number m) { return shared_runtime().block_on(contended_coring(p, m)); });
  add_contender("std_thread", total, parties, parties, [](unsigned p, number m) { return contended_threads(p, m); });
}
