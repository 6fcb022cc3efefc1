// event_wake: N tasks wait on one coring::event, one set() wakes them all (issue 4's
// target: 100,000 waiting tasks use ≤ 64 MiB RSS and wake in one set()).
//
//  - coring:      100,000 tasks on the shared runtime; peak RSS is measured with
//                 bench::rss_probe across spawning, waiting and waking.
//  - std_thread:  the thread-per-waiter pair at 1,000 threads (a condition variable and
//                 notify_all); 100,000 threads would exhaust the machine.
// Reported: wake_ms (set() to the last waiter done), peak_rss_mib, rss_growth_mib.
#include "harness.hpp"

#include <coring/core/event.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace {

namespace cb = coring::bench;
using number = std::uint64_t;
using clock_type = std::chrono::steady_clock;

coring::task<void> waiter(coring::event& e, std::atomic<number>& waiting, std::atomic<number>& woke) {
  waiting.fetch_add(1, std::memory_order_relaxed);
  co_await e.wait();
  woke.fetch_add(1, std::memory_order_relaxed);
}

struct wake_result {
  number woke = 0;
  double wake_ms = 0;
};

coring::task<wake_result> wake_coring(number n) {
  coring::event e;
  std::atomic<number> waiting{0}, woke{0};
  std::vector<coring::join_handle<void>> all;
  all.reserve(n);
  for (number i = 0; i < n; ++i) all.push_back(coring::spawn(waiter(e, waiting, woke)));
  while (waiting.load(std::memory_order_relaxed) < n) co_await coring::yield();
  const auto start = clock_type::now();
  e.set();  // the one call that wakes every waiter
  for (auto& h : all) co_await std::move(h);
  const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
  co_return wake_result{woke.load(), ms};
}

wake_result wake_threads(number n) {
  std::mutex m;
  std::condition_variable cv;
  bool set = false;
  std::atomic<number> waiting{0}, woke{0};
  std::vector<std::thread> all;
  all.reserve(n);
  for (number i = 0; i < n; ++i) {
    all.emplace_back([&] {
      std::unique_lock lock(m);
      waiting.fetch_add(1, std::memory_order_relaxed);
      cv.wait(lock, [&] { return set; });
      woke.fetch_add(1, std::memory_order_relaxed);
    });
  }
  while (waiting.load(std::memory_order_relaxed) < n) std::this_thread::yield();
  const auto start = clock_type::now();
  {
    std::lock_guard lock(m);
    set = true;
  }
  cv.notify_all();
  for (auto& t : all) t.join();
  const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
  return {woke.load(), ms};
}

template <class Job>
void add_contender(const char* contender, number n, unsigned thread_count, Job job) {
  cb::add("event_wake", contender, n, [=](benchmark::State& state) {
    const cb::rss_probe memory;
    double wake_ms = 0;
    const auto result = cb::time_jobs(state, [&] {
      const wake_result r = job(n);
      wake_ms += r.wake_ms;
      return r.woke;
    });
    if (!result.ok) return;
    cb::verify(state, result.value, n, "waiters woken by one set()");
    memory.report(state);
    cb::report_threads(state, thread_count);
    if (result.jobs != 0) state.counters["wake_ms"] = benchmark::Counter(wake_ms / static_cast<double>(result.jobs));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  // coring first: if the kernel refuses to reset the RSS high-water mark, its figure
  // still covers only what ran before it (see rss_probe).
  add_contender("coring", 100'000, threads(), [](number k) { return shared_runtime().block_on(wake_coring(k)); });
  add_contender("std_thread", quick() ? 200 : 1'000, 1, [](number k) { return wake_threads(k); });
}
