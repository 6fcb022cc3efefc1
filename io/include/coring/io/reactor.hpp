// reactor: one io_uring, its timers and its wake-up, driven by ONE thread.
//
// The reactor is the bottom of the io layer. Awaiters (sleep, file and socket
// operations, signals) find the reactor of the thread they run on with
// `current_reactor()`, put their operation into its submission queue and suspend; the
// thread that drives the reactor reaps the completions and hands each coroutine back to
// the executor that was current when it suspended (or resumes it at the end of the
// pass, when there was none).
//
// Threads. One thread drives a reactor (its "owner"): it calls poll() and wait(), and
// awaiters running on it call submit(), add_timer() and the other functions marked
// "owner thread". The owner is the first thread that calls poll() or wait(). A plain
// reactor (io_context's) is set up with IORING_SETUP_SINGLE_ISSUER, so the kernel itself
// refuses other submitters. A *shared* reactor (reactor_options::shared; each sched
// worker's) may also be driven by other threads through assist(): an idle worker submits,
// reaps and fires timers for a busy one, so work woken by I/O does not wait for the
// thread whose ring it sits in. Every other thread reaches a reactor through wake(),
// request_cancel() and remove_timer(); all three are safe from any thread.
//
// A loop that owns a reactor (io_context, each sched worker) calls, per pass:
//   poll()        submit what was queued, reap completions, fire due timers; never blocks
//   wait(max)     the same, but blocks until a completion, the nearest timer, a wake(),
//                 or `max` — call it only when the loop has nothing else to run
//   wake()        (any thread) makes a current or the next wait() return promptly
// and a peer of a shared reactor calls
//   needs_help()  (any thread) cheap check: is there work a peer could do here now?
//   assist()      (any thread) do it, unless another thread is already reaping
// liburing never appears in this header.
#pragma once

#include <coring/io/detail/op.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>

namespace coring {

// Ring configuration: a plain struct; the sched config layer fills it from
// CORING_RING_ENTRIES / CORING_SQPOLL (the reactor never reads the environment).
struct reactor_options {
  unsigned entries = 256;  // submission queue entries (the kernel rounds up to a power of two)
  bool sqpoll = false;     // a kernel thread polls the SQ (IORING_SETUP_SQPOLL)
  // Completion queue entries, which cap the operations in flight at once (a server's
  // idle connections each hold a receive in flight). Ops beyond the cap wait in the
  // reactor's pending list. The kernel clamps it to its maximum (65536).
  unsigned cq_entries = 65536;
  // Listeners accept with one multishot accept (Linux 5.19) where the kernel has it;
  // false forces one single-shot accept per connection (tests of the fallback).
  bool multishot_accept = true;
  // Peers may drive this ring (assist()). Set by the scheduler for its workers' rings;
  // such a ring is set up without SINGLE_ISSUER, DEFER_TASKRUN and COOP_TASKRUN, so any
  // thread can submit and the kernel posts completions while the owner computes.
  bool shared = false;
  // Receive buffers the kernel picks from when data arrives (a provided-buffer ring,
  // Linux 5.19), for stream_socket::receive and buffered_reader: an idle connection then
  // holds no buffer. A power of two up to 32768; 0 for none (receive() then reads into a
  // buffer of its own). Each is recv_buffer_size bytes; untouched pages cost no memory.
  // The scheduler sets it from CORING_RECV_BUFFERS.
  unsigned recv_buffers = 256;
  unsigned recv_buffer_size = 4096;
};

// Thrown when the kernel refuses io_uring itself (ENOSYS: no io_uring; EPERM: disabled
// by sysctl kernel.io_uring_disabled or a seccomp filter). what() starts with
// "io_uring unavailable: ". Tests turn it into GTEST_SKIP.
class io_uring_unavailable : public std::system_error {
 public:
  io_uring_unavailable(int err, const std::string& what) : std::system_error(err, std::generic_category(), what) {}
};

// What the ring was set up with (for coring-info and tests).
struct reactor_info {
  unsigned sq_entries = 0;
  unsigned cq_entries = 0;
  bool single_issuer = false;
  bool defer_taskrun = false;
  bool coop_taskrun = false;
  bool submit_all = false;
  bool sqpoll = false;
  bool multishot_accept = false;  // asked for and supported (see reactor_options)
  unsigned recv_buffers = 0;      // the receive pool's buffers (0: none asked for, or refused)
  unsigned recv_buffer_size = 0;
  int recv_buffers_errno = 0;     // why the kernel refused the pool (0 if it did not)
};

class reactor {
 public:
  // Sets up the ring (any thread; see the header comment for which thread becomes the
  // owner). Tries SINGLE_ISSUER|DEFER_TASKRUN|COOP_TASKRUN, falling back flag by flag
  // on kernels that reject them, and probes every opcode the io layer uses.
  // Throws io_uring_unavailable (ENOSYS/EPERM), std::system_error naming the missing
  // opcode or kernel feature, or std::system_error for other setup failures (ENOMEM:
  // locked-memory limit).
  explicit reactor(const reactor_options& options = {});

