// The reactor's loop pass, submission budget, cancellation queue and wake-up.
//
// One pass (poll() or wait()), in this order:
//   1. fire due timers                 (their coroutines are posted)
//   2. process cancellation requests   (pending ops and timers complete with -ECANCELED;
//                                       kernel ops get an IORING_OP_ASYNC_CANCEL)
//   3. flush: arm the eventfd read, move pending ops into the SQ while the budget lasts
//   4. one io_uring_enter: submit, and for wait() block if 1-2 completed nothing
//   5. reap every CQE in batches
//   6. fire timers that fell due meanwhile; resume the coroutines that had no executor
// Cancellations are processed before the submit so that an ASYNC_CANCEL is always
// submitted before any coroutine resumed in this pass can reuse the cancelled op's
// address for a new operation.
//
// Budget: never more SQEs outstanding than the CQ holds (one CQ slot stays reserved
// for the eventfd read), so the kernel never has to buffer overflowing CQEs. An op that
// finds no room waits in the pending list, in FIFO order, until completions free some.
//
// Wake-up without lost wake-ups. A waker first makes its work visible (the cancellation
// queue or the io_context's inbox, both behind mutexes), then calls wake():
// `notified_.exchange(true)`; only the waker that flips it from false writes the
// eventfd. The owner, when it reaps the eventfd read, flips it back with
// `exchange(false)` BEFORE its loop looks at those queues again, and re-arms the read.
//   - A waker that wrote: its write completes the armed read, so the owner's wait
//     returns (or the next one returns at once) and the owner then checks the queues.
//   - A waker that found `true`: some earlier write is not yet reaped. Its exchange is
//     ordered before the owner's reset in notified_'s modification order; both are
//     acq_rel RMWs, so the owner's reset reads a value written at or after the waker's
//     exchange and synchronizes with it: the waker's queued work is visible to the
//     owner's check that follows the reset.
// So every wake() is followed by an owner check of the queues, and an idle owner sleeps
// in the kernel with no spinning.
//
// Multishot ops (reactor_op::multishot) hold one budget slot for as long as the kernel
// keeps them (their CQEs carry IORING_CQE_F_MORE); the CQ is far larger than the budget
// and every pass reaps it empty, and IORING_FEAT_NODROP covers a burst beyond it. The
// reactor lists them so that its destructor can hand them back to their owners.
#include "reactor_impl.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace coring {

