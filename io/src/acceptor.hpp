// acceptor: a listener's multishot accept and the queue between it and accept().
// Private to io/ (net.cpp's accept_fd is its only user).
//
// One IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT yields a CQE per connection until
// the kernel ends it (a CQE without IORING_CQE_F_MORE: an error, a cancellation, or the
// kernel's own reasons). The SQE lives in the ring of the thread whose accept() armed it
// (its "owner"); every CQE is handled on that thread. accept() may be awaited on any
// thread that drives a reactor and has an executor (any sched worker, an io_context):
//   - a connection goes to the longest-waiting accept(), which is posted to the executor
//     it suspended under, or into `ready_` when none waits;
//   - `ready_` is bounded by the listener's backlog: when it fills, the multishot is
//     cancelled (connections keep queueing in the kernel's backlog instead) and the next
//     accept() that finds the queue at most half full arms it again, in its own ring;
//   - when the kernel ends the multishot while accept()s wait, the owner re-arms it at
//     once (a cancellation, ECONNABORTED) or hands its error to every waiter (EMFILE:
//     each backs off in accept_fd). EINVAL before any connection means the kernel does
//     not know the flag: the acceptor falls back to single-shot accepts for good.
//
// Locking: `mu_` guards the queue, the waiters and the arm state. It is never held
// while a cancel_source's lock is taken: a waiter attaches its hook before locking, and
// detaches in await_resume; the cancel hook (run under the source's lock) takes `mu_`.
// So the order is source lock -> mu_ -> reactor's cancel mutex, never the reverse.
// A waiter is posted after `mu_` is released; it is not touched afterwards, and a
// cancellation racing with the hand-over finds it no longer queued and does nothing.
//
// Lifetime: the listener owns the acceptor through a shared_ptr; while the multishot is
// armed the acceptor also owns itself (`self_`), because its SQE may outlive the
// listener. The final CQE drops `self_`. If the owner's reactor is destroyed first, it
// hands the op back (reactor_op::orphaned): `self_` is dropped and nothing resumed.
// Descriptors never leak: a connection that arrives after stop() is closed at once, and
// those still queued are closed by stop() or the destructor.
#pragma once

#include <coring/io/detail/op.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

namespace coring::detail {

class accept_waiter;

struct acceptor : kernel_op, std::enable_shared_from_this<acceptor> {
  acceptor(int listen_fd, std::size_t capacity) noexcept;
  ~acceptor();
  acceptor(const acceptor&) = delete;
  acceptor& operator=(const acceptor&) = delete;

  // Calling thread: accept() should wait here rather than submit a single-shot accept
  // (the thread has a reactor that supports multishot accept, and an executor).
  bool usable() const noexcept;

  // Any thread (the listener closes): closes the queued connections, fails the waiters
  // with EBADF, cancels the multishot. Idempotent.
  void stop() noexcept;

  static void on_cqe(reactor_op& op, int res) noexcept;
  // mu_ held, on the owner thread of `r`.
  void arm(reactor& r) noexcept;
  // mu_ held: requests the multishot's cancellation from its owner's reactor.
  void cancel_multishot() noexcept;
  // Waiters taken out under mu_ and posted after the unlock (linked through next_).
  struct wake_list {
    accept_waiter* head = nullptr;
    accept_waiter* tail = nullptr;
  };
  void take_all(wake_list& out, int result) noexcept;  // mu_ held
  static void post_all(const wake_list& list) noexcept;
  void push_waiter(accept_waiter& w) noexcept;
  accept_waiter* pop_waiter() noexcept;
  void unlink_waiter(accept_waiter& w) noexcept;

  enum class arm_state : unsigned char {
    off,       // no SQE: the next accept() arms one
    armed,     // submitted to `owner`'s reactor
    stopping,  // armed, and its cancellation was requested
  };

  std::mutex mu_;
  std::deque<int> ready_;            // accepted connections nobody took yet
  accept_waiter* head_ = nullptr;    // FIFO of suspended accept()s
  accept_waiter* tail_ = nullptr;
  const std::size_t capacity_;       // bound of ready_ (the listener's backlog)
  arm_state state_ = arm_state::off;
  bool closed_ = false;
  bool cancel_requested_ = false;    // a request is queued with owner's reactor
  bool delivered_ = false;           // the current multishot yielded a connection
  std::shared_ptr<acceptor> self_;   // set while armed
  // Set when the kernel refused the multishot flag: single-shot accepts from then on.
  // relaxed: a stale false costs one more refused arm, nothing else.
  std::atomic<bool> refused_{false};
};

// Awaiter for the next connection from an acceptor: yields the descriptor (>= 0) or
// -errno, where -EAGAIN means "the multishot ended, accept again" and -EBADF "the
// listener was closed". Throws coring::cancelled when the awaiting task is cancelled
// while waiting (a connection handed over in the same instant is returned instead).
// Resumes through the executor current at suspension.
class accept_waiter : public cancel_callback {
 public:
  explicit accept_waiter(std::shared_ptr<acceptor> a) noexcept;
  ~accept_waiter();
  accept_waiter(const accept_waiter&) = delete;
  accept_waiter& operator=(const accept_waiter&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return begin(h, source_of(h));
  }
  int await_resume();

 private:
  friend struct acceptor;
  bool begin(std::coroutine_handle<> h, const cancel_source* source);
  static void cancel(cancel_callback& cb) noexcept;

  std::shared_ptr<acceptor> a_;
  std::coroutine_handle<> coro_;
  executor* exec_ = nullptr;
  const cancel_source* source_ = nullptr;
  accept_waiter* prev_ = nullptr;  // acceptor's waiter list, guarded by its mu_
  accept_waiter* next_ = nullptr;
  int result_ = 0;
  bool queued_ = false;     // in the waiter list (guarded by mu_)
  bool waited_ = false;     // was queued once: the destructor must check queued_
  bool cancelled_ = false;  // the cancel hook took it out of the list
  bool refused_ = false;    // cancellation was requested before suspending
};

}  // namespace coring::detail
