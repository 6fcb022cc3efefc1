// The worker loop and the scheduler's executor interface.
//
// One pass of the loop, in this order (run_worker; each step is a function below):
//   1. next_local   every 61st tick the own ring and the injection queue first; then the
//                   LIFO slot (at most 3 in a row), the fork deque (newest first), the
//                   run queue (oldest first), the LIFO slot, the injection queue
//   2. poll_ring    the own ring when the local queues are empty: a user-space look at
//                   the CQ and the timers; io_uring_enter only if submissions wait
//   3. search       as one of at most half the workers: help_peers (half a peer's deque,
//                   a busy peer's completions and due timers, a stuck peer's LIFO slot),
//                   the injection queue, the own ring; spins up to CORING_SPIN_US
//   4. park         in the own ring; while any peer is awake, every watch_interval it
//                   wakes to help_peers once, so that work woken on a worker that then
//                   computes for a long time runs elsewhere within about that interval
// Before a task is resumed from the loop, submissions queued by the tasks of the last
// 8 passes go to the kernel (flush_ring), so a long chain does not hold them back.
#include "scheduler.hpp"

#include <coring/core/detail/fence.hpp>

#include <cassert>
#include <cstdlib>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <system_error>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CORING_CPU_RELAX() _mm_pause()
#else
#define CORING_CPU_RELAX() ((void)0)
#endif

