// The record of one operation the reactor tracks, and the awaiters built on it.
//
// An operation lives in the awaiting coroutine's frame (inside its awaiter), so no
// operation allocates; the kernel's user_data is the operation's address. The layout is
// in a public header because the awaiters must be complete types where they are
// awaited; users never name anything in coring::detail.
//
// Life of an operation (begin on the reactor's owner thread; complete on whichever
// thread reaps the reactor: its owner, or an idle peer for a shared reactor):
//   begin     the awaiter attaches its cancellation hook to the awaiting task's source,
//             remembers the current executor, and hands the op to the reactor
//   submit    the reactor puts it in the SQ, or in its pending list when the SQ or the
//             completion budget is full
//   complete  the CQE (or the timer heap) delivers the result; -EAGAIN/-EINTR resubmit;
//             otherwise the hook is detached and the coroutine is posted to the
//             remembered executor. From here on the kernel holds no reference to the
//             op or its buffers.
//   on_cancel (the cancelling thread) asks the reactor to cancel the op; the reactor
//             submits IORING_OP_ASYNC_CANCEL and the op completes with -ECANCELED,
//             which the awaiter turns into coring::cancelled.
#pragma once

#include <coring/core/cancel.hpp>
#include <coring/core/executor.hpp>
#include <coring/core/task.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace coring {
class reactor;
}

namespace coring::detail {

// An operation the reactor tracks. It is its own cancellation hook: on_cancel forwards
// to reactor::request_cancel.
struct reactor_op : cancel_callback {
  enum class state : std::uint8_t {
    idle,       // not known to the reactor
    pending,    // in the reactor's pending list (SQ or completion budget full)
    in_kernel,  // in the SQ or submitted; a CQE will come
    armed,      // in the timer heap
  };

  reactor_op() noexcept;
  // Copies (awaiters are moved before they are awaited) only ever see idle ops.
  reactor_op(const reactor_op& other) noexcept : reactor_op() { on_complete = other.on_complete; }
  reactor_op& operator=(const reactor_op&) = delete;

  // The reaping thread (the owner, or a peer in reactor::assist): the operation
  // finished with `res` (>= 0, or -errno).
  void (*on_complete)(reactor_op&, int res) noexcept = nullptr;
  reactor* owner = nullptr;
  reactor_op* next = nullptr;         // the reactor's pending list
  reactor_op* cancel_next = nullptr;  // the reactor's cancellation queue
  reactor_op* next_multishot = nullptr;  // the reactor's list of live multishot ops
  state where = state::idle;
  // Multishot operations (one SQE, many CQEs: multishot accept). The submitter sets
  // `multishot`; the reactor then calls on_complete once per CQE and sets `more` before
  // each call: true while the kernel will send another (IORING_CQE_F_MORE; the op stays
  // in_kernel), false on the last one. A reactor destroyed while it still holds a
  // multishot op calls on_complete once more from its destructor with `orphaned` set
  // (after handing over any CQE it had not reaped, also `orphaned`): the op must release
  // what it holds and resume nothing, since executors may already be gone.
  bool multishot = false;
  bool more = false;
  bool orphaned = false;
  // The CQE's flags (IORING_CQE_F_*), set by the reaper right before on_complete; 0 for
  // completions that had no CQE (timers, pending ops cancelled before submission).
  std::uint32_t cqe_flags = 0;
};

// What to ask the kernel; mapped onto IORING_OP_* in op.cpp (no liburing here).
enum class io_opcode : std::uint8_t {
  read,      // fd, addr = buffer, len, arg = file offset (-1: current position)
  write,     // same
  recv,      // fd, addr = buffer, len, flags = MSG_*
  recv_pool,  // fd, flags = MSG_*, arg = buffer group: the kernel picks the buffer (CQE flags)
  poll_in,    // fd: completes when it is readable (or has an error / hang-up)
  send,      // same; MSG_NOSIGNAL is always added
  recvmsg,   // fd, addr = msghdr*, flags = MSG_*
  sendmsg,   // same; MSG_NOSIGNAL is always added
  accept,    // fd, addr = sockaddr*, arg = socklen_t*, flags = SOCK_CLOEXEC...
  accept_multishot,  // fd, flags = SOCK_CLOEXEC...; one CQE per connection (set multishot)
  connect,   // fd, addr = sockaddr*, arg = socklen_t
  shutdown,  // fd, len = SHUT_RD/WR/RDWR
  fsync,     // fd, flags = 1 for fdatasync, 0 for fsync
  close,     // fd
  openat,    // addr = path, flags = O_*, arg = mode
  statx,     // fd, addr = struct statx*
};

struct io_request {
  io_opcode opcode = io_opcode::read;
  int fd = -1;
  std::uint32_t len = 0;
  std::uint32_t flags = 0;
  void* addr = nullptr;
  std::uint64_t arg = 0;
};

struct kernel_op : reactor_op {
  io_request request;
};

// io_uring lengths are 32-bit; a larger request is simply a short transfer.
inline std::uint32_t clamp_len(std::size_t n) noexcept {
  return n > 0x7fff'f000u ? 0x7fff'f000u : static_cast<std::uint32_t>(n);
}

struct timer_op : reactor_op {
  std::int64_t deadline = 0;        // steady_clock, nanoseconds since its epoch
  std::size_t heap_index = ~std::size_t{0};  // position in the reactor's heap; ~0 when not armed
};

// What a suspended coroutine leaves behind for its completion.
struct op_waiter {
  std::coroutine_handle<> coro;
  executor* exec = nullptr;
  const cancel_source* source = nullptr;
  int result = 0;
  bool refused = false;     // cancellation was requested before suspending
  bool cancel_ran = false;  // the hook ran: a cancellation was requested while suspended
};

template <class Promise>
const cancel_source* source_of(std::coroutine_handle<Promise> h) noexcept {
  if constexpr (std::is_base_of_v<promise_base, Promise>) {
    return h.promise().cancellation();
  } else {
    return nullptr;
  }
}

// Owner thread. Binds `op` to the calling thread's reactor and attaches its hook;
// returns the reactor, or nullptr when cancellation was already requested (then
// w.refused is set and the caller must not suspend). Throws std::logic_error when the
// thread has no reactor.
reactor* begin_wait(reactor_op& op, op_waiter& w, std::coroutine_handle<> h, const cancel_source* source);
// Owner thread. Detaches the hook, stores `res` and posts the coroutine.
void finish_wait(reactor_op& op, op_waiter& w, int res) noexcept;
// Throws coring::cancelled if the wait ended because of a cancellation.
void check_cancelled(const op_waiter& w);
// Throws std::system_error(err, system_category(), what).
[[noreturn]] void throw_io_error(int err, const char* what);

// Awaiter for one kernel operation; yields the raw result (>= 0 or -errno) and throws
// coring::cancelled when cancelled. The coroutine resumes through the executor that was
// current when it suspended (inline at the end of the reactor's pass if none).
class kernel_awaiter : public kernel_op {
 public:
  explicit kernel_awaiter(const io_request& r) noexcept {
    request = r;
    on_complete = &complete;
  }
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return begin(h, source_of(h));
  }
  int await_resume() const {
    check_cancelled(w_);
    return w_.result;
  }