namespace {
constinit thread_local reactor* tls_reactor = nullptr;

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

reactor* current_reactor() noexcept { return tls_reactor; }
reactor* set_current_reactor(reactor* r) noexcept {
  reactor* previous = tls_reactor;
  tls_reactor = r;
  return previous;
}

reactor::impl::impl(reactor& self, const reactor_options& options) : self_(self), ring_(options) {
  budget_ = ring_.info().cq_entries - 1;
  efd_ = ::eventfd(0, EFD_CLOEXEC);
  if (efd_ < 0) throw std::system_error(errno, std::system_category(), "coring::reactor: eventfd");
  efd_op_.owner = &self_;
  inline_ready_.reserve(64);
}

reactor::impl::~impl() {
  orphan_multishot();
  ::close(efd_);  // the ring (a member) is torn down after this
}

void reactor::impl::orphan_multishot() noexcept {
  if (multishot_.empty()) return;
  auto tracked = [this](detail::reactor_op* op) {
    return std::find(multishot_.begin(), multishot_.end(), op) != multishot_.end();
  };
  // A CQE no pass reaped may carry a resource (an accepted descriptor): hand it over.
  // Other ops' CQEs are dropped, as the ring's teardown would drop them.
  ring_.reap([&](std::uint64_t user_data, int res, unsigned flags) {
    auto* op = reinterpret_cast<detail::reactor_op*>(user_data);
    if (user_data == 0 || user_data == LIBURING_UDATA_TIMEOUT || !tracked(op)) return;
    op->orphaned = true;
    if ((flags & IORING_CQE_F_MORE) != 0) {
      op->more = true;
      op->on_complete(*op, res);
    } else {
      std::erase(multishot_, op);
      op->where = detail::reactor_op::state::idle;
      op->more = false;
      op->on_complete(*op, res);
    }
  });
  for (detail::reactor_op* op : std::exchange(multishot_, {})) {
    op->where = detail::reactor_op::state::idle;
    op->more = false;
    op->orphaned = true;
    op->on_complete(*op, -ECANCELED);
  }
}

void reactor::impl::bind_owner() {
  ring_.enable();
  bound_ = true;
}

std::size_t reactor::impl::pass(bool block, std::optional<std::chrono::nanoseconds> max) {
  if (!bound_) bind_owner();
  completed_ = 0;
  fire_timers();
  drain_cancels();
  flush();
  if (block && completed_ == 0 && inline_ready_.empty()) {
    std::optional<std::chrono::nanoseconds> timeout = max;
    if (!timers_.empty()) {
      const std::chrono::nanoseconds until_timer(timers_.next_deadline() - now_ns());
      if (!timeout || until_timer < *timeout) timeout = until_timer;
    }
    ring_.submit_and_wait(timeout);
  } else {
    ring_.submit_nowait();
  }
  reap();
  fire_timers();
  if (!inline_ready_.empty()) {
    // A resumed coroutine may queue more; those wait for the next pass.
    std::vector<std::coroutine_handle<>> ready;
    ready.swap(inline_ready_);
    for (std::coroutine_handle<> h : ready) h.resume();
  }
  return completed_;
}

void reactor::impl::complete(detail::reactor_op& op, int res) noexcept {
  if (op.multishot) std::erase(multishot_, &op);
  op.where = detail::reactor_op::state::idle;
  op.more = false;
  ++completed_;
  op.on_complete(op, res);
}

// A multishot op's CQE with IORING_CQE_F_MORE: the op stays in the kernel.
void reactor::impl::complete_more(detail::reactor_op& op, int res) noexcept {
  op.more = true;
  ++completed_;
  op.on_complete(op, res);
}

void reactor::impl::fire_timers() {
  if (timers_.empty()) return;
  const std::int64_t now = now_ns();
  while (detail::timer_op* t = timers_.pop_due(now)) complete(*t, 0);
}

void reactor::impl::unlink_pending(detail::reactor_op& op) noexcept {
  detail::reactor_op* prev = nullptr;
  for (detail::reactor_op* p = pending_head_; p != nullptr; prev = p, p = p->next) {
    if (p != &op) continue;
    (prev != nullptr ? prev->next : pending_head_) = p->next;
    if (pending_tail_ == p) pending_tail_ = prev;
    p->next = nullptr;
    return;
  }
}

void reactor::impl::drain_cancels() {
  // acquire pairs with the release store in request_cancel: if we see the hint we see
  // the list (the mutex orders it anyway; the hint only saves the lock).
  if (has_remote_cancels_.load(std::memory_order_acquire)) {
    std::lock_guard lock(cancel_mutex_);
    while (detail::reactor_op* op = remote_cancels_) {
      remote_cancels_ = op->cancel_next;
      op->cancel_next = local_cancels_;
      local_cancels_ = op;
    }
    has_remote_cancels_.store(false, std::memory_order_relaxed);  // under the mutex
  }
  // Take the list first: completing an op (below) calls forget_cancel, which must not
  // find the entry we are working on.
  detail::reactor_op* list = std::exchange(local_cancels_, nullptr);
  while (list != nullptr) {
    detail::reactor_op* op = list;
    list = op->cancel_next;
    op->cancel_next = nullptr;
    cancel_now(*op);
  }
}

void reactor::impl::cancel_now(detail::reactor_op& op) {
  using state = detail::reactor_op::state;
  switch (op.where) {
    case state::pending:  // never reached the kernel: finish it here
      unlink_pending(op);
      complete(op, -ECANCELED);
      return;
    case state::armed:
      timers_.remove(static_cast<detail::timer_op&>(op));
      complete(op, -ECANCELED);
      return;
    case state::in_kernel: {
      io_uring_sqe* sqe = in_flight_ < budget_ ? ring_.get_sqe() : nullptr;
      if (sqe == nullptr) {  // no room: retry next pass
        op.cancel_next = local_cancels_;
        local_cancels_ = &op;
        return;
      }
      // user_data 0: the answer (0, -ENOENT or -EALREADY) carries no work for us; the
      // op itself completes through its own CQE, with -ECANCELED if it was stopped.
      io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(&op), 0);
      io_uring_sqe_set_data64(sqe, 0);
      ++in_flight_;
      return;
    }
    case state::idle:  // already completed (forget_cancel normally removes these)
      return;
  }
}

void reactor::impl::prep(detail::kernel_op& op, io_uring_sqe& sqe) noexcept {
  detail::prepare_sqe(sqe, op.request);
  io_uring_sqe_set_data(&sqe, static_cast<detail::reactor_op*>(&op));
  op.where = detail::reactor_op::state::in_kernel;
  ++in_flight_;
}

void reactor::impl::flush() {
  if (!efd_armed_) {
    io_uring_sqe* sqe = ring_.get_sqe();
    if (sqe == nullptr) {
      ring_.submit_nowait();
      sqe = ring_.get_sqe();
    }
    if (sqe != nullptr) {
      io_uring_prep_read(sqe, efd_, &efd_value_, sizeof efd_value_, 0);
      io_uring_sqe_set_data(sqe, &efd_op_);
      efd_armed_ = true;
    }
  }
  while (pending_head_ != nullptr && in_flight_ < budget_) {
    io_uring_sqe* sqe = ring_.get_sqe();
    if (sqe == nullptr) {  // SQ full: hand this batch to the kernel and keep going
      ring_.submit_nowait();
      sqe = ring_.get_sqe();
      if (sqe == nullptr) return;
    }
    detail::reactor_op* op = pending_head_;
    pending_head_ = op->next;
    if (pending_head_ == nullptr) pending_tail_ = nullptr;
    op->next = nullptr;
    prep(static_cast<detail::kernel_op&>(*op), *sqe);
  }
}

