// The blocking pool: an elastic set of threads for calls io_uring cannot make.
//
// Boring on purpose (STYLE.md; Tokio's blocking/pool.rs): one mutex guards everything,
// one condition variable wakes idle threads, jobs wait in an intrusive FIFO. No lock-free
// code: a blocking call costs microseconds at best, so a mutex is not the bottleneck.
//
// Accounting (all under `mutex`):
//  - `threads`: started and not exited; never above max_threads.
//  - `idle`: threads waiting for work that nobody has claimed yet. A submitter that finds
//    one claims it (idle -= 1, wakeups += 1) before notifying, so a burst of submissions
//    either wakes distinct idle threads or starts new ones: two calls are never both
//    handed to the same idle thread while a new one could have been started.
//  - `wakeups`: claims not yet consumed. A waking thread consumes one if there is one
//    (any claim serves: the threads are interchangeable), otherwise it timed out (or the
//    pool stops, or was reconfigured) and it un-counts itself from `idle`. Invariant:
//    idle == threads idle (spinning or waiting on `work`) - wakeups.
// The state is shared (std::shared_ptr) by the pool object, every thread and every
// in-flight awaiter, so a thread left running after shutdown's bound, or an awaiter's
// on_cancel, never touches freed memory.
#include <coring/io/blocking.hpp>

#include <coring/core/detail/wait_queue.hpp>  // cpu_relax

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

namespace coring {
namespace detail {

struct blocking_state : std::enable_shared_from_this<blocking_state> {
  explicit blocking_state(const blocking_pool_options& o) : options(o) {}

  std::mutex mutex;
  std::condition_variable work;    // idle threads wait here
  std::condition_variable exited;  // shutdown waits here for `threads == 0`
  blocking_pool_options options;
  blocking_job* head = nullptr;  // FIFO of queued jobs
  blocking_job* tail = nullptr;
  std::size_t queued = 0;
  std::size_t threads = 0;
  std::size_t idle = 0;
  // Atomic only so that a spinning thread can poll it without the mutex (relaxed: the
  // mutex, taken before acting on what the poll saw, orders everything); every write is
  // made under the mutex.
  std::atomic<std::size_t> wakeups{0};
  std::atomic<bool> stopping_hint{false};  // mirrors `stopping` for the same poll
  std::uint64_t generation = 0;  // bumped by configure(): idle threads re-read the options
  bool stopping = false;

