// Keeping the workers free: coring::blocking() for a blocking call (asyncio.to_thread)
// and coring::compute() for a CPU-bound one (run_in_executor with a process pool).
//
//   async def main():                                  coring::task<void> main_task() {
//       r = await asyncio.to_thread(blocking_io)          int r = co_await coring::blocking(blocking_io);
//       n = await loop.run_in_executor(pool, primes)      auto n = co_await coring::compute(primes, 2'000'000);
//
// The runtime here has ONE worker. A ticker task prints while the blocking call (a 3 s
// std::this_thread::sleep_for, standing for a blocking library) and the computation
// run: it can, because neither runs on the worker. Called directly in a task, either
// would stop every other task on that worker until it returned.
#include "tutorial.hpp"

#include <coring/coring.hpp>
#include <coring/io/blocking.hpp>
#include <coring/sched/compute.hpp>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

// A call that blocks its thread, like a synchronous database driver or file API.
int blocking_io(std::chrono::milliseconds how_long) {
  std::this_thread::sleep_for(how_long);
  return 42;
}

// CPU-bound: the primes below n (sieve of Eratosthenes).
std::size_t count_primes(std::size_t n) {
  std::vector<bool> composite(n, false);
  std::size_t count = 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (composite[i]) continue;
    ++count;
    for (std::size_t j = i * i; j < n; j += i) composite[j] = true;
  }
  return count;
}

// Prints a tick every `period` until `done`; returns how many it printed.
coring::task<int> ticker(std::atomic<bool>& done, std::chrono::milliseconds period) {
  int ticks = 0;
  while (!done.load()) {
    co_await coring::sleep(period);
    std::printf("  tick %d\n", ++ticks);
    std::fflush(stdout);
  }
  co_return ticks;
}

template <class Work>
coring::task<void> while_ticking(const char* what, Work work, std::chrono::milliseconds second) {
  std::atomic<bool> done{false};
  auto [result, ticks] = co_await coring::gather(
      [](Work w, std::atomic<bool>& flag) -> coring::task<std::size_t> {
        const std::size_t r = co_await w();
        flag.store(true);
        co_return r;
      }(std::move(work), done),
      ticker(done, second / 2));
  std::printf("%s returned %zu; the worker ticked %d times meanwhile\n", what, result, ticks);
}

coring::task<void> main_task(std::chrono::milliseconds second) {
  std::puts("blocking(): a 3 s blocking call on the blocking pool");
  co_await while_ticking(
      "blocking()",
      [second]() -> coring::task<std::size_t> {
        co_return static_cast<std::size_t>(co_await coring::blocking(blocking_io, 3 * second));
      },
      second);
  std::puts("compute(): counting the primes below 20,000,000 on the compute pool");
  co_await while_ticking(
      "compute()",
      []() -> coring::task<std::size_t> { co_return co_await coring::compute(count_primes, std::size_t{20'000'000}); },
      second);
}

}  // namespace

int main(int argc, char** argv) {
  coring::runtime_options one_worker;
  one_worker.workers = 1;
  coring::run(main_task(coring::examples::tutorial_second(argc, argv)), one_worker);
}