void reactor::impl::reap() {
  ring_.reap([this](std::uint64_t user_data, int res, unsigned flags) {
    if (user_data == LIBURING_UDATA_TIMEOUT) return;  // liburing's own wait timeout (pre-EXT_ARG kernels)
    if (user_data == 0) {  // an ASYNC_CANCEL's answer
      --in_flight_;
      return;
    }
    auto* op = reinterpret_cast<detail::reactor_op*>(user_data);
    if (op == &efd_op_) {
      efd_armed_ = false;
      // acq_rel: see the wake-up argument at the top of this file.
      notified_.exchange(false, std::memory_order_acq_rel);
      return;
    }
    if ((flags & IORING_CQE_F_MORE) != 0) {
      complete_more(*op, res);
      return;
    }
    --in_flight_;
    complete(*op, res);
  });
}

// --- reactor ---

reactor::reactor(const reactor_options& options) : impl_(std::make_unique<impl>(*this, options)) {}
reactor::~reactor() = default;

std::size_t reactor::poll() { return impl_->pass(false, std::nullopt); }
std::size_t reactor::wait(std::optional<std::chrono::nanoseconds> max) { return impl_->pass(true, max); }

void reactor::wake() noexcept {
  // acq_rel: see the wake-up argument at the top of this file.
  if (impl_->notified_.exchange(true, std::memory_order_acq_rel)) return;
  const std::uint64_t one = 1;
  // Cannot fail short of a closed fd: the counter never nears its 2^64-2 limit because
  // only one write is outstanding at a time.
  [[maybe_unused]] const ssize_t n = ::write(impl_->efd_, &one, sizeof one);
}

bool reactor::idle() const noexcept {
  return impl_->pending_head_ == nullptr && impl_->in_flight_ == 0 && impl_->timers_.empty();
}

const reactor_info& reactor::info() const noexcept { return impl_->ring_.info(); }

void reactor::submit(detail::kernel_op& op) noexcept {
  // begin_wait already set it before attaching the cancel hook, which another thread
  // may read at any moment: write only when it differs (never, for awaiters).
  if (op.owner != this) op.owner = this;
  impl& s = *impl_;
  if (op.multishot && std::find(s.multishot_.begin(), s.multishot_.end(), &op) == s.multishot_.end()) {
    s.multishot_.push_back(&op);
  }
  if (s.pending_head_ == nullptr && s.in_flight_ < s.budget_) {
    if (io_uring_sqe* sqe = s.ring_.get_sqe()) {
      s.prep(op, *sqe);
      return;
    }
  }
  op.where = detail::reactor_op::state::pending;
  op.next = nullptr;
  (s.pending_tail_ != nullptr ? s.pending_tail_->next : s.pending_head_) = &op;
  s.pending_tail_ = &op;
}

void reactor::add_timer(detail::timer_op& t) noexcept {
  if (t.owner != this) t.owner = this;  // see submit()
  t.where = detail::reactor_op::state::armed;
  impl_->timers_.push(t);
}

bool reactor::remove_timer(detail::timer_op& t) noexcept {
  if (!impl_->timers_.remove(t)) return false;
  t.where = detail::reactor_op::state::idle;
  return true;
}

void reactor::request_cancel(detail::reactor_op& op) noexcept {
  impl& s = *impl_;
  std::lock_guard lock(s.cancel_mutex_);
  op.cancel_next = s.remote_cancels_;
  s.remote_cancels_ = &op;
  // release: pairs with the acquire in drain_cancels (the hint, not the list).
  s.has_remote_cancels_.store(true, std::memory_order_release);
  // On the owner thread the next pass drains before it can block. Elsewhere wake it,
  // still under the lock: once the owner can drain the request, the op may complete and
  // its reactor be destroyed, so nothing of it may be touched after the unlock.
  if (!s.on_owner_thread()) wake();
}

void reactor::forget_cancel(detail::reactor_op& op) noexcept {
  impl& s = *impl_;
  auto unlink = [&op](detail::reactor_op*& head) {
    for (detail::reactor_op** p = &head; *p != nullptr; p = &(*p)->cancel_next) {
      if (*p == &op) {
        *p = op.cancel_next;
        op.cancel_next = nullptr;
        return true;
      }
    }
    return false;
  };
  if (unlink(s.local_cancels_)) return;
  std::lock_guard lock(s.cancel_mutex_);
  unlink(s.remote_cancels_);
}

void reactor::resume_later(std::coroutine_handle<> h) noexcept { impl_->inline_ready_.push_back(h); }

}  // namespace coring
