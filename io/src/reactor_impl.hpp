// reactor::impl: the reactor's state. Private to io/ (reactor.cpp is its only user;
// op.cpp needs prepare_sqe only).
#pragma once

#include "ring.hpp"
#include "timers.hpp"

#include <atomic>
#include <coroutine>
#include <mutex>
#include <thread>
#include <vector>

namespace coring::detail {
// Fills `sqe` for `r` (op.cpp). Does not set user_data.
void prepare_sqe(io_uring_sqe& sqe, const io_request& r) noexcept;
}  // namespace coring::detail

namespace coring {

struct reactor::impl {
  explicit impl(reactor& self, const reactor_options& options);
  ~impl();

  std::size_t pass(bool block, std::optional<std::chrono::nanoseconds> max);
  void bind_owner();
  void fire_timers();
  void drain_cancels();
  void cancel_now(detail::reactor_op& op);
  void flush();
  void prep(detail::kernel_op& op, io_uring_sqe& sqe) noexcept;
  void reap();
  void complete(detail::reactor_op& op, int res) noexcept;
  void complete_more(detail::reactor_op& op, int res) noexcept;
  void orphan_multishot() noexcept;
  void unlink_pending(detail::reactor_op& op) noexcept;
  // The thread-local, not a stored thread id: readable from any thread without a race.
  bool on_owner_thread() const noexcept { return current_reactor() == &self_; }

  reactor& self_;
  detail::ring ring_;
  // Completions we let be outstanding: the CQ size minus the slot the eventfd read
  // always holds, so the CQ can never overflow.
  unsigned budget_;
  unsigned in_flight_ = 0;  // SQEs prepared whose CQE has not been reaped (eventfd read excluded)

  detail::reactor_op* pending_head_ = nullptr;  // FIFO of ops waiting for room
  detail::reactor_op* pending_tail_ = nullptr;
  detail::timer_heap timers_;
  std::vector<std::coroutine_handle<>> inline_ready_;  // no executor: resumed at the end of a pass
  std::size_t completed_ = 0;                          // in the current pass
  // Multishot ops submitted and not yet finished (pending or in the kernel): the
  // destructor hands them back (reactor_op::orphaned). A listener or two, so a vector.
  std::vector<detail::reactor_op*> multishot_;
  bool bound_ = false;

  // Wake-up: a read on this eventfd is always armed in the ring; wake() writes it.
  int efd_ = -1;
  std::uint64_t efd_value_ = 0;
  detail::reactor_op efd_op_;
  bool efd_armed_ = false;
  // True from a wake() until the owner reaps the eventfd read; wakers that find it
  // true skip the write (coalescing). See reactor.cpp for the orders.
  std::atomic<bool> notified_{false};

  // Cancellation requests from any thread (intrusive via reactor_op::cancel_next).
  std::mutex cancel_mutex_;
  detail::reactor_op* remote_cancels_ = nullptr;  // guarded by cancel_mutex_
  // A hint that remote_cancels_ is non-empty, so a pass skips the mutex when it is not.
  std::atomic<bool> has_remote_cancels_{false};
  // Drained requests for kernel ops still waiting for an SQE (owner only).
  detail::reactor_op* local_cancels_ = nullptr;
};

}  // namespace coring
