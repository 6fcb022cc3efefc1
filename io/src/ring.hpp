// ring: the io_uring itself (setup with flag fallback, opcode probe, submit, reap).
// Private to io/. The reactor serialises every use of the SQ and of the CQ with its own
// locks (reactor.cpp); this class adds none. cq_ready() and wait() are the exceptions:
// they may run beside a locked submitter or reaper.
#pragma once

#include <coring/io/reactor.hpp>

#include <liburing.h>

#include <chrono>
#include <optional>

namespace coring::detail {

class ring {
 public:
  // Throws io_uring_unavailable (ENOSYS/EPERM) or std::system_error (a missing opcode
  // or feature is named in the message).
  explicit ring(const reactor_options& options);
  ~ring();
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;

  // Owner thread: binds the ring to the calling thread if it was created disabled
  // (SINGLE_ISSUER). Idempotent.
  void enable();

  // A free SQE, or nullptr when the SQ is full.
  io_uring_sqe* get_sqe() noexcept { return io_uring_get_sqe(&ring_); }
  // SQEs prepared and not yet handed to the kernel.
  unsigned sq_ready() const noexcept { return io_uring_sq_ready(&ring_); }
  // Any thread: CQEs posted and not yet reaped. Atomic loads only (liburing's
  // io_uring_cq_ready reads the head plainly, which a concurrent reaper writes); acquire
  // on the tail pairs with the kernel's release, so the CQEs counted are readable.
  unsigned cq_ready() const noexcept {
    return __atomic_load_n(ring_.cq.ktail, __ATOMIC_ACQUIRE) - __atomic_load_n(ring_.cq.khead, __ATOMIC_RELAXED);
  }
  // The first unreaped CQE's user_data; cq_ready() must be non-zero. Reaper only.
  std::uint64_t peek_user_data() const noexcept {
    return ring_.cq.cqes[*ring_.cq.khead & *ring_.cq.kring_mask].user_data;
  }

  // Hands the prepared SQEs to the kernel (one io_uring_enter, none when there are none
  // and the ring needs no entering to post completions). Never waits.
  void submit();
  // Blocks until at least one CQE is posted, `timeout` passes (forever if none), or a
  // signal arrives. Submits nothing.
  void wait(std::optional<std::chrono::nanoseconds> timeout);

  // Calls f(user_data, res, flags) for up to `max` CQEs in order, stopping before the
  // first one for which stop(user_data) is true; returns how many it consumed. Reaper only.
  template <class Stop, class F>
  unsigned reap(unsigned max, Stop&& stop, F&& f) {
    unsigned n = 0;
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (n == max || stop(cqe->user_data)) break;
      f(cqe->user_data, cqe->res, cqe->flags);
      ++n;
    }
    io_uring_cq_advance(&ring_, n);
    return n;
  }

  const reactor_info& info() const noexcept { return info_; }
  reactor_info& info() noexcept { return info_; }
  // For registrations (the receive buffer pool); the caller serialises with the reactor.
  io_uring& raw() noexcept { return ring_; }

 private:
  mutable io_uring ring_{};
  reactor_info info_;
  bool disabled_ = false;
};

}  // namespace coring::detail
