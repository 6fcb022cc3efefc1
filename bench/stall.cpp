// stall: how long work woken on a busy worker waits (DESIGN.md §5, issue 9).
//
// A worker wakes something and then computes for `compute` milliseconds without a
// suspension point; the other worker is idle. Measured: the time from the wake-up to the
// woken code running, for three kinds of wake-up:
//   - channel:  a send to a receiver waiting in recv() (the receiver lands in the
//               sender's LIFO slot)
//   - read:     a byte written to a socket whose read was submitted on the busy worker
//               (the completion lands in the busy worker's ring)
//   - timer:    a 2 ms sleep armed on the busy worker (its timer sits in that worker's
//               heap); measured from the deadline
// Contenders:
//   - coring:      the shared 2-worker runtime
//   - std_thread:  a thread woken through a condition variable by a thread that then
//                  computes (the kernel's scheduler: what a woken thread waits for)
// Size: the compute time in ms. Counters (µs, over all rounds of all repetitions' jobs):
// <kind>_p50_us, <kind>_max_us. Target: every kind's max ≤ 2000 µs at 300 ms.
#include "harness.hpp"

#include <coring/core/channel.hpp>
#include <coring/io/net.hpp>
#include <coring/io/timer.hpp>

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace {

namespace cb = coring::bench;
using clk = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int rounds = 4;  // per kind and job: each round computes `compute` ms

[[gnu::noinline]] void compute_for(std::chrono::milliseconds d) {
  const auto end = clk::now() + d;
  while (clk::now() < end) asm volatile("" ::: "memory");
}

std::int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now().time_since_epoch()).count(); }

struct woken {
  std::atomic<bool> waiting{false};
  std::atomic<int> armed_on{-1};
  std::int64_t ran_at = 0;  // written before the task ends; read after it is joined
};

coring::task<void> yield_until(const std::atomic<bool>& flag) {
  while (!flag.load(std::memory_order_acquire)) co_await coring::yield();
  for (int i = 0; i < 8; ++i) co_await coring::yield();
}

coring::task<void> receiver(coring::channel<int>& ch, woken& w) {
  w.armed_on = coring::current_worker();
  w.waiting.store(true, std::memory_order_release);
  (void)co_await ch.recv();
  w.ran_at = now_ns();
}

coring::task<void> reader(coring::unix_stream& s, woken& w) {
  std::byte b[1];
  w.armed_on = coring::current_worker();
  w.waiting.store(true, std::memory_order_release);
  (void)co_await s.read(b);
  w.ran_at = now_ns();
}

coring::task<void> sleeper(clk::time_point deadline, woken& w) {
  w.armed_on = coring::current_worker();
  w.waiting.store(true, std::memory_order_release);
  co_await coring::sleep_until(deadline);
  w.ran_at = now_ns();
}

struct lateness {
  std::vector<double> channel, read, timer;
};

coring::task<void> measure(std::chrono::milliseconds compute, lateness& out) {
  for (int r = 0; r < rounds; ++r) {
    coring::channel<int> ch(1);
    woken w;
    auto h = coring::spawn(receiver(ch, w));
    co_await yield_until(w.waiting);
    const std::int64_t sent = now_ns();
    co_await ch.send(r);
    compute_for(compute);
    co_await h;
    out.channel.push_back(static_cast<double>(w.ran_at - sent) / 1e3);
  }
  for (int r = 0, attempts = 0; r < rounds && attempts < 64 * rounds; ++attempts) {
    auto [a, b] = coring::unix_stream::pair();
    woken w;
    auto h = coring::spawn(reader(a, w));
    co_await yield_until(w.waiting);
    const bool here = w.armed_on.load() == coring::current_worker();
    const std::int64_t written = now_ns();
    const char byte = 'x';
    if (::write(b.native_handle(), &byte, 1) != 1) throw std::runtime_error("stall: write failed");
    if (here) compute_for(compute);
    co_await h;
    if (here) {
      out.read.push_back(static_cast<double>(w.ran_at - written) / 1e3);
      ++r;
    }
  }
  for (int r = 0, attempts = 0; r < rounds && attempts < 64 * rounds; ++attempts) {
    woken w;
    const auto deadline = clk::now() + 2ms;
    auto h = coring::spawn(sleeper(deadline, w));
    co_await yield_until(w.waiting);
    const bool here = w.armed_on.load() == coring::current_worker();
    if (here) compute_for(compute);
    co_await h;
    if (here) {
      const std::int64_t due = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
      out.timer.push_back(static_cast<double>(w.ran_at - due) / 1e3);
      ++r;
    }
  }
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void report(benchmark::State& state, const lateness& l) {
  auto put = [&](const char* kind, const std::vector<double>& v) {
    state.counters[std::string(kind) + "_p50_us"] = benchmark::Counter(percentile(v, 0.5));
    state.counters[std::string(kind) + "_max_us"] = benchmark::Counter(percentile(v, 1.0));
    state.counters[std::string(kind) + "_rounds"] = benchmark::Counter(static_cast<double>(v.size()));
  };
  put("channel", l.channel);
  if (!l.read.empty()) put("read", l.read);
  if (!l.timer.empty()) put("timer", l.timer);
}

void bench_coring(benchmark::State& state, std::chrono::milliseconds compute) {
  lateness l;
  cb::time_jobs(state, [&] {
    cb::shared_runtime().block_on(measure(compute, l));
    return 0;
  });
  if (l.read.size() < static_cast<std::size_t>(rounds) || l.timer.size() < static_cast<std::size_t>(rounds)) {
    cb::fail(state, "stall: could not place the woken task and the computation on one worker");
  }
  report(state, l);
}

// Two threads: B waits on a condition variable; A notifies it and computes.
void bench_threads(benchmark::State& state, std::chrono::milliseconds compute) {
  lateness l;
  cb::time_jobs(state, [&] {
    for (int r = 0; r < rounds; ++r) {
      std::mutex m;
      std::condition_variable cv;
      bool go = false, waiting = false;
      std::int64_t ran_at = 0;
      std::thread b([&] {
        std::unique_lock lock(m);
        waiting = true;
        cv.notify_all();
        cv.wait(lock, [&] { return go; });
        ran_at = now_ns();
      });
      std::int64_t sent = 0;
      {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return waiting; });
        go = true;
        sent = now_ns();
      }
      cv.notify_all();
      compute_for(compute);
      b.join();
      l.channel.push_back(static_cast<double>(ran_at - sent) / 1e3);
    }
    return 0;
  });
  report(state, l);
}

}  // namespace

void coring::bench::register_benchmarks() {
  const std::chrono::milliseconds compute(cb::quick() ? 20 : 300);
  const auto size = static_cast<std::uint64_t>(compute.count());
  cb::add("stall", "coring", size, [compute](benchmark::State& s) { bench_coring(s, compute); });
  cb::add("stall", "std_thread", size, [compute](benchmark::State& s) { bench_threads(s, compute); });
}
