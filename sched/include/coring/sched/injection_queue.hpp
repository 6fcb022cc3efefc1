// The injection queue: the runtime-wide FIFO of runnable coroutines that belong to no
// worker yet. Threads outside the pool schedule through it, and a worker whose deque
// is full moves half of it here (work_deque::steal_batch); workers poll it every Nth
// tick and when their own deque is empty.
//
// Boring on purpose: a mutex around a std::deque, no lock-free code. It is off the hot
// path (the LIFO slot and the local deque come first), and batching (push_batch,
// pop_batch) takes the lock once per group of items rather than per item. The one
// addition is an atomic copy of the length, so that the common "is there anything?"
// question is answered by a single load without touching the lock's cache line.
//
// Items are opaque non-null pointers (coroutine handle addresses); nullptr is the
// "empty" answer of try_pop(). All member functions may be called from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <deque>
#include <mutex>

namespace coring::detail {

class injection_queue {
public:
    injection_queue() = default;
    injection_queue(const injection_queue&) = delete;
    injection_queue& operator=(const injection_queue&) = delete;

    /// Any thread. Appends `item` (must not be null). Throws std::bad_alloc.
    void push(void* item) {
        assert(item != nullptr && "injection_queue items are never null");
        const std::lock_guard lock(mutex_);
        items_.push_back(item);
        publish_size();
    }

    /// Any thread. Appends items[0..n) in order under one lock acquisition; none may be
    /// null. Throws std::bad_alloc, in which case the queue is unchanged.
    void push_batch(void* const* items, std::size_t n) {
        if (n == 0) return;
        assert(std::none_of(items, items + n, [](void* p) { return p == nullptr; }) &&
               "injection_queue items are never null");
        const std::lock_guard lock(mutex_);
        items_.insert(items_.end(), items, items + n);  // strong guarantee at the end
        publish_size();
    }

    /// Any thread. Removes and returns the oldest item, or nullptr when the queue is
    /// empty. Like empty(), it may miss an item pushed concurrently (it then returns
    /// nullptr without taking the lock).
    void* try_pop() {
        if (empty()) return nullptr;
        const std::lock_guard lock(mutex_);
        if (items_.empty()) return nullptr;
        void* item = items_.front();
        items_.pop_front();
        publish_size();
        return item;
    }

    /// Any thread. Moves up to `max` of the oldest items into out[0..n), oldest first,
    /// under one lock acquisition, and returns n. Same emptiness caveat as try_pop().
    std::size_t pop_batch(void** out, std::size_t max) {
        if (max == 0 || empty()) return 0;
        const std::lock_guard lock(mutex_);
        const std::size_t n = std::min(max, items_.size());
        const auto first = items_.begin();
        std::copy(first, first + static_cast<std::ptrdiff_t>(n), out);
        items_.erase(first, first + static_cast<std::ptrdiff_t>(n));
        publish_size();
        return n;
    }

    /// Any thread. True if the queue looked empty; lock-free, may be stale.
    bool empty() const noexcept { return size_approx() == 0; }

    /// Any thread. The number of items as of some recent push or pop; lock-free.
    std::size_t size_approx() const noexcept {
        // acquire: pairs with the release store in publish_size(), so a reader that sees
        // a length also sees everything its writer did before that push. The items
        // themselves are only ever read under mutex_, so a stale length costs at most a
        // needless lock (false "non-empty") or one missed poll (false "empty"). It orders
        // nothing else: a caller that must not miss a concurrent push (the sleep
        // protocol's re-check) needs a seq_cst fence before this load, paired with one
        // after push() on the producer's side.
        return size_.load(std::memory_order_acquire);
    }

private:
    // Called with mutex_ held, after every change to items_, so size_ only ever holds
    // lengths the deque actually had, in lock order.
    void publish_size() noexcept {
        // release: see size_approx(). Writers are serialized by mutex_, so a plain
        // store (no RMW) keeps size_ exact.
        size_.store(items_.size(), std::memory_order_release);
    }

    std::mutex mutex_;
    std::deque<void*> items_;             // guarded by mutex_
    std::atomic<std::size_t> size_{0};    // == items_.size(), readable without the lock
};

}  // namespace coring::detail