namespace coring::detail {

constinit thread_local worker* tls_worker = nullptr;

namespace {

// Go and Tokio check the global queue first every 61 ticks: a prime, so the check does
// not fall into lockstep with other periodic work.
constexpr std::uint32_t injection_interval = 61;
// Tokio runs the LIFO slot at most 3 times in a row; beyond that the deque goes first.
constexpr std::uint32_t max_lifo_streak = 3;
// take_next answers in a row before the loop gets a pass (fairness, injection checks).
constexpr std::uint32_t chain_limit = 64;
// Largest batch moved at once from a victim or the injection queue.
constexpr std::size_t max_batch = 128;
// Loop passes between flushes of the own submission queue: batches a burst of
// submissions into one io_uring_enter (650 ns here) and still sends them promptly.
constexpr std::uint32_t submit_interval = 8;
// A parked worker with a peer awake looks at its peers this often. Each look costs a
// few microseconds of an otherwise idle CPU (5,000 looks/s: under 3% of it); it bounds
// how long work woken on a worker stuck in a long resumption can wait (the stall
// family of bench/ measures it). The kernel's timer slack (50 us) comes on top.
constexpr std::chrono::microseconds watch_interval{200};
// A peer's LIFO slot is taken only after the peer has started no resumption for this
// long: shorter would split message-passing pairs whose hand-off takes ~60 ns (Go waits
// 3 us before it steals runnext; we look less often, so the bar can be higher).
constexpr std::int64_t lifo_steal_after_ns = 20'000;

// Completions of one reaping pass kept in order (see worker::reaped); beyond this many
// the rest go through the LIFO slot as they come.
constexpr std::size_t reap_order_capacity = 512;

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t next_random(std::uint64_t& state) noexcept {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

}  // namespace

scheduler::scheduler(const runtime_config& config)
    : config_(config), scope_(*this, config.workers), idle_(config.workers) {
  workers_.reserve(config.workers);
  for (unsigned i = 0; i < config.workers; ++i) {
    workers_.push_back(std::make_unique<worker>(
        *this, static_cast<int>(i), config.local_queue,
        reactor_options{.entries = config.ring_entries,
                        .sqpoll = config.sqpoll,
                        .shared = true,
                        .recv_buffers = config.recv_buffers}));
    workers_.back()->rng = 0x9e3779b97f4a7c15ull * (i + 1);
    workers_.back()->peers.resize(config.workers);
    if (i == 0) {
      // Said once, not silently: receives still work, each with a buffer of its own.
      const reactor_info& info = workers_.back()->ring.info();
      if (info.recv_buffers == 0 && info.recv_buffers_errno != 0) {
        std::fprintf(stderr, "coring: the kernel refused the receive pool (CORING_RECV_BUFFERS=%u): %s; "
                     "receives use a buffer of their own\n", config.recv_buffers,
                     std::strerror(info.recv_buffers_errno));
      }
    }
    workers_.back()->reaped.reserve(reap_order_capacity);
  }
  try {
    for (auto& w : workers_) w->thread = std::thread([this, wp = w.get()] { run_worker(*wp); });
    if (config.slow_task_ms != 0) watchdog_ = std::thread([this] { run_watchdog(); });
  } catch (const std::system_error& e) {
    stopping_.store(true, std::memory_order_seq_cst);
    for (auto& w : workers_) {
      unpark(*w);
      if (w->thread.joinable()) w->thread.join();
    }
    throw std::system_error(e.code(), "coring::runtime: cannot start " + std::to_string(config.workers) +
                                          " worker threads (std::thread)");
  }
}

scheduler::~scheduler() {
  if (watchdog_.joinable()) {
    {
      std::lock_guard lock(watchdog_mutex_);
      watchdog_stop_ = true;
    }
    watchdog_cv_.notify_all();
    watchdog_.join();
  }
  // seq_cst: a worker that reads `stopping_ == false` and then parks is unparked below,
  // because its park flag and its ring's eventfd remember the unpark.
  stopping_.store(true, std::memory_order_seq_cst);
  for (auto& w : workers_) unpark(*w);
  for (auto& w : workers_) w->thread.join();
  // A thread outside the pool may still be inside post() for a task that has already
  // run (see inject_foreign); it only needs a moment.
  while (foreign_in_flight_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  if (config_.stats) print_stats();
}

worker* scheduler::local() const noexcept {
  worker* w = tls_worker;
  return (w != nullptr && &w->sched == this) ? w : nullptr;
}

// The loop (see the top of this file). Returns when the scheduler stops and no work is
// left to find.
void scheduler::run_worker(worker& w) {
  tls_worker = &w;
  tls_spawn_slot = &scope_.worker_slot(static_cast<std::size_t>(w.index));
  set_current_executor(this);
  set_current_reactor(&w.ring);
  if (!config_.pin_cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(config_.pin_cpus[static_cast<std::size_t>(w.index) % config_.pin_cpus.size()], &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  for (;;) {
    void* h = next_local(w);
    if (h == nullptr && poll_ring(w)) h = next_local(w);
    if (h == nullptr) h = search(w);
    if (h == nullptr) {
      if (stopping_.load(std::memory_order_seq_cst)) break;
      park(w);
      continue;
    }
    if (w.searching) {
      w.searching = false;
      // The last searcher found work: someone else should look for more.
      if (idle_.end_search()) notify_one();
    }
    if (w.tick % submit_interval == 0 && w.ring.has_unsubmitted()) flush_ring(w);
    w.chain_budget = chain_limit;
    ++w.stats.resumed;
    w.bump_progress();
    if (config_.slow_task_ms != 0) [[unlikely]] {
      w.resuming.store(true, std::memory_order_relaxed);
      std::coroutine_handle<>::from_address(h).resume();
      w.resuming.store(false, std::memory_order_relaxed);
    } else {
      std::coroutine_handle<>::from_address(h).resume();
    }
  }
  set_current_reactor(nullptr);
  set_current_executor(nullptr);
  tls_spawn_slot = nullptr;
  tls_worker = nullptr;
}

void* scheduler::next_local(worker& w) noexcept {
  if (++w.tick % injection_interval == 0) {
    poll_ring(w);  // I/O is reaped at least this often even when the queues never empty
    if (void* h = take_injected(w)) return h;
  }
  if (w.lifo_streak < max_lifo_streak) {
    if (void* h = take_lifo(w)) {
      ++w.lifo_streak;
      return h;
    }
  }
  w.lifo_streak = 0;
  if (auto h = w.deque.pop()) return *h;
  if (auto h = w.run_queue.steal()) return *h;  // the oldest first
  if (void* h = take_lifo(w)) return h;
  return take_injected(w);
}

// The owner's take: the load spares the exchange when the slot is empty (most loop
// passes of a fork-join program).
void* scheduler::take_lifo(worker& w) noexcept {
  if (w.lifo.load(std::memory_order_relaxed) == nullptr) return nullptr;
  return w.lifo.exchange(nullptr, std::memory_order_acquire);
}

bool scheduler::has_local_work(const worker& w) const noexcept {
  return w.lifo.load(std::memory_order_relaxed) != nullptr || w.deque.size_approx() != 0 ||
         w.run_queue.size_approx() != 0;
}

void* scheduler::take_injected(worker& w) noexcept {
  if (injection_.empty()) return nullptr;
  void* batch[max_batch];
  const std::size_t limit = std::min<std::size_t>(max_batch, w.deque.capacity() / 2);
  const std::size_t n = injection_.pop_batch(batch, std::max<std::size_t>(1, limit));
  if (n == 0) return nullptr;
  w.stats.injected += n;
  // Into the run queue, which the owner serves oldest first: the batch keeps the
  // injection queue's order (spawns from outside, yields, overflow).
  for (std::size_t i = 1; i < n; ++i) push_local(w, w.run_queue, batch[i]);
  return batch[0];
}

// The search phase: as a searcher, looks at every peer, the injection queue and the own
// ring until something turns up or CORING_SPIN_US has passed.
void* scheduler::search(worker& w) noexcept {
  if (!w.searching) {
    if (!idle_.try_begin_search()) return nullptr;
    w.searching = true;
  }
  std::int64_t now = now_ns();
  const std::int64_t deadline = now + static_cast<std::int64_t>(config_.spin_us) * 1000;
  std::uint32_t passes = 0;
  do {
    if (void* h = help_peers(w, now)) return h;
    if (void* h = take_injected(w)) return h;
    if ((passes & 15) == 0 && poll_ring(w)) {
      if (void* h = next_local(w)) return h;
    }
    if (stopping_.load(std::memory_order_relaxed)) break;
    for (int k = 0; k < 32; ++k) CORING_CPU_RELAX();
    // Read the clock every 16th pass only: it is the dearest part of an idle pass.
    if ((++passes & 15) == 0) now = now_ns();
  } while ((passes & 15) != 0 || now < deadline);
  return nullptr;
}

// One look at every peer, from a random one on: half of its deque; its ring, if it has
// completions, due timers or submissions waiting (reactor::assist runs them here, and
// the coroutines they wake land in this worker's queues); its LIFO slot, if it has
// started no resumption for lifo_steal_after_ns. Returns a coroutine to run, or nullptr.
void* scheduler::help_peers(worker& w, std::int64_t now) noexcept {
  const std::size_t n = workers_.size();
  const std::size_t start = next_random(w.rng) % n;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t index = (start + i) % n;
    worker& victim = *workers_[index];
    if (&victim == &w) continue;
    if (void* h = steal_from(w, victim.deque)) return h;
    if (void* h = steal_from(w, victim.run_queue)) return h;
    if (victim.ring.needs_help(now)) {
      std::size_t got = 0;
      w.reaping = true;
      try {
        got = victim.ring.assist();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "coring: worker %d: io_uring of worker %d failed: %s\n", w.index, victim.index, e.what());
        std::abort();  // a broken ring strands every operation in it; nothing can recover
      }
      end_reaping(w);
      if (got != 0) {
        w.stats.assisted += got;
        if (void* h = next_local(w)) return h;
      }
    }
    peer_view& seen = w.peers[index];
    const std::uint32_t progress = victim.progress.load(std::memory_order_relaxed);
    if (progress != seen.progress) {
      seen.progress = progress;
      seen.since_ns = now;
    } else if (victim.lifo.load(std::memory_order_relaxed) != nullptr && now - seen.since_ns >= lifo_steal_after_ns) {
      if (void* h = victim.lifo.exchange(nullptr, std::memory_order_acquire)) {
        ++w.stats.lifo_stolen;
        return h;
      }
    }
  }
  return nullptr;
}

// Half of `victim` (one of a peer's two queues), oldest first, into the same kind of
// queue here: forks stay forks, the run queue keeps its order. Returns the first to run.
void* scheduler::steal_from(worker& w, work_deque<void*>& victim) noexcept {
  const std::size_t available = victim.size_approx();
  if (available == 0) return nullptr;
  work_deque<void*>& into = &victim == &w.deque ? w.deque : w.run_queue;
  void* batch[max_batch];
  const std::size_t want = std::min({(available + 1) / 2, max_batch, w.deque.capacity() / 2});
  const std::size_t got = victim.steal_batch(batch, want);
  if (got == 0) return nullptr;
  w.stats.stolen += got;
  for (std::size_t k = 1; k < got; ++k) push_local(w, into, batch[k]);
  return batch[0];
}

bool scheduler::work_visible() const noexcept {
  if (!injection_.empty()) return true;
  for (const auto& w : workers_) {
    if (w->deque.size_approx() != 0 || w->run_queue.size_approx() != 0) return true;
  }
  return false;
}

void scheduler::park(worker& w) noexcept {
  idle_.announce_park(w.index, w.searching);
  w.searching = false;
  // Pairs with the notifier's fence in idle_set::worker_to_notify (idle.hpp): after
  // announcing, re-check every queue, so work made visible by a notifier that saw us
  // unparked is not missed.
  full_fence();  // seq_cst fence (coring/core/detail/fence.hpp)
  if (work_visible() || stopping_.load(std::memory_order_seq_cst)) {
    if (idle_.cancel_park(w.index)) return;
    // A notifier already picked us and counted us as a searcher; take its unpark.
    sleep_until_woken(w);
    w.searching = true;
    return;
  }
  ++w.stats.parks;
  for (;;) {
    if (w.parked.consume()) {
      w.searching = true;  // a notifier counted us as searching (or we are stopping)
      return;
    }
    // A peer that is awake may be stuck in a long resumption with woken work in its
    // LIFO slot, its ring or its timers, and nobody would notice: watch it.
    const bool watch = idle_.unparked() != 0;
    // Sleeps until a completion, the nearest timer, an unpark (reactor::wake), or the
    // next look at the peers.
    wait_ring(w, watch ? std::optional<std::chrono::nanoseconds>(watch_interval) : std::nullopt);
    void* found = nullptr;
    if (!has_local_work(w) && watch) found = help_peers(w, now_ns());
    if (found == nullptr && !has_local_work(w)) continue;
    // Work of our own (I/O completed, or taken from a peer): run it. Leave the sleeper
    // list ourselves; if a notifier took us off it meanwhile, its unpark is on the way:
    // consume it.
    if (idle_.cancel_park(w.index)) {
      // The only worker awake: wake a peer to watch us (it parks again with a watch
      // timeout), or a long resumption here would strand what our ring wakes next.
      if (idle_.unparked() == 1) notify_one();
    } else {
      sleep_until_woken(w);
      w.searching = true;
    }
    if (found != nullptr) place_local(w, found);
    return;
  }
}

// Waits for an unpark that is known to be coming (a notifier took this worker).
void scheduler::sleep_until_woken(worker& w) noexcept {
  while (!w.parked.consume()) wait_ring(w);
}

// Blocks in the worker's ring. A failing ring strands every operation in it; nothing
// can recover, so the process stops with the reason.
void scheduler::wait_ring(worker& w, std::optional<std::chrono::nanoseconds> max) noexcept {
  w.reaping = true;
  try {
    w.ring.wait(max);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coring: worker %d: io_uring failed: %s\n", w.index, e.what());
    std::abort();
  }
  end_reaping(w);
}

// Queues what a reaping pass woke, in completion order, on the run queue that the owner
// serves oldest first (worker::run_queue): like an epoll loop, a connection that became
// ready first is served first, and one woken earlier never waits behind a stream of
// later completions (the fork deque, popped newest first, let a busy server starve some
// connections for seconds: http_plaintext's 1-worker p99).
void scheduler::end_reaping(worker& w) noexcept {
  w.reaping = false;
  for (void* h : w.reaped) push_local(w, w.run_queue, h);
  w.reaped.clear();
}

// One non-blocking pass of the own ring when I/O is in flight; true if something
// completed (its coroutines are now in this worker's LIFO slot or deque).
bool scheduler::poll_ring(worker& w) noexcept {
  if (w.ring.idle()) return false;
  std::size_t done = 0;
  w.reaping = true;
  try {
    done = w.ring.poll();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coring: worker %d: io_uring failed: %s\n", w.index, e.what());
    std::abort();  // a broken ring strands every operation in it; nothing can recover
  }
  end_reaping(w);
  if (done != 0) ++w.stats.polls;
  return done != 0;
}

// Hands the own ring's queued submissions to the kernel without reaping.
void scheduler::flush_ring(worker& w) noexcept {
  try {
    w.ring.flush_submissions();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coring: worker %d: io_uring failed: %s\n", w.index, e.what());
    std::abort();
  }
}

void scheduler::unpark(worker& w) noexcept {
  w.parked.set();
  w.ring.wake();
}

void scheduler::notify_one() noexcept {
  const int i = idle_.worker_to_notify();
  if (i < 0) return;
  if (worker* w = local()) ++w->stats.notifies;
  unpark(*workers_[static_cast<std::size_t>(i)]);
}

// Pushes onto the calling worker's own deque. Only a push onto an empty deque looks for a
// sleeper to wake (see "Local pushes" in idle.hpp): a non-empty deque was announced when
// it became non-empty, and no worker parks while it can still see that work.
void scheduler::push_local(worker& w, work_deque<void*>& into, void* h) noexcept {
  const bool was_empty = into.size_approx() == 0;
  if (into.push(h)) [[likely]] {
    if (was_empty) notify_one();
    return;
  }
  // Full: move half of the deque to the injection queue (Tokio's overflow), then push:
  // one CAS or fence and one lock per batch of up to max_batch items.
  void* batch[max_batch];
  std::size_t moved = 0;
  // The fork deque gives away its oldest half (the owner would reach it last); the
  // run queue its newest half (the owner takes its oldest first, and they are next).
  const bool oldest = &into == &w.deque;
  const std::size_t half = into.capacity() / 2;
  for (int lost = 0; moved < half && lost < 8;) {
    const std::size_t want = std::min(max_batch, half - moved);
    const std::size_t n = oldest ? into.take_oldest(batch, want) : into.take_newest(batch, want);
    if (n == 0) {
      ++lost;  // thieves got there first (or the deque shrank): look again
      if (into.size_approx() < 2) break;
      continue;
    }
    injection_.push_batch(batch, n);
    moved += n;
  }
  w.stats.overflowed += moved;
  if (!into.push(h)) injection_.push(h);
  notify_one();
}

// Work from a thread outside the pool. Once `h` is in the injection queue it may run,
// finish, and let the runtime shut down while this thread is still notifying; the
// in-flight count makes ~scheduler wait for us. seq_cst on the increment: it must be
// visible to ~scheduler's check whenever the task it enables can have finished, which
// the queue's mutex and the runtime's live count order after it.
void scheduler::inject_foreign(void* h) noexcept {
  foreign_in_flight_.fetch_add(1, std::memory_order_seq_cst);
  injection_.push(h);
  notify_one();
  // release: our last touch of the scheduler happens before ~scheduler's acquire load.
  foreign_in_flight_.fetch_sub(1, std::memory_order_release);
}

void scheduler::post(std::coroutine_handle<> h) noexcept {
  if (worker* w = local()) {
    place_local(*w, h.address());
    return;
  }
  inject_foreign(h.address());
}

// Into the own LIFO slot; what it held moves to the deque (where peers steal it).
void scheduler::place_local(worker& w, void* h) noexcept {
  if (w.reaping && w.reaped.size() < w.reaped.capacity()) {
    w.reaped.push_back(h);  // within capacity: cannot allocate
    return;
  }
  // Only the owner stores coroutines here and searchers only take them, so an empty
  // slot stays empty until our store: no exchange needed. release publishes the frame.
  if (w.lifo.load(std::memory_order_relaxed) == nullptr) {
    w.lifo.store(h, std::memory_order_release);
    return;
  }
  if (void* previous = w.lifo.exchange(h, std::memory_order_acq_rel)) push_local(w, previous);
}

void scheduler::fork(std::coroutine_handle<> h) noexcept {
  if (worker* w = local()) {
    push_local(*w, h.address());
    return;
  }
  inject_foreign(h.address());
}

void scheduler::spawn(std::coroutine_handle<> h) noexcept {
  if (worker* w = local()) {
    push_local(*w, w->run_queue, h.address());
    return;
  }
  inject_foreign(h.address());
}

// The join of a spawned task that has not started: in fork-join code (spawn a child,
// compute, await it) the child is still the newest entry of this worker's run queue
// unless a thief took it. Only the owner pushes there, so an item at the bottom can only
// disappear (to a thief, when it is the last one), never change: a pop after a match
// either returns `h` or nothing.
bool scheduler::take_unstarted(std::coroutine_handle<> h) noexcept {
  worker* w = local();
  if (w == nullptr || w->run_queue.peek_newest() != h.address()) return false;
  const auto taken = w->run_queue.pop();  // `h`, or nothing if a thief took it meanwhile
  assert(!taken || *taken == h.address());
  return taken.has_value();
}

void scheduler::defer(std::coroutine_handle<> h) noexcept {
  // A worker that yields will look at the injection queue itself; wake someone only for
  // work that comes from outside.
  if (local() != nullptr) {
    injection_.push(h.address());
    return;
  }
  inject_foreign(h.address());
}

std::coroutine_handle<> scheduler::take_next() noexcept {
  worker* w = local();
  if (w == nullptr || w->chain_budget == 0) return {};
  --w->chain_budget;
  // The same order as next_local: the LIFO slot at most max_lifo_streak times in a row,
  // so that a chain of ping-pong hand-offs cannot starve the queues; then the newest
  // fork, the oldest entry of the run queue, the LIFO slot.
  void* h = nullptr;
  if (w->lifo_streak < max_lifo_streak && (h = take_lifo(*w)) != nullptr) {
    ++w->lifo_streak;
  } else {
    w->lifo_streak = 0;
    if (auto fork = w->deque.pop()) {
      h = *fork;
    } else if (auto spawned = w->run_queue.steal()) {
      h = *spawned;
    } else if (h = take_lifo(*w); h == nullptr) {
      return {};
    }
  }
  ++w->stats.chained;
  w->bump_progress();
  return std::coroutine_handle<>::from_address(h);
}

void scheduler::print_stats() const {
  std::fprintf(stderr,
               "coring stats: worker resumed chained stolen lifo_stolen assisted injected overflowed parks notifies\n");
  for (const auto& w : workers_) {
    const worker_stats& s = w->stats;
    std::fprintf(stderr, "coring stats: %6d %7llu %7llu %6llu %11llu %8llu %8llu %10llu %5llu %8llu\n", w->index,
                 static_cast<unsigned long long>(s.resumed), static_cast<unsigned long long>(s.chained),
                 static_cast<unsigned long long>(s.stolen), static_cast<unsigned long long>(s.lifo_stolen),
                 static_cast<unsigned long long>(s.assisted), static_cast<unsigned long long>(s.injected),
                 static_cast<unsigned long long>(s.overflowed), static_cast<unsigned long long>(s.parks),
                 static_cast<unsigned long long>(s.notifies));
  }
}

}  // namespace coring::detail