 private:
  bool begin(std::coroutine_handle<> h, const cancel_source* source);
  static void complete(reactor_op& op, int res) noexcept;
  op_waiter w_;
};

// A kernel_awaiter whose failure (-errno) throws std::system_error naming `what`; yields
// the result as T (nothing for void).
template <class T>
class checked_awaiter : public kernel_awaiter {
 public:
  checked_awaiter(const io_request& r, const char* what) noexcept : kernel_awaiter(r), what_(what) {}
  T await_resume() const {
    const int r = kernel_awaiter::await_resume();
    if (r < 0) throw_io_error(-r, what_);
    if constexpr (!std::is_void_v<T>) return static_cast<T>(r);
  }

 private:
  const char* what_;
};

// Awaiter for a whole transfer (write_all, read_exact, write_all_at): one operation that
// the completing thread resubmits for the rest of the buffer after each short transfer,
// so moving N bytes costs no coroutine frame, only the awaiter in the caller's frame.
// `r` names the whole buffer (addr, len clamped) and `total` its full size; for
// io_opcode::read/write with an offset (arg != ~0) the offset advances too.
//
// Yields nothing once all `total` bytes have moved. Throws std::system_error naming
// `what` on the first failure (-errno), ENODATA when a read meets the end of the stream
// (or file) first, EIO when a write makes no progress (0 bytes), and coring::cancelled
// when the task is cancelled: the bytes already moved stay moved (how many is not
// reported; a cancelled transfer leaves the stream mid-message). Resumes like
// kernel_awaiter, through the executor current at suspension, once per transfer (not
// once per short piece).
class transfer_awaiter : public kernel_op {
 public:
  transfer_awaiter(const io_request& r, std::size_t total, const char* what) noexcept : remaining_(total), what_(what) {
    request = r;
    on_complete = &complete;
  }
  bool await_ready() const noexcept { return remaining_ == 0; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return begin(h, source_of(h));
  }
  void await_resume() const {
    check_cancelled(w_);
    if (w_.result < 0) throw_io_error(-w_.result, what_);
  }

 private:
  bool begin(std::coroutine_handle<> h, const cancel_source* source);
  static void complete(reactor_op& op, int res) noexcept;
  op_waiter w_;
  std::size_t remaining_;
  const char* what_;
};

}  // namespace coring::detail
