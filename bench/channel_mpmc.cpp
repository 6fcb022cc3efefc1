// channel_mpmc: 4 producers × 4 consumers move N items through one bounded queue
// (DESIGN.md §5; target ≥ 20M items/s).
//
//  - coring:      4 + 4 tasks on the shared runtime, coring::channel<uint64_t>(capacity).
//  - std_thread:  4 + 4 threads, a bounded std::deque guarded by a mutex and two condvars.
//  - tbb:         4 + 4 threads, tbb::concurrent_bounded_queue (oneTBB's blocking queue).
// Every contender checks that the sum of the received items is the sum of those sent.
// Reported: ns_per_item and mitems_per_s (wall time / N).
#include "harness.hpp"

#include <coring/core/channel.hpp>
#include <tbb/concurrent_queue.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace {

namespace cb = coring::bench;
using number = std::uint64_t;

constexpr unsigned producers = 4;
constexpr unsigned consumers = 4;
// Large enough that producers and consumers rarely wait on each other in steady state,
// small enough to stay in cache.
constexpr std::size_t capacity = 1024;

constexpr number expected_sum(number n) { return n * (n - 1) / 2; }

// Producer p sends p, p + 4, p + 8, ... below n: every item in [0, n) exactly once.
coring::task<void> produce(coring::channel<number>& ch, number first, number n) {
  for (number v = first; v < n; v += producers) co_await ch.send(v);
}

coring::task<number> consume(coring::channel<number>& ch) {
  number sum = 0;
  while (std::optional<number> v = co_await ch.recv()) sum += *v;
  co_return sum;
}

coring::task<number> mpmc_coring(number n) {
  coring::channel<number> ch(capacity);
  std::vector<coring::join_handle<number>> sums;
  std::vector<coring::join_handle<void>> sends;
  for (unsigned c = 0; c < consumers; ++c) sums.push_back(coring::spawn(consume(ch)));
  for (unsigned p = 0; p < producers; ++p) sends.push_back(coring::spawn(produce(ch, p, n)));
  for (auto& h : sends) co_await std::move(h);
  ch.close();
  number total = 0;
  for (auto& h : sums) total += co_await std::move(h);
  co_return total;
}

// The classic bounded blocking queue.
class locked_queue {
 public:
  void push(number v) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity; });
    items_.push_back(v);
    lock.unlock();
    not_empty_.notify_one();
  }
  // False once closed and drained.
  bool pop(number& out) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return false;
    out = items_.front();
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return true;
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<number> items_;
  bool closed_ = false;
};

template <class Push, class Pop, class Close>
number run_threads(number n, Push push, Pop pop, Close close) {
  std::vector<number> sums(consumers, 0);
  std::vector<std::thread> cons, prods;
  for (unsigned c = 0; c < consumers; ++c) {
    cons.emplace_back([&, c] {
      number v = 0, sum = 0;
      while (pop(v)) sum += v;
      sums[c] = sum;
    });
  }
  for (unsigned p = 0; p < producers; ++p) {
    prods.emplace_back([&, p] {
      for (number v = p; v < n; v += producers) push(v);
    });
  }
  for (auto& t : prods) t.join();
  close();
  for (auto& t : cons) t.join();
  number total = 0;
  for (number s : sums) total += s;
  return total;
}

number mpmc_locked(number n) {
  locked_queue q;
  return run_threads(
      n, [&](number v) { q.push(v); }, [&](number& v) { return q.pop(v); }, [&] { q.close(); });
}

number mpmc_tbb(number n) {
  tbb::concurrent_bounded_queue<number> q;
  q.set_capacity(capacity);
  // A sentinel per consumer ends it (the queue has no close()); items are < n.
  const number end = ~number{0};
  return run_threads(
      n, [&](number v) { q.push(v); },
      [&](number& v) {
        q.pop(v);
        return v != end;
      },
      [&] {
        for (unsigned c = 0; c < consumers; ++c) q.push(end);
      });
}

template <class Job>
void add_contender(const char* contender, number n, unsigned thread_count, Job job) {
  cb::add("channel_mpmc", contender, n, [n, thread_count, job](benchmark::State& state) {
    const auto result = cb::time_jobs(state, [&] { return job(n); });
    if (!result.ok) return;
    cb::verify(state, result.value, expected_sum(n), "sum of the received items");
    cb::report_threads(state, thread_count);
    cb::report_ns_per_item(state, "ns_per_item", result, static_cast<double>(n));
    if (result.seconds > 0) {
      state.counters["mitems_per_s"] =
          benchmark::Counter(static_cast<double>(n) * static_cast<double>(result.jobs) / result.seconds / 1e6);
    }
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const number n = quick() ? 1'000'000 : 10'000'000;
  add_contender("coring", n, threads(), [](number k) { return shared_runtime().block_on(mpmc_coring(k)); });
  add_contender("std_thread", n, producers + consumers, [](number k) { return mpmc_locked(k); });
  add_contender("tbb", n, producers + consumers, [](number k) { return mpmc_tbb(k); });
}
