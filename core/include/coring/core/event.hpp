// coring::event: a flag tasks can wait for (asyncio.Event). Waiting suspends the task,
// never the thread; a waiting task costs its frame and nothing else (no thread, no
// allocation), so 100,000 tasks can wait on one event.
//
//   coring::event ready;
//   co_await ready.wait();   // in many tasks
//   ready.set();             // wakes every one of them
//
// Destroying an event with waiters is undefined behaviour.
#pragma once

#include <coring/core/detail/wait_queue.hpp>

#include <atomic>
#include <mutex>

namespace coring {

class event {
 public:
  explicit event(bool initially_set = false) noexcept : set_(initially_set) {}
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  class wait_awaiter;

  // Awaitable: resumes once the event is set; at once (no suspension) if it is set
  // already. Waiters are resumed on the workers they are posted to by set(). Throws
  // coring::cancelled if the task's cancellation is requested while it waits,
  // std::logic_error if awaited on a thread that runs no executor.
  [[nodiscard]] wait_awaiter wait() noexcept;

  // Sets the flag and wakes every waiter (all of them, in one call: each is posted to
  // the executor it suspended on, oldest first). Idempotent. Any thread; never resumes
  // anyone inline.
  void set() noexcept {
    detail::wake_list woken;
    lock_.lock();
    // release: pairs with the acquire in is_set()/await_ready, so a task that sees the
    // flag without the lock also sees what the setter wrote before set().
    set_.store(true, std::memory_order_release);
    while (detail::sync_waiter* w = waiters_.pop_front()) woken.add(*w, detail::sync_waiter::status::granted);
    lock_.unlock();
    woken.post_all();
  }

  // Resets the flag: later wait()s suspend until the next set(). Any thread.
  void clear() noexcept {
    std::lock_guard hold(lock_);
    // relaxed: clearing publishes nothing; ordering with set() comes from the lock.
    set_.store(false, std::memory_order_relaxed);
  }

  // Whether the flag is set (a snapshot). Any thread.
  bool is_set() const noexcept {
    // acquire: pairs with set()'s release store.
    return set_.load(std::memory_order_acquire);
  }

  class [[nodiscard]] wait_awaiter : detail::sync_waiter {
   public:
    explicit wait_awaiter(event& e) noexcept : e_(e) {}
    // Movable until awaited (so it can be handed to timeout() or as_task()); a waiter
    // that sits in the queue never moves.
    wait_awaiter(wait_awaiter&& other) noexcept : e_(other.e_) {}
    wait_awaiter(const wait_awaiter&) = delete;
    wait_awaiter& operator=(const wait_awaiter&) = delete;

    bool await_ready() const noexcept { return e_.is_set(); }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) {
      // relaxed: under the lock, which orders it with set() and clear().
      return detail::suspend_waiter(*this, h, e_.lock_, e_.waiters_,
                                    [this] { return e_.set_.load(std::memory_order_relaxed); });
    }
    void await_resume() {
      if (detail::finish_wait(*this) == status::cancelled) throw cancelled{};
    }

   private:
    event& e_;
  };

 private:
  mutable detail::spin_lock lock_;
  // Atomic so that wait() and is_set() can skip the lock when the event is already set;
  // written only under lock_.
  std::atomic<bool> set_;
  detail::wait_queue waiters_;
};

inline event::wait_awaiter event::wait() noexcept { return wait_awaiter(*this); }

}  // namespace coring
