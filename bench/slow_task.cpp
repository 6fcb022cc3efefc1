// slow_task: the slow-task detector (CORING_SLOW_TASK_MS, issue 12 item 1).
//
// Two questions, each answered against its own baseline in the same run:
//   - slow_task/coring/<limit>: a task spins its worker for 3 × limit ms; the job's time
//     is how long after crossing the limit the report (stack included) was out, averaged
//     over 5 rounds; counter `report_max_ms` is the worst round. Target: ≤ 150 ms at 100.
//   - slow_task/coring_detector/<n> vs slow_task/coring/<n>: fib(n) by gather with the
//     detector on (limit 100 ms, never reached) and off, on runtimes of threads() workers
//     each. Target: on costs ≤ 2%.
#include "harness.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace {

namespace cb = coring::bench;
using clk = std::chrono::steady_clock;
using number = std::uint64_t;

[[gnu::noinline]] void spin_for(std::chrono::milliseconds d) {
  const auto end = clk::now() + d;
  while (clk::now() < end) asm volatile("" ::: "memory");
}

std::atomic<std::int64_t> started_ns{0};

coring::task<void> blocker(std::chrono::milliseconds d) {
  started_ns.store(clk::now().time_since_epoch().count(), std::memory_order_relaxed);
  spin_for(d);
  co_return;
}

coring::task<number> fib(unsigned n) {
  if (n < 2) co_return n;
  auto [a, b] = co_await coring::gather(fib(n - 1), fib(n - 2));
  co_return a + b;
}

constexpr number fib_answer(unsigned n) {
  number a = 0, b = 1;
  for (unsigned i = 0; i < n; ++i) b = std::exchange(a, b) + b;
  return a;
}

coring::runtime& runtime_with_limit(unsigned limit_ms) {
  static std::unique_ptr<coring::runtime> on;
  static std::unique_ptr<coring::runtime> off;
  auto& rt = limit_ms == 0 ? off : on;
  if (!rt) {
    coring::runtime_options o;
    o.workers = cb::threads();
    o.slow_task_ms = limit_ms;
    rt = std::make_unique<coring::runtime>(o);
  }
  return *rt;
}

}  // namespace

void coring::bench::register_benchmarks() {
  constexpr unsigned limit = 100;
  cb::add_manual("slow_task", "coring", std::to_string(limit), [](benchmark::State& state) {
    coring::runtime& rt = runtime_with_limit(limit);
    double worst = 0;
    for (auto _ : state) {
      double total = 0;
      constexpr int rounds = 5;
      for (int round = 0; round < rounds; ++round) {
        const std::size_t before = coring::slow_task_reports();
        double after_crossing_ms = 0;
        std::thread watch([&] {
          const auto give_up = clk::now() + std::chrono::seconds(10);
          while (coring::slow_task_reports() == before && clk::now() < give_up) std::this_thread::yield();
          const auto done = clk::now().time_since_epoch().count();
          after_crossing_ms = static_cast<double>(done - started_ns.load(std::memory_order_relaxed)) / 1e6 - limit;
        });
        rt.block_on(blocker(std::chrono::milliseconds(3 * limit)));
        watch.join();
        if (coring::slow_task_reports() == before) {
          cb::fail(state, "no slow-task report within 10 s");
          return;
        }
        total += after_crossing_ms;
        worst = std::max(worst, after_crossing_ms);
      }
      state.SetIterationTime(total / rounds / 1000.0);
    }
    state.counters["report_max_ms"] = benchmark::Counter(worst);
  });
  const unsigned n = quick() ? 25 : 32;
  for (const auto& [contender, limit_ms] : {std::pair{"coring", 0U}, std::pair{"coring_detector", limit}}) {
    cb::add("slow_task", contender, n, [n, limit_ms = limit_ms](benchmark::State& state) {
      coring::runtime& rt = runtime_with_limit(limit_ms);
      const auto result = cb::time_jobs(state, [&] { return rt.block_on(fib(n)); });
      if (!result.ok) return;
      cb::verify(state, result.value, fib_answer(n), "fib(" + std::to_string(n) + ")");
      cb::report_threads(state, cb::threads());
    });
  }
}
