// coring::semaphore: a counting semaphore for tasks (asyncio.Semaphore). Waiting for a
// permit suspends the task, never the thread.
//
//   coring::semaphore slots(8);            // at most 8 tasks inside at once
//   co_await slots.acquire();
//   ... ; slots.release();
//   // or: auto permit = co_await slots.acquire_guard();   // releases on destruction
//
// FIFO: release() with waiters hands the permit to the oldest waiter directly (the
// count does not go up in between, so a newcomer cannot take it first). A semaphore
// does not remember who acquired: any task or thread may release.
//
// Destroying a semaphore with waiters is undefined behaviour.
#pragma once

#include <coring/core/detail/wait_queue.hpp>

#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace coring {

class semaphore {
 public:
  // Starts with `initial` permits.
  explicit semaphore(std::size_t initial) noexcept : count_(initial) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  // Releases one permit on destruction. Move-only.
  class [[nodiscard]] permit {
   public:
    permit() noexcept = default;
    explicit permit(semaphore& s) noexcept : s_(&s) {}
    permit(permit&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
    permit& operator=(permit&& other) noexcept {
      if (this != &other) {
        release();
        s_ = std::exchange(other.s_, nullptr);
      }
      return *this;
    }
    permit(const permit&) = delete;
    permit& operator=(const permit&) = delete;
    ~permit() { release(); }
    // Gives the permit back early (idempotent).
    void release() noexcept {
      if (s_ != nullptr) std::exchange(s_, nullptr)->release();
    }
    explicit operator bool() const noexcept { return s_ != nullptr; }

   private:
    semaphore* s_ = nullptr;
  };

  template <bool Guarded>
  class acquire_awaiter;

  // Awaitable: takes one permit, suspending while there is none. Resumes at once if a
  // permit is free; otherwise on the worker the waiting task is posted to by the
  // releasing side. Throws coring::cancelled if the task's cancellation is requested
  // while it waits (no permit is then taken), std::logic_error if awaited on a thread
  // that runs no executor.
  [[nodiscard]] acquire_awaiter<false> acquire() noexcept;
  // Same, yielding a `permit` that releases on destruction.
  [[nodiscard]] acquire_awaiter<true> acquire_guard() noexcept;

  // Takes a permit if one is free; never waits. Any thread.
  bool try_acquire() noexcept {
    std::lock_guard hold(lock_);
    return take_locked();
  }

  // Returns `n` permits: each goes to the oldest waiter if there is one (posted to its
  // executor), else back to the count. Any thread; never resumes anyone inline.
  void release(std::size_t n = 1) noexcept {
    detail::wake_list woken;
    lock_.lock();
    for (; n != 0; --n) {
      if (detail::sync_waiter* w = waiters_.pop_front()) {
        woken.add(*w, detail::sync_waiter::status::granted);
      } else {
        count_ += n;
        break;
      }
    }
    lock_.unlock();
    woken.post_all();
  }

  // A snapshot of the free permits.
  std::size_t available() const noexcept {
    std::lock_guard hold(lock_);
    return count_;
  }

  template <bool Guarded>
  class [[nodiscard]] acquire_awaiter : detail::sync_waiter {
   public:
    explicit acquire_awaiter(semaphore& s) noexcept : s_(s) {}
    // Movable until awaited (see event::wait_awaiter).
    acquire_awaiter(acquire_awaiter&& other) noexcept : s_(other.s_) {}
    acquire_awaiter(const acquire_awaiter&) = delete;
    acquire_awaiter& operator=(const acquire_awaiter&) = delete;

    bool await_ready() noexcept { return s_.try_acquire(); }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) {
      return detail::suspend_waiter(*this, h, s_.lock_, s_.waiters_, [this] { return s_.take_locked(); });
    }
    auto await_resume() {
      if (detail::finish_wait(*this) == status::cancelled) throw cancelled{};
      if constexpr (Guarded) return permit(s_);
    }

   private:
    semaphore& s_;
  };

 private:
  // A waiter that is queued means the count is zero (release hands permits straight to
  // waiters), so taking from the count never jumps the queue.
  bool take_locked() noexcept {
    if (count_ == 0) return false;
    --count_;
    return true;
  }

  mutable detail::spin_lock lock_;
  std::size_t count_;  // guarded by lock_
  detail::wait_queue waiters_;
};

inline semaphore::acquire_awaiter<false> semaphore::acquire() noexcept { return acquire_awaiter<false>(*this); }
inline semaphore::acquire_awaiter<true> semaphore::acquire_guard() noexcept { return acquire_awaiter<true>(*this); }

}  // namespace coring
