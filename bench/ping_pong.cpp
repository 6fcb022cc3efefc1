// ping_pong: two parties pass a token back and forth N times (DESIGN.md §5).
//
//  - coring:          two tasks, two channels of capacity 1, on the shared runtime. A send
//                     to a waiting receiver posts it to the sender's LIFO slot, so the pair
//                     settles on one worker and each hop is a same-thread hand-off.
//  - coring_1worker:  the same pair on a dedicated one-worker runtime (the figure the
//                     "≤ 100 ns per round trip on one worker" target is about).
//  - std_thread:      two threads, two one-slot mailboxes guarded by mutex + condvar.
//  - std_atomic:      two threads waiting on one std::atomic counter with wait/notify.
// Reported: ns_per_round_trip (wall time / N).
#include "harness.hpp"

#include <coring/core/channel.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace {

namespace cb = coring::bench;
using number = std::uint64_t;

constexpr number expected_sum(number n) { return n * (n - 1) / 2; }

coring::task<void> ponger(coring::channel<number>& in, coring::channel<number>& out, number n) {
  for (number i = 0; i < n; ++i) {
    std::optional<number> v = co_await in.recv();
    co_await out.send(*v);
  }
}

coring::task<number> ping_pong_coring(number n) {
  coring::channel<number> ping(1), pong(1);
  auto other = coring::spawn(ponger(ping, pong, n));
  number sum = 0;
  for (number i = 0; i < n; ++i) {
    co_await ping.send(i);
    sum += *co_await pong.recv();
  }
  co_await std::move(other);
  co_return sum;
}

// A one-slot mailbox with a mutex and a condition variable.
class mailbox {
 public:
  void put(number v) {
    {
      std::lock_guard lock(mutex_);
      value_ = v;
    }
    cv_.notify_one();
  }
  number take() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return value_.has_value(); });
    const number v = *value_;
    value_.reset();
    return v;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<number> value_;
};

number ping_pong_condvar(number n) {
  mailbox ping, pong;
  std::thread other([&] {
    for (number i = 0; i < n; ++i) pong.put(ping.take());
  });
  number sum = 0;
  for (number i = 0; i < n; ++i) {
    ping.put(i);
    sum += pong.take();
  }
  other.join();
  return sum;
}

// One counter: the pinger moves it to odd values, the ponger to even ones; each waits
// for the other's move with std::atomic::wait. 32 bits, so that libstdc++ waits on the
// counter itself with a futex (wider types go through a proxy with a condvar pool); the
// values wrap, which only needs n < 2^31.
number ping_pong_atomic(number n) {
  using word = std::uint32_t;
  std::atomic<word> turn{0};
  std::atomic<number> token{0};
  auto wait_for = [&](word wanted) {
    // acquire: pairs with the other side's release store, so `token` is visible.
    for (word t = turn.load(std::memory_order_acquire); t != wanted; t = turn.load(std::memory_order_acquire)) {
      turn.wait(t, std::memory_order_acquire);
    }
  };
  std::thread other([&] {
    for (number i = 0; i < n; ++i) {
      const auto mine = static_cast<word>(2 * i + 1);
      wait_for(mine);
      // release: the token is echoed in place; this orders our read of it before the
      // pinger's next write.
      turn.store(static_cast<word>(mine + 1), std::memory_order_release);
      turn.notify_one();
    }
  });
  number sum = 0;
  for (number i = 0; i < n; ++i) {
    token.store(i, std::memory_order_relaxed);  // published by the release store below
    turn.store(static_cast<word>(2 * i + 1), std::memory_order_release);
    turn.notify_one();
    wait_for(static_cast<word>(2 * i + 2));
    sum += token.load(std::memory_order_relaxed);
  }
  other.join();
  return sum;
}

template <class Job>
void add_contender(const char* contender, number n, unsigned thread_count, Job job) {
  cb::add("ping_pong", contender, n, [n, thread_count, job](benchmark::State& state) {
    if (thread_count == 1) (void)cb::one_worker_runtime();  // started outside the timed runs
    const auto result = cb::time_jobs(state, [&] { return job(n); });
    if (!result.ok) return;
    cb::verify(state, result.value, expected_sum(n), "sum of the tokens");
    cb::report_threads(state, thread_count);
    cb::report_ns_per_item(state, "ns_per_round_trip", result, static_cast<double>(n));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const number n = quick() ? 100'000 : 1'000'000;
  add_contender("coring", n, threads(), [](number k) { return shared_runtime().block_on(ping_pong_coring(k)); });
  add_contender("coring_1worker", n, 1, [](number k) { return cb::one_worker_runtime().block_on(ping_pong_coring(k)); });
  add_contender("std_thread", n, 2, [](number k) { return ping_pong_condvar(k); });
  add_contender("std_atomic", n, 2, [](number k) { return ping_pong_atomic(k); });
}