  // Owner thread (or any thread once the owner has stopped driving it). Closes the ring;
  // the kernel cancels whatever is still in flight. Coroutines suspended in this
  // reactor's operations are not resumed: whoever owns their frames destroys them
  // after the reactor. Multishot operations still held (a listener's multishot accept)
  // are handed back to their owners first (reactor_op::orphaned in detail/op.hpp).
  ~reactor();

  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  // Owner thread. One non-blocking pass: fire due timers, process cancellation
  // requests, submit everything queued (one io_uring_enter), reap all completions, fire
  // timers again, resume the coroutines that had no executor. Returns how many
  // operations completed (timers included). Throws std::system_error if the ring
  // itself fails (never for a failed operation: that goes to its awaiter).
  std::size_t poll();

  // Owner thread. Like poll(), but if nothing completed yet, blocks in
  // io_uring_submit_and_wait_timeout until a completion, the nearest timer deadline, a
  // wake(), or `max` has passed (forever without `max` if there is no timer).
  std::size_t wait(std::optional<std::chrono::nanoseconds> max = std::nullopt);

  // Any thread. Makes the owner's current wait() return, or its next one return at
  // once. Coalesced: at most one eventfd write until the owner has seen it. Never blocks.
  void wake() noexcept;

  // Owner thread. True when no operation is queued, in flight or sleeping on a timer
  // (internal wake-up machinery excluded).
  bool idle() const noexcept;

  // Owner thread. True when operations were queued for the kernel since the last pass
  // (the worker loop flushes them before running a long chain of tasks).
  bool has_unsubmitted() const noexcept;
  // Owner thread. Hands queued operations to the kernel now (one io_uring_enter), without
  // reaping. Throws std::system_error if the ring fails.
  void flush_submissions();

  // Any thread; shared reactors only. A hint, from atomic loads: completions wait in the
  // CQ, operations wait to be submitted, a timer is due at `now_ns` (steady_clock), or
  // a cancellation request waits. False positives are harmless (assist() finds nothing).
  bool needs_help(std::int64_t now_ns) const noexcept;
  // Any thread; shared reactors only. Unless another thread is reaping this reactor
  // right now (then returns 0 at once), does one non-blocking pass for the owner: fires
  // due timers, processes cancellation requests, submits, and reaps every completion
  // (the owner's own wake-up included, which it hands on to the owner: see reactor.cpp).
  // Woken coroutines are posted to the executor that was current when they suspended,
  // from the calling thread (a sched worker keeps them in its own queues). Returns how
  // many operations completed. Throws std::system_error if the ring fails.
  std::size_t assist();

  const reactor_info& info() const noexcept;

  // --- For awaiters (owner thread unless noted); users do not call these. ---

  // Queues `op` (a kernel_op) for submission with the next pass. If the SQ or the
  // completion budget is full, `op` waits in the pending list (no failure).
  void submit(detail::kernel_op& op) noexcept;
  // Makes room for one more timer, so that the next add_timer cannot fail. Throws
  // std::bad_alloc (nothing changes then). Call it before publishing anything the
  // timer's completion would read.
  void reserve_timer();
  // Arms `t` to complete (result 0) at its deadline; reserve_timer() made room for it.
  void add_timer(detail::timer_op& t) noexcept;
  // Any thread: disarms `t` without completing it; false if it is not armed (it has
  // fired, or is firing right now: its completion runs or has run).
  bool remove_timer(detail::timer_op& t) noexcept;
  // Any thread: asks the owner to cancel `op` (IORING_OP_ASYNC_CANCEL for a kernel
  // operation; a pending operation or a timer completes with -ECANCELED directly).
  // Called from cancel_callback::on_cancel: takes one mutex briefly, never blocks on the
  // owner.
  void request_cancel(detail::reactor_op& op) noexcept;
  // Owner thread: `op` completed after its cancellation was requested; drops the
  // request if it is still queued (the op's frame is about to be released).
  void forget_cancel(detail::reactor_op& op) noexcept;
  // Owner thread: resume `h` at the end of the current pass (used when no executor was
  // current at suspension).
  void resume_later(std::coroutine_handle<> h) noexcept;
  // The buffer group of the receive pool (reactor_options::recv_buffers), or -1 when
  // this reactor has none. Any thread.
  int recv_buffer_group() const noexcept;
  // Any thread: the bytes of pool buffer `id` (from a completion's IORING_CQE_F_BUFFER).
  std::span<std::byte> recv_buffer(std::uint16_t id) const noexcept;
  // Any thread: gives pool buffer `id` back to the kernel.
  void recycle_recv_buffer(std::uint16_t id) noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// The reactor driven by the calling thread, or nullptr.
reactor* current_reactor() noexcept;

// Publishes `r` as the calling thread's reactor (nullptr to clear); returns the previous
// one. For loops that own a reactor (io_context, sched workers).
reactor* set_current_reactor(reactor* r) noexcept;

}  // namespace coring
