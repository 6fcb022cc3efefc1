// coring::mutex: mutual exclusion between tasks (asyncio.Lock). Waiting for it suspends
// the task, never the thread.
//
//   coring::mutex m;
//   {
//     auto guard = co_await m.lock();   // suspends while another task holds m
//     ++shared_counter;
//   }                                   // guard's destructor unlocks
//
// Fairness: FIFO hand-off. unlock() with waiters passes ownership directly to the oldest
// waiter (the mutex never becomes free in between, so a newcomer cannot barge in), and
// posts it to the executor it suspended on. A mutex is not tied to a thread: a task may
// lock on one worker and unlock on another after a co_await (unlike std::mutex).
//
// Destroying a mutex that is locked or has waiters is undefined behaviour, as for
// std::mutex.
#pragma once

#include <coring/core/detail/wait_queue.hpp>

#include <mutex>
#include <utility>

namespace coring {

class mutex {
 public:
  // Owns one lock of a mutex; unlocks it on destruction. Move-only.
  class [[nodiscard]] guard {
   public:
    guard() noexcept = default;
    // Adopts a lock taken with try_lock().
    guard(mutex& m, std::adopt_lock_t) noexcept : m_(&m) {}
    guard(guard&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
    guard& operator=(guard&& other) noexcept {
      if (this != &other) {
        unlock();
        m_ = std::exchange(other.m_, nullptr);
      }
      return *this;
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { unlock(); }

    // Unlocks early (idempotent).
    void unlock() noexcept {
      if (m_ != nullptr) std::exchange(m_, nullptr)->unlock();
    }
    bool owns_lock() const noexcept { return m_ != nullptr; }
    explicit operator bool() const noexcept { return owns_lock(); }
    mutex* get() const noexcept { return m_; }

   private:
    mutex* m_ = nullptr;
  };

  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  class lock_awaiter;

  // Awaitable: `co_await m.lock()` yields a guard once the calling task owns the mutex.
  // Resumes at once (no suspension) if the mutex is free; otherwise on the worker the
  // waiting task is posted to by the unlocking task (its executor's post: run next there).
  // Throws coring::cancelled if the task's cancellation is requested while it waits (it
  // then does not own the mutex), and std::logic_error if awaited on a thread that runs
  // no executor.
  [[nodiscard]] lock_awaiter lock() noexcept;

  // Takes the mutex if it is free; never waits. Pair with guard(m, std::adopt_lock) or
  // unlock(). Any thread.
  bool try_lock() noexcept {
    std::lock_guard hold(lock_);
    if (locked_) return false;
    locked_ = true;
    return true;
  }

  // Releases the mutex: the oldest waiter, if any, becomes the owner and is posted to
  // its executor. Must be called by (the task of) the owner. Any thread; never blocks
  // beyond the internal spin lock, never resumes anyone inline.
  void unlock() noexcept {
    lock_.lock();
    if (detail::sync_waiter* next = waiters_.pop_front()) {
      next->state = detail::sync_waiter::status::granted;  // locked_ stays true: hand-off
      lock_.unlock();
      detail::wake(*next);
      return;
    }
    locked_ = false;
    lock_.unlock();
  }

  // A snapshot: whether some task owns the mutex.
  bool is_locked() const noexcept {
    std::lock_guard hold(lock_);
    return locked_;
  }

  class [[nodiscard]] lock_awaiter : detail::sync_waiter {
   public:
    explicit lock_awaiter(mutex& m) noexcept : m_(m) {}
    // Movable until awaited (see event::wait_awaiter).
    lock_awaiter(lock_awaiter&& other) noexcept : m_(other.m_) {}
    lock_awaiter(const lock_awaiter&) = delete;
    lock_awaiter& operator=(const lock_awaiter&) = delete;

    bool await_ready() noexcept { return m_.try_lock(); }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) {
      return detail::suspend_waiter(*this, h, m_.lock_, m_.waiters_, [this] {
        if (m_.locked_) return false;
        m_.locked_ = true;
        return true;
      });
    }
    guard await_resume() {
      // idle: await_ready took the lock.
      const status s = detail::finish_wait(*this);
      if (s == status::cancelled) throw cancelled{};
      return guard(m_, std::adopt_lock);
    }

   private:
    mutex& m_;
  };

 private:
  mutable detail::spin_lock lock_;
  bool locked_ = false;  // guarded by lock_
  detail::wait_queue waiters_;
};

inline mutex::lock_awaiter mutex::lock() noexcept { return lock_awaiter(*this); }

}  // namespace coring
