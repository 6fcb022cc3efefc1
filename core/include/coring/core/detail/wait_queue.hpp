// Internals shared by the sync primitives (mutex, semaphore, event, channel): a small
// spin lock, the record of a coroutine suspended on a primitive, an intrusive FIFO of
// them, and the one suspension/cancellation protocol they all follow.
//
// The protocol, for a coroutine C suspending on primitive P (await_suspend):
//  1. capture the executor of the calling thread (C will be resumed through its post);
//  2. attach the waiter to C's cancel_source, *before* taking P's lock: a request runs
//     on_cancel with the source's lock held, and on_cancel takes P's lock, so the lock
//     order is source -> primitive and attaching under P's lock could deadlock;
//  3. under P's lock: if a request already marked the waiter cancelled (between 2 and 3),
//     do not suspend; if P can serve C now, do not suspend; else enqueue the waiter;
//  4. release P's lock and touch nothing of the waiter or of P afterwards: from the
//     unlock on, another thread may grant the waiter, resume C and destroy both.
// Whoever grants a waiter (unlock, release, set, send, recv, close) unlinks it and marks
// it granted under P's lock, then posts it after letting go of the lock. Nobody else
// resumes a granted waiter, so reading its handle after the unlock is safe; after the
// post it is not touched again.
// on_cancel, under P's lock, acts only on a waiter that is still queued (unlinks it,
// marks it cancelled, posts it) or not yet queued (marks it, step 3 then backs out); a
// granted waiter keeps what it was granted (a lock, a permit, an item). await_resume
// detaches from the source first: detach waits for a running on_cancel, so by then the
// waiter's state is final.
#pragma once

