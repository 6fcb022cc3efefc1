// Cancellation requests, the exception a cancelled task sees, and the hook through which
// an operation that a task is suspended in gets interrupted.
#pragma once

#include <atomic>
#include <exception>
#include <thread>

namespace coring {

// Thrown inside a task at its next suspension point after its cancellation was requested
// (join_handle::cancel(), a losing when_any branch, runtime shutdown), or out of the
// operation it is suspended in, when that operation supports cancellation.
class cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "coring::cancelled: the task was cancelled"; }
};

namespace detail {

// An operation's hook, linked into its task's cancel_source while the task is suspended
// in it. `on_cancel` runs on the thread that requests cancellation, with the source's
// lock held: it must not block, must not attach/detach on the same source, and should
// only hand the operation back (take the waiter out of a queue and post it, or ask a
// reactor to cancel a kernel operation).
struct cancel_callback {
  void (*on_cancel)(cancel_callback&) noexcept = nullptr;
  cancel_callback* prev = nullptr;
  cancel_callback* next = nullptr;
  bool linked = false;
};

// A cancellation flag shared by a task and everything it awaits inline. Sources form a
// chain: a spawned task's parent is its runtime's shutdown source, a when_any branch's
// parent is the awaiting task's source; a request anywhere up the chain cancels
// everything below it.
//
// Two ways to observe a request:
// * `requested()`: a few relaxed loads up the chain, checked before each co_await.
//   Relaxed is enough: a request publishes no data, it only has to be seen eventually,
//   and the target reacts by throwing, not by reading anything the requester wrote.
// * `attach()`ed callbacks, run by `request()`: how an operation that is already
//   suspended gets woken. A source links itself into its parent's list only when its
//   first callback is attached (so a task that never waits on a cancellable operation
//   costs its parent nothing), and stays linked until it is destroyed.
//
// Locking: one small spin lock per source guards its list and is held while callbacks
// run. Locks are only ever nested parent-then-child (request() of a parent runs the
// children's request()); attach() and the destructor take the parent's lock without
// holding their own, so there is no cycle.
class cancel_source {
 public:
  explicit cancel_source(const cancel_source* parent = nullptr) noexcept : parent_(parent) {
    link_.owner = this;
    link_.on_cancel = [](cancel_callback& link) noexcept { static_cast<parent_link&>(link).owner->request(); };
  }
  cancel_source(const cancel_source&) = delete;
  cancel_source& operator=(const cancel_source&) = delete;
  ~cancel_source() {
    if (linked_to_parent_) parent_->detach(link_);
  }

  // Requests cancellation: sets the flag, then runs and unlinks every attached callback
  // (including children that linked themselves). Any thread; idempotent.
  void request() const noexcept {
    requested_.store(true, std::memory_order_relaxed);
    lock();
    while (cancel_callback* cb = head_) {
      unlink(*cb);
      cb->on_cancel(*cb);
    }
    unlock();
  }

  bool requested() const noexcept {
    for (const cancel_source* s = this; s != nullptr; s = s->parent_) {
      if (s->requested_.load(std::memory_order_relaxed)) return true;
    }
    return false;
  }

  // Links `cb` so that a request runs it. Returns false, with `cb` not linked and never
  // run, if cancellation was already requested (here or up the chain): the operation
  // should then not suspend and throw coring::cancelled instead. After true, `cb` runs
  // exactly once if cancellation is requested before detach(). The thread that
  // attaches must detach.
  bool attach(cancel_callback& cb) const noexcept {
    lock();
    if (requested()) {
      unlock();
      return false;
    }
    const bool link_up = parent_ != nullptr && !linked_to_parent_;
    if (link_up) linked_to_parent_ = true;
    push(cb);
    unlock();
    // Outside our lock (see the lock order above). If an ancestor was cancelled in the
    // meantime, its request will never reach us: take `cb` back unrun and cancel
    // ourselves. If `cb` is already gone, a request of our own ran it: it is handled.
    if (link_up && !parent_->attach(link_)) {
      if (!detach(cb)) return true;
      request();
      return false;
    }
    return true;
  }

  // Unlinks `cb`. Returns false if a request already ran it. Either way, once detach
  // returns, `cb->on_cancel` is not running and will not run.
  bool detach(cancel_callback& cb) const noexcept {
    lock();
    const bool was_linked = cb.linked;
    if (was_linked) unlink(cb);
    unlock();
    return was_linked;
  }

  // Unlinks this source from its parent for good: requests of the parent no longer reach
  // it, and it no longer reads the parent. For a source that outlives its parent (a
  // finished spawned task's, kept by its handle after the runtime is gone). Only once
  // nothing attaches to this source any more; any thread.
  void leave_parent() noexcept {
    if (linked_to_parent_) parent_->detach(link_);
    linked_to_parent_ = false;
    parent_ = nullptr;
  }

  const cancel_source* parent() const noexcept { return parent_; }
  // Only before anything is attached.
  void set_parent(const cancel_source* parent) noexcept { parent_ = parent; }

 private:
  // This source's node in its parent's list: a parent's request requests this one.
  struct parent_link : cancel_callback {
    const cancel_source* owner = nullptr;
  };

  void lock() const noexcept {
    // acquire: the list as left by the previous holder is visible.
    while (busy_.exchange(true, std::memory_order_acquire)) {
      while (busy_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  // release: our list changes are visible to the next holder.
  void unlock() const noexcept { busy_.store(false, std::memory_order_release); }

  void push(cancel_callback& cb) const noexcept {
    cb.prev = nullptr;
    cb.next = head_;
    if (head_ != nullptr) head_->prev = &cb;
    head_ = &cb;
    cb.linked = true;
  }
  void unlink(cancel_callback& cb) const noexcept {
    if (cb.prev != nullptr) cb.prev->next = cb.next;
    else head_ = cb.next;
    if (cb.next != nullptr) cb.next->prev = cb.prev;
    cb.prev = cb.next = nullptr;
    cb.linked = false;
  }

  mutable std::atomic<bool> requested_{false};
  mutable parent_link link_;
  mutable std::atomic<bool> busy_{false};
  mutable bool linked_to_parent_ = false;
  mutable cancel_callback* head_ = nullptr;
  const cancel_source* parent_;
};

}  // namespace detail
}  // namespace coring
