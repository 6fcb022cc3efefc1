// reactor::impl: the reactor's state and who may touch it. Private to io/ (reactor.cpp
// is its only user; op.cpp needs prepare_sqe only).
//
// Two locks, taken in this order and never the other way round:
//
//   reap_lock_   "the reaper": the one thread that consumes CQEs, fires due timers,
//                processes cancellation requests and runs the completion callbacks.
//                Only ever try-locked: the owner's pass and a peer's assist() take it
//                if free and otherwise leave the reaping to whoever has it.
//   state_lock_  the SQ, the pending list, the timer heap, the budget counters and the
//                multishot list. A leaf: held for a few hundred instructions (one
//                io_uring_enter at most), never across a callback, so a callback may
//                submit, arm or remove without deadlock (an acceptor's callback takes
//                its own mutex and then submits; its accept() does the same from the
//                owner, so holding state_lock_ across callbacks could deadlock).
//
// Completion callbacks therefore run with reap_lock_ held and state_lock_ released,
// one reaper at a time: a multishot op never sees two of its CQEs at once.
//
//                   owner thread                   peer (assist)
//   submit/arm      state_lock_                    state_lock_ (from callbacks)
//   reap/fire       reap_lock_ (try) + state_lock_ reap_lock_ (try) + state_lock_
//   kernel wait     no lock (a bare io_uring_enter that touches no ring memory)
//   eventfd CQE     consumed by the owner only     stops before it
#pragma once

#include "recv_buffers.hpp"
#include "ring.hpp"
#include "timers.hpp"

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace coring::detail {
// Fills `sqe` for `r` (op.cpp). Does not set user_data.
void prepare_sqe(io_uring_sqe& sqe, const io_request& r) noexcept;

// Test-and-test-and-set. acquire on taking / release on giving back order everything
// done under the lock; the sections are short enough that parking is never worth it.
class spin_lock {
 public:
  void lock() noexcept {
    while (flag_.exchange(true, std::memory_order_acquire)) {
      while (flag_.load(std::memory_order_relaxed)) pause();
    }
  }
  bool try_lock() noexcept {
    return !flag_.load(std::memory_order_relaxed) && !flag_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  std::atomic<bool> flag_{false};
};
}  // namespace coring::detail

namespace coring {

struct reactor::impl {
  explicit impl(reactor& self, const reactor_options& options);
  ~impl();

  // One completion to hand to its callback once state_lock_ is released.
  struct settled {
    detail::reactor_op* op;
    int res;
    bool more;
    std::uint32_t flags = 0;  // the CQE's
  };
  static constexpr unsigned batch = 64;  // completions settled per state_lock_ section

  std::size_t pass(bool block, std::optional<std::chrono::nanoseconds> max);
  std::size_t reap_pass(bool owner);  // reap_lock_ held
  std::size_t fire_timers();          // reap_lock_ held
  std::size_t drain_cancels();        // reap_lock_ held
  std::size_t reap_cq(bool owner);    // reap_lock_ held
  void submit_queued();               // takes state_lock_
  // state_lock_ held:
  void flush_locked();
  void prep(detail::kernel_op& op, io_uring_sqe& sqe) noexcept;
  void append_pending(detail::reactor_op& op) noexcept;
  void unlink_pending(detail::reactor_op& op) noexcept;
  void unlink_multishot(detail::reactor_op& op) noexcept;
  settled settle(detail::reactor_op& op, int res) noexcept;
  void publish() noexcept;
  enum class cancel_outcome : std::uint8_t { completed, submitted, no_room, nothing };
  cancel_outcome cancel_locked(detail::reactor_op& op, settled& out) noexcept;
  // Runs callbacks (reap_lock_ held, state_lock_ not).
  static void deliver(const settled* done, std::size_t n) noexcept;
  void orphan_multishot() noexcept;
  // The thread-local, not a stored thread id: readable from any thread without a race.
  bool on_owner_thread() const noexcept { return current_reactor() == &self_; }

  reactor& self_;
  detail::ring ring_;
  const bool shared_;

  detail::spin_lock reap_lock_;
  detail::spin_lock state_lock_;
  // The receive pool (empty when not asked for or refused). recycle() under state_lock_.
  detail::recv_buffers recv_pool_;

  // --- guarded by state_lock_ ---
  // Completions we let be outstanding for operations: the CQ size minus the slot the
  // eventfd read always holds and minus the slots kept for cancellations, so the CQ can
  // never overflow and a cancellation always finds room (even when every other slot is
  // held by a long-lived receive).
  unsigned budget_ = 0;
  unsigned cancel_budget_ = 0;
  unsigned in_flight_ = 0;         // operation SQEs whose final CQE is not reaped yet
  unsigned cancels_in_flight_ = 0;  // ASYNC_CANCEL SQEs whose answer is not reaped yet
  std::size_t pending_count_ = 0;
  detail::reactor_op* pending_head_ = nullptr;  // FIFO of ops waiting for room
  detail::reactor_op* pending_tail_ = nullptr;
  detail::timer_heap timers_;
  // Multishot ops submitted and not yet finished (pending or in the kernel), linked
  // through reactor_op::next_multishot: the destructor hands them back.
  detail::reactor_op* multishot_ = nullptr;
  bool efd_armed_ = false;

  // --- published under state_lock_ for lock-free readers (relaxed: hints; whoever acts
  // on one takes the locks, which order the data) ---
  std::atomic<std::size_t> outstanding_{0};  // in flight + pending + timers
  std::atomic<bool> sq_waiting_{false};       // SQEs prepared, or pending ops with room
  std::atomic<std::int64_t> next_deadline_{std::numeric_limits<std::int64_t>::max()};

  // --- reaper only (reap_lock_) ---
  detail::reactor_op* local_cancels_ = nullptr;  // drained requests waiting for an SQE
  bool peer_took_wake_ = false;  // a peer's pass consumed the owner's eventfd CQE

  // --- owner only ---
  std::uint64_t wakes_reaped_ = 0;  // eventfd CQEs consumed (only the owner consumes them)
  std::vector<std::coroutine_handle<>> inline_ready_;  // no executor: resumed at the end of a pass
  bool bound_ = false;

  // Wake-up: a read on this eventfd is always armed in the ring; wake() writes it.
  int efd_ = -1;
  std::uint64_t efd_value_ = 0;
  detail::reactor_op efd_op_;
  // True from a wake() until the owner reaps the eventfd read; wakers that find it
  // true skip the write (coalescing). See reactor.cpp for the orders.
  std::atomic<bool> notified_{false};
  // True while the owner is (about to be) blocked in the kernel; see request_cancel.
  std::atomic<bool> waiting_{false};
  // A peer consumed the owner's wake-up CQE; the owner's next wait must not block.
  std::atomic<bool> wake_handoff_{false};

  // Cancellation requests from any thread (intrusive via reactor_op::cancel_next).
  std::mutex cancel_mutex_;
  detail::reactor_op* remote_cancels_ = nullptr;  // guarded by cancel_mutex_
  // A hint that remote_cancels_ is non-empty, so a pass skips the mutex when it is not.
  std::atomic<bool> has_remote_cancels_{false};
};

}  // namespace coring