  void push(blocking_job& job) noexcept {
    job.q_next = nullptr;
    job.q_prev = tail;
    if (tail != nullptr) {
      tail->q_next = &job;
    } else {
      head = &job;
    }
    tail = &job;
    job.state = blocking_job::status::queued;
    ++queued;
  }
  void remove(blocking_job& job) noexcept {
    if (job.q_prev != nullptr) {
      job.q_prev->q_next = job.q_next;
    } else {
      head = job.q_next;
    }
    if (job.q_next != nullptr) {
      job.q_next->q_prev = job.q_prev;
    } else {
      tail = job.q_prev;
    }
    job.q_prev = job.q_next = nullptr;
    --queued;
  }
  blocking_job* pop() noexcept {
    blocking_job* job = head;
    if (job != nullptr) remove(*job);
    return job;
  }
};

namespace {

// Posts a job's awaiter; the caller is the only one that may resume it, and touches it
// no more afterwards. Called with the pool's mutex held, and the awaiter takes that mutex
// (settle_blocking) before it goes on: so post() has returned before the awaiting task
// can finish, and with it, possibly, the runtime whose executor post() is still using.
void resume(blocking_job& job) noexcept {
  executor* ex = job.exec;
  ex->post(job.handle);
}

// Polls, without the mutex, for a claim on this idle thread (or shutdown) for at most
// `spin`; returns with the mutex held again either way.
void spin_for_work(blocking_state& s, std::unique_lock<std::mutex>& lock) {
  const auto spin = s.options.spin;
  if (spin.count() == 0 || s.wakeups.load(std::memory_order_relaxed) > 0 || s.stopping) return;
  lock.unlock();
  const auto deadline = std::chrono::steady_clock::now() + spin;
  for (unsigned polls = 1;; ++polls) {
    if (s.wakeups.load(std::memory_order_relaxed) > 0 || s.stopping_hint.load(std::memory_order_relaxed)) break;
    detail::cpu_relax();
    // Read the clock every 64th poll only: it costs more than a poll.
    if (polls % 64 == 0 && std::chrono::steady_clock::now() >= deadline) break;
  }
  lock.lock();
}

void thread_main(std::shared_ptr<blocking_state> s) {
  std::unique_lock lock(s->mutex);
  for (;;) {
    while (blocking_job* job = s->pop()) {
      job->state = blocking_job::status::running;
      lock.unlock();
      job->invoke(*job);
      lock.lock();
      job->state = blocking_job::status::done;
      resume(*job);
    }
    if (s->stopping || s->threads > s->options.max_threads) break;  // shutdown, or shrunk by configure()
    ++s->idle;
    const std::uint64_t generation = s->generation;
    spin_for_work(*s, lock);
    const bool woken = s->work.wait_for(lock, s->options.idle_timeout, [&] {
      return s->wakeups.load(std::memory_order_relaxed) > 0 || s->stopping || s->generation != generation;
    });
    if (s->wakeups.load(std::memory_order_relaxed) > 0) {
      // A submitter already took an idle thread off `idle` for this claim.
      s->wakeups.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    --s->idle;
    if (s->stopping) break;
    if (!woken && s->head == nullptr) break;  // idle for idle_timeout: exit, the pool shrinks
    // Reconfigured: loop, so the cap is re-checked and the next wait uses the new timeout.
  }
  --s->threads;
  // Under the lock: shutdown() may return and drop its reference as soon as it sees 0.
  if (s->threads == 0) s->exited.notify_all();
}

}  // namespace

bool submit_blocking(blocking_state& s, blocking_job& job) noexcept {
  std::unique_lock lock(s.mutex);
  if (job.cancel_requested) return false;  // on_cancel ran between attach and here
  if (s.stopping) {
    job.refusal = std::make_exception_ptr(cancelled{});
    job.state = blocking_job::status::refused;
    return false;
  }
  s.push(job);
  if (s.idle > 0) {
    --s.idle;
    s.wakeups.fetch_add(1, std::memory_order_relaxed);
    s.work.notify_one();  // no system call if the idle thread is still spinning
  } else if (s.threads < s.options.max_threads) {
    ++s.threads;
    try {
      std::thread(thread_main, s.shared_from_this()).detach();
    } catch (const std::system_error& e) {
      --s.threads;
      if (s.threads == 0) {
        // Nobody can run it: fail the call in the awaiting task.
        s.remove(job);
        job.state = blocking_job::status::refused;
        job.refusal = std::make_exception_ptr(std::system_error(
            e.code(), "coring::blocking: cannot start a blocking-pool thread and the pool has none"));
        return false;
      }
      // Otherwise the job stays queued for a thread that exists.
    }
  }
  return true;  // unlocking is the last touch of the job
}

void settle_blocking(blocking_state& s) noexcept {
  // Empty critical section: waits until whoever posted us has left resume().
  std::lock_guard lock(s.mutex);
}

void blocking_job::cancel_job(cancel_callback& cb) noexcept {
  auto& job = static_cast<blocking_job&>(cb);
  blocking_state& s = *job.pool;
  std::unique_lock lock(s.mutex);
  switch (job.state) {
    case status::queued:
      s.remove(job);
      job.cancel_requested = true;
      resume(job);  // it will never run: resume the task now
      return;
    case status::idle:     // not queued yet: submit_blocking sees the flag and backs out
    case status::running:  // runs to the end; the result is discarded
      job.cancel_requested = true;
      return;
    case status::done:
    case status::refused:
      return;  // the outcome stands
  }
}

}  // namespace detail

namespace {
void check(const blocking_pool_options& options) {
  if (options.max_threads == 0) throw std::invalid_argument("coring::blocking_pool: max_threads must be at least 1");
}
}  // namespace

blocking_pool::blocking_pool(const blocking_pool_options& options) {
  check(options);
  state_ = std::make_shared<detail::blocking_state>(options);
}

blocking_pool::~blocking_pool() { shutdown(); }

blocking_pool& blocking_pool::global() {
  // A function-local static: built on first use, thread-safe, shut down at exit.
  static blocking_pool pool;
  return pool;
}

void blocking_pool::configure(const blocking_pool_options& options) {
  check(options);
  std::lock_guard lock(state_->mutex);
  state_->options = options;
  ++state_->generation;
  // Idle threads re-read the options when they wake; wake them so a lower cap or a
  // shorter idle time applies now rather than after the old timeout.
  state_->work.notify_all();
}

void blocking_pool::shutdown() noexcept {
  detail::blocking_state& s = *state_;
  detail::blocking_job* cancelled_jobs = nullptr;
  std::unique_lock lock(s.mutex);
  s.stopping = true;
  s.stopping_hint.store(true, std::memory_order_relaxed);
  // Queued calls never start: collect them (reusing q_next), resume them with cancelled.
  while (detail::blocking_job* job = s.pop()) {
    job->state = detail::blocking_job::status::refused;
    job->refusal = std::make_exception_ptr(cancelled{});
    job->q_next = cancelled_jobs;
    cancelled_jobs = job;
  }
  s.work.notify_all();
  // Posted under the mutex, as in thread_main (see resume()).
  for (detail::blocking_job* job = cancelled_jobs; job != nullptr;) {
    detail::blocking_job* next = job->q_next;
    executor* ex = job->exec;
    ex->post(job->handle);
    job = next;
  }
  // Running calls: wait for them, within the bound. Threads still running afterwards hold
  // their own reference to the state and finish on their own.
  s.exited.wait_for(lock, s.options.shutdown_timeout, [&] { return s.threads == 0; });
}

std::size_t blocking_pool::threads() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->threads;
}
std::size_t blocking_pool::idle_threads() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->idle;
}
std::size_t blocking_pool::queued() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->queued;
}

}  // namespace coring
