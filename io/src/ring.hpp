// ring: the io_uring itself (setup with flag fallback, opcode probe, submit, reap).
// Private to io/. Everything here is for the reactor's owner thread only, except the
// constructor (see reactor.hpp: the ring is created disabled and bound to the thread
// that first calls enable()).
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
  unsigned sq_ready() const noexcept { return io_uring_sq_ready(&ring_); }

  // Submits the SQ and runs deferred completions without waiting (one io_uring_enter).
  void submit_nowait();
  // Submits the SQ, then waits for at least one CQE or `timeout` (forever if none).
  void submit_and_wait(std::optional<std::chrono::nanoseconds> timeout);

  // Calls f(user_data, res, flags) for every CQE present, in batches; returns the count.
  template <class F>
  unsigned reap(F&& f) {
    unsigned total = 0;
    for (;;) {
      unsigned head;
      unsigned n = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        f(cqe->user_data, cqe->res, cqe->flags);
        ++n;
      }
      if (n == 0) return total;
      io_uring_cq_advance(&ring_, n);
      total += n;
    }
  }

  const reactor_info& info() const noexcept { return info_; }

 private:
  mutable io_uring ring_{};
  reactor_info info_;
  bool disabled_ = false;
};

}  // namespace coring::detail