#include <coring/core/cancel.hpp>
#include <coring/core/executor.hpp>
#include <coring/core/task.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace coring::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// A test-and-test-and-set lock for critical sections of a few dozen instructions. It
// spins briefly, then yields the CPU, so a holder that was preempted (more runnable
// threads than CPUs) is not starved by spinners. Cheaper than std::mutex uncontended:
// one exchange to lock, one plain store to unlock.
class spin_lock {
 public:
  void lock() noexcept {
    // acquire: everything the previous holder wrote under the lock is visible.
    while (busy_.exchange(true, std::memory_order_acquire)) {
      for (unsigned spins = 0; busy_.load(std::memory_order_relaxed);) {
        if (++spins < 64) {
          cpu_relax();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  bool try_lock() noexcept {
    // acquire: as in lock(); the relaxed pre-check avoids a write to a contended line.
    return !busy_.load(std::memory_order_relaxed) && !busy_.exchange(true, std::memory_order_acquire);
  }
  // release: publishes our writes to the next holder. The last access to the lock (and
  // so to the object that contains it) by this thread.
  void unlock() noexcept { busy_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> busy_{false};
};

class wait_queue;

// A coroutine suspended (or about to suspend) on a sync primitive. Lives in the awaiter,
// that is in the suspended coroutine's frame, so waiting allocates nothing.
struct sync_waiter : cancel_callback {
  enum class status : std::uint8_t {
    idle,       // not attached, not queued (await_ready served it, or not awaited yet)
    pending,    // attached to its cancel source, not yet queued
    queued,     // in the primitive's wait queue
    granted,    // served by the primitive; resumes with what it was given
    cancelled,  // a cancellation request took it out; await_resume throws cancelled
    closed,     // (channel) the channel was closed while it waited
  };

  // All of these are guarded by the primitive's lock while the waiter is queued.
  sync_waiter* q_prev = nullptr;
  sync_waiter* q_next = nullptr;
  std::coroutine_handle<> handle;
  executor* exec = nullptr;
  const cancel_source* source = nullptr;
  spin_lock* lock = nullptr;  // the primitive's lock, for on_cancel
  wait_queue* queue = nullptr;  // the queue the waiter sits in, for on_cancel
  status state = status::idle;

  sync_waiter() noexcept { on_cancel = &cancel_waiter; }

  // Any thread, with the cancel source's lock held (see cancel_callback).
  static void cancel_waiter(cancel_callback& cb) noexcept;
};

// Intrusive doubly linked FIFO of waiters: O(1) push, pop and removal from the middle
// (a cancelled waiter leaves from wherever it is). Guarded by the primitive's lock.
class wait_queue {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  sync_waiter* front() const noexcept { return head_; }

  void push_back(sync_waiter& w) noexcept {
    w.q_next = nullptr;
    w.q_prev = tail_;
    if (tail_ != nullptr) {
      tail_->q_next = &w;
    } else {
      head_ = &w;
    }
    tail_ = &w;
  }
  sync_waiter* pop_front() noexcept {
    sync_waiter* w = head_;
    if (w != nullptr) remove(*w);
    return w;
  }
  void remove(sync_waiter& w) noexcept {
    if (w.q_prev != nullptr) {
      w.q_prev->q_next = w.q_next;
    } else {
      head_ = w.q_next;
    }
    if (w.q_next != nullptr) {
      w.q_next->q_prev = w.q_prev;
    } else {
      tail_ = w.q_prev;
    }
    w.q_prev = w.q_next = nullptr;
  }

 private:
  sync_waiter* head_ = nullptr;
  sync_waiter* tail_ = nullptr;
};

// A FIFO of granted waiters to post once the primitive's lock is released (reuses
// q_next: a granted waiter is in no queue). Posted in the order added.
class wake_list {
 public:
  // Marks `w` with its final `state` (under the primitive's lock) and appends it.
  void add(sync_waiter& w, sync_waiter::status state) noexcept {
    w.state = state;
    w.q_next = nullptr;
    if (tail_ != nullptr) {
      tail_->q_next = &w;
    } else {
      head_ = &w;
    }
    tail_ = &w;
  }
  bool empty() const noexcept { return head_ == nullptr; }
  // Posts every waiter. Call without holding the primitive's lock. Reads each waiter's
  // link before posting it: once posted, it may run and be gone.
  void post_all() noexcept {
    for (sync_waiter* w = head_; w != nullptr;) {
      sync_waiter* next = w->q_next;
      executor* ex = w->exec;
      ex->post(w->handle);
      w = next;
    }
    head_ = tail_ = nullptr;
  }

 private:
  sync_waiter* head_ = nullptr;
  sync_waiter* tail_ = nullptr;
};

// Posts one granted waiter (the common single-waiter wake-up). Call without the lock.
inline void wake(sync_waiter& w) noexcept {
  executor* ex = w.exec;
  ex->post(w.handle);
}

inline void sync_waiter::cancel_waiter(cancel_callback& cb) noexcept {
  auto& w = static_cast<sync_waiter&>(cb);
  spin_lock& lock = *w.lock;
  lock.lock();
  if (w.state == status::queued) {
    w.queue->remove(w);
    w.state = status::cancelled;
    lock.unlock();
    // Only this thread can resume the waiter now: posting after the unlock is safe, and
    // nothing of it is read after the post.
    wake(w);
    return;
  }
  // Not queued yet: the suspending thread sees this under the lock and backs out. Granted
  // (or already resumed with its grant): the grant stands.
  if (w.state == status::pending) w.state = status::cancelled;
  lock.unlock();
}

// Steps 1-4 of the protocol above for `w` suspending `h`. `try_now()` runs under the
// primitive's lock and returns true if the primitive served the waiter without waiting;
// `queue` is where the waiter waits otherwise. Returns the coroutine to transfer to:
// `h` itself when it does not suspend, else queued local work or noop.
//
// Throws std::logic_error (before any state change) when the calling thread runs no
// executor: a waiter must be resumable through one.
template <class Promise, class TryNow>
std::coroutine_handle<> suspend_waiter(sync_waiter& w, std::coroutine_handle<Promise> h, spin_lock& lock,
                                       wait_queue& queue, TryNow&& try_now) {
  executor* ex = current_executor();
  if (ex == nullptr) throw std::logic_error("coring: a sync primitive was awaited outside a runtime's threads");
  w.handle = h;
  w.exec = ex;
  w.lock = &lock;
  w.queue = &queue;
  w.state = sync_waiter::status::pending;
  if constexpr (std::is_base_of_v<promise_base, Promise>) w.source = h.promise().cancellation();
  if (w.source != nullptr && !w.source->attach(w)) {
    w.source = nullptr;  // not attached: await_resume must not detach
    w.state = sync_waiter::status::cancelled;
    return h;
  }
  {
    std::unique_lock hold(lock);
    try {
      if (w.state == sync_waiter::status::cancelled) return h;
      if (try_now()) {
        w.state = sync_waiter::status::granted;
        return h;
      }
    } catch (...) {
      // try_now failed (an allocation or a move of the caller's value threw): back out of
      // the source so that no request can reach this awaiter once the exception unwinds it.
      hold.unlock();
      if (w.source != nullptr) w.source->detach(w);
      throw;
    }
    w.state = sync_waiter::status::queued;
    queue.push_back(w);
  }  // unlocked: from here on, `w` and the primitive may be gone
  return next_or_noop();
}

// First step of every await_resume: unlink from the cancel source (waits for an
// on_cancel that is running), so the state read afterwards is final.
inline sync_waiter::status finish_wait(sync_waiter& w) noexcept {
  if (w.source != nullptr) w.source->detach(w);
  return w.state;
}

}  // namespace coring::detail
