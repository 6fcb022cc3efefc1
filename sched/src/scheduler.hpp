// The work-stealing scheduler: N workers, each with a bounded Chase-Lev deque and a
// one-task LIFO slot, a shared injection queue, and the idle protocol of idle.hpp.
// Private to sched/.
#pragma once

#include "idle.hpp"

#include <coring/core/executor.hpp>
#include <coring/io/reactor.hpp>
#include <coring/sched/config.hpp>
#include <coring/sched/deque.hpp>
#include <coring/sched/injection_queue.hpp>
#include <coring/sched/join_handle.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace coring::detail {

class scheduler;

// Counters a worker keeps for itself (printed with CORING_STATS=1).
struct worker_stats {
  std::uint64_t resumed = 0;        // coroutines resumed from the loop
  std::uint64_t chained = 0;        // coroutines run by take_next (no loop pass)
  std::uint64_t stolen = 0;         // coroutines taken from other workers' deques
  std::uint64_t lifo_stolen = 0;    // coroutines taken from a stuck peer's LIFO slot
  std::uint64_t assisted = 0;       // completions and timers reaped from a peer's ring
  std::uint64_t injected = 0;       // coroutines taken from the injection queue
  std::uint64_t overflowed = 0;     // coroutines moved to the injection queue on overflow
  std::uint64_t parks = 0;          // times the worker slept
  std::uint64_t polls = 0;          // own-ring passes that completed something
  std::uint64_t notifies = 0;       // sleepers this worker woke
};

// What a searcher last saw of a peer, to tell a stuck peer from a busy one: a peer whose
// progress count has not moved for a while is inside one long resumption.
struct peer_view {
  std::uint32_t progress = 0;
  std::int64_t since_ns = 0;
};

struct alignas(64) worker {
  worker(scheduler& s, int i, std::size_t queue_capacity, const reactor_options& ring_options)
      : sched(s), index(i), deque(queue_capacity), run_queue(queue_capacity), ring(ring_options) {}

  scheduler& sched;
  const int index;
  work_deque<void*> deque;  // forks (gather's children); stealable; owner pushes/pops at the bottom
  // The run queue: spawned tasks (coring::spawn), coroutines woken by this worker's
  // reaping passes (I/O completions, timers, in completion order) and batches from the
  // injection queue. The owner takes the oldest (from the top, as thieves do), so tasks
  // start in spawn order, ready connections are served in the order they became ready,
  // and nothing waits behind a stream of newer work. A join takes its child back from the
  // bottom when it is the newest and not started yet (take_unstarted), and runs it
  // inline: fork-join by spawn stays depth-first.
  work_deque<void*> run_queue;
  // The coroutine woken last by this worker: it runs next, which keeps message-passing
  // pairs hot. Only the owner stores a coroutine here; a searcher may take it
  // (exchange to nullptr) once the owner has made no progress for lifo_steal_after, so
  // an owner stuck in a long resumption does not strand it. acquire on every take pairs
  // with the release of the owner's store: the coroutine's frame is visible to whoever
  // resumes it.
  std::atomic<void*> lifo{nullptr};
  // Resumptions started by this worker (loop and take_next). Owner writes (a plain
  // increment published with a relaxed store), searchers read: only "has it moved?"
  // matters, so relaxed is enough.
  std::atomic<std::uint32_t> progress{0};
  std::uint32_t lifo_streak = 0;   // LIFO runs in a row, capped so the deque is not starved
  std::uint32_t tick = 0;          // loop passes; every 61st checks the injection queue first
  std::uint32_t chain_budget = 0;  // take_next answers left before the loop must run
  std::uint64_t rng;               // xorshift state for picking victims
  bool searching = false;
  park_flag parked;
  reactor ring;                 // this worker's io_uring (shared: peers assist); parks in it
  std::vector<peer_view> peers;  // indexed like scheduler::workers_; this worker's only
  // While this worker reaps a ring (its own or a peer's), the coroutines the completions
  // wake collect here in completion order instead of going through the LIFO slot one by
  // one (which would run the last completed first): a burst of ready connections is
  // served oldest first, as an epoll loop serves them. Capacity fixed at start.
  std::vector<void*> reaped;
  bool reaping = false;
  worker_stats stats;
  std::thread thread;
  // The slow-task detector (CORING_SLOW_TASK_MS; see slow_task.cpp). `resuming` is set
  // around each resumption from the loop while the detector is on; the watchdog reads it
  // with `progress`. relaxed: a sampled hint; a stale value delays or skips one report.
  std::atomic<bool> resuming{false};
  // Written by this worker's stack-request signal handler, read by the watchdog after
  // the release store of stack_depth (acquire there); -1 while no stack is waiting.
  void* stack[48] = {};
  std::atomic<int> stack_depth{-1};

  void bump_progress() noexcept { progress.store(progress.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
};

class scheduler final : public executor {
 public:
  explicit scheduler(const runtime_config& config);
  ~scheduler();  // stops and joins the workers
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  void post(std::coroutine_handle<> h) noexcept override;
  void fork(std::coroutine_handle<> h) noexcept override;
  void defer(std::coroutine_handle<> h) noexcept override;
  void spawn(std::coroutine_handle<> h) noexcept override;
  bool take_unstarted(std::coroutine_handle<> h) noexcept override;
  std::coroutine_handle<> take_next() noexcept override;

  spawn_scope& scope() noexcept { return scope_; }
  std::size_t size() const noexcept { return workers_.size(); }

  // The worker running on the calling thread if it belongs to this scheduler.
  worker* local() const noexcept;

 private:
  friend struct worker_loop;
  void run_worker(worker& w);
  void* next_local(worker& w) noexcept;
  void* take_lifo(worker& w) noexcept;
  void* search(worker& w) noexcept;
  void* help_peers(worker& w, std::int64_t now_ns) noexcept;
  void* take_injected(worker& w) noexcept;
  bool work_visible() const noexcept;
  void park(worker& w) noexcept;
  void sleep_until_woken(worker& w) noexcept;
  bool poll_ring(worker& w) noexcept;
  void flush_ring(worker& w) noexcept;
  void place_local(worker& w, void* h) noexcept;
  void end_reaping(worker& w) noexcept;
  void wait_ring(worker& w, std::optional<std::chrono::nanoseconds> max = std::nullopt) noexcept;
  bool has_local_work(const worker& w) const noexcept;
  void unpark(worker& w) noexcept;
  void push_local(worker& w, void* h) noexcept { push_local(w, w.deque, h); }
  void push_local(worker& w, work_deque<void*>& into, void* h) noexcept;
  void* steal_from(worker& w, work_deque<void*>& victim) noexcept;
  void notify_one() noexcept;
  void inject_foreign(void* h) noexcept;
  void print_stats() const;
  void run_watchdog();
  void report_slow(worker& w, std::chrono::milliseconds so_far);

  const runtime_config config_;
  spawn_scope scope_;  // constructed before the workers, destroyed after they are joined
  injection_queue injection_;
  idle_set idle_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> foreign_in_flight_{0};  // posts from outside the pool under way
  // The slow-task watchdog, when CORING_SLOW_TASK_MS > 0: sleeps on the condition
  // variable between looks, stopped by ~scheduler before the workers.
  std::thread watchdog_;
  std::mutex watchdog_mutex_;
  std::condition_variable watchdog_cv_;
  bool watchdog_stop_ = false;  // guarded by watchdog_mutex_
};

// The worker whose loop runs on this thread, or nullptr.
extern constinit thread_local worker* tls_worker;

}  // namespace coring::detail
