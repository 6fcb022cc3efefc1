// The reactor's passes, submission budget, cancellation queue and wake-up.
//
// One reaping pass (the owner's poll()/wait(), or a peer's assist()), in this order:
//   1. fire due timers                 (their coroutines are posted)
//   2. process cancellation requests   (pending ops and timers complete with -ECANCELED;
//                                       kernel ops get an IORING_OP_ASYNC_CANCEL)
//   3. flush: arm the eventfd read, move pending ops into the SQ while the budget lasts,
//      and hand the SQ to the kernel (an io_uring_enter only if it holds something, or
//      always under DEFER_TASKRUN, which posts completions only inside the kernel)
//   4. reap the CQ in user space, in batches of 64 settled under state_lock_ and
//      delivered to their callbacks after it is released
//   5. fire timers that fell due meanwhile
// wait() then blocks in the kernel, with no lock held, if that pass completed nothing,
// and runs another pass. Cancellations go before the submit so that an ASYNC_CANCEL is
// always submitted before a coroutine resumed in this pass can reuse the cancelled op's
// address for a new operation.
//
// Budget: never more SQEs outstanding than the CQ holds, so the kernel never has to
// buffer overflowing CQEs. One CQ slot stays reserved for the eventfd read and a few for
// cancellations (cancel_budget_): a cancellation gets its SQE even when long-lived
// operations hold every other slot. An op that finds no room waits in the pending list,
// in FIFO order, until completions free some.
//
// Peers (shared reactors). A busy owner's completions, due timers and queued
// submissions are taken care of by any idle thread that calls assist(): it try-locks
// reap_lock_ and runs the same pass. The eventfd CQE among them is the owner's wake-up,
// and the owner blocks in the kernel until the CQ holds something, so a peer that
// consumes it must hand the wake-up on (it cannot stop before it: the CQ is FIFO, and
// every completion behind it would then wait for the busy owner). The hand-off is a
// Dekker pair with the owner's wait:
//   peer:  wake_handoff_ = true (seq_cst); re-arm the eventfd read; if waiting_ (seq_cst)
//          write the eventfd again
//   owner: waiting_ = true (seq_cst); block only if wake_handoff_.exchange(false) (seq_cst)
//          found false
// Either the owner sees the hand-off and does not block, or the peer sees it waiting
// and its write ends the wait. A hand-off the owner sees late only makes one later wait
// return at once.
//
// Wake-up without lost wake-ups. A waker first makes its work visible (the cancellation
// queue, the scheduler's park flag, the io_context's inbox), then calls wake():
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

// Holds state_lock_ and publishes the lock-free hints when it lets go.
struct locked_state {
  explicit locked_state(reactor::impl& s) noexcept : s_(s) { s_.state_lock_.lock(); }
  ~locked_state() {
    s_.publish();
    s_.state_lock_.unlock();
  }
  locked_state(const locked_state&) = delete;
  locked_state& operator=(const locked_state&) = delete;

 private:
  reactor::impl& s_;
};
}  // namespace

reactor* current_reactor() noexcept { return tls_reactor; }
reactor* set_current_reactor(reactor* r) noexcept {
  reactor* previous = tls_reactor;
  tls_reactor = r;
  return previous;
}

reactor::impl::impl(reactor& self, const reactor_options& options)
    : self_(self),
      ring_(options),
      shared_(options.shared),
      recv_pool_(ring_.raw(), options.recv_buffers, options.recv_buffer_size, 0) {
  if (recv_pool_.available()) {
    ring_.info().recv_buffers = recv_pool_.count();
    ring_.info().recv_buffer_size = recv_pool_.size();
  }
  ring_.info().recv_buffers_errno = recv_pool_.why();
  const unsigned cq = ring_.info().cq_entries;
  // A sixteenth of the CQ for cancellations, between 1 and 64: a burst of timeouts
  // firing at once rarely needs more, and the rest waits a pass in local_cancels_.
  cancel_budget_ = std::clamp(cq / 16, 1u, 64u);
  budget_ = cq > cancel_budget_ + 2 ? cq - 1 - cancel_budget_ : 1;
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
  // Owner thread, nothing else runs: no locks needed.
  if (multishot_ == nullptr) return;
  auto tracked = [this](detail::reactor_op* op) {
    for (detail::reactor_op* m = multishot_; m != nullptr; m = m->next_multishot) {
      if (m == op) return true;
    }
    return false;
  };
  // A CQE no pass reaped may carry a resource (an accepted descriptor): hand it over.
  // Other ops' CQEs are dropped, as the ring's teardown would drop them.
  ring_.reap(
      ~0u, [](std::uint64_t) { return false; },
      [&](std::uint64_t user_data, int res, unsigned flags) {
        auto* op = reinterpret_cast<detail::reactor_op*>(user_data);
        if (user_data == 0 || user_data == LIBURING_UDATA_TIMEOUT || !tracked(op)) return;
        op->orphaned = true;
        if ((flags & IORING_CQE_F_MORE) != 0) {
          op->more = true;
        } else {
          unlink_multishot(*op);
          op->where = detail::reactor_op::state::idle;
          op->more = false;
        }
        op->on_complete(*op, res);
      });
  while (detail::reactor_op* op = multishot_) {
    multishot_ = op->next_multishot;
    op->next_multishot = nullptr;
    op->where = detail::reactor_op::state::idle;
    op->more = false;
    op->orphaned = true;
    op->on_complete(*op, -ECANCELED);
  }
}

std::size_t reactor::impl::pass(bool block, std::optional<std::chrono::nanoseconds> max) {
  if (!bound_) {
    ring_.enable();
    bound_ = true;
  }
  std::size_t done = 0;
  const std::uint64_t wakes_before = wakes_reaped_;
  if (reap_lock_.try_lock()) {
    done = reap_pass(true);
    reap_lock_.unlock();
  } else {
    submit_queued();  // a peer is reaping for us; our submissions still go out now
  }
  // A wake-up reaped just now means the caller has something to look at (and the
  // eventfd read is not armed again until the next flush): do not block on it.
  if (block && done == 0 && wakes_reaped_ == wakes_before && inline_ready_.empty()) {
    std::optional<std::chrono::nanoseconds> timeout = max;
    const std::int64_t next = next_deadline_.load(std::memory_order_relaxed);
    if (next != std::numeric_limits<std::int64_t>::max()) {
      const std::chrono::nanoseconds until_timer(next - now_ns());
      if (!timeout || until_timer < *timeout) timeout = until_timer;
    }
    // seq_cst pairs with request_cancel: either it sees us waiting and wakes us, or we
    // see its request here and do not sleep.
    waiting_.store(true, std::memory_order_seq_cst);
    // A wake-up a peer consumed for us counts as one (see the top of this file).
    if (!has_remote_cancels_.load(std::memory_order_seq_cst) && !wake_handoff_.exchange(false, std::memory_order_seq_cst)) {
      ring_.wait(timeout);
    }
    waiting_.store(false, std::memory_order_relaxed);
    if (reap_lock_.try_lock()) {
      done += reap_pass(true);
      reap_lock_.unlock();
    }
  }
  if (!inline_ready_.empty()) {
    // A resumed coroutine may queue more; those wait for the next pass.
    std::vector<std::coroutine_handle<>> ready;
    ready.swap(inline_ready_);
    for (std::coroutine_handle<> h : ready) h.resume();
  }
  return done;
}

std::size_t reactor::impl::reap_pass(bool owner) {
  std::size_t done = fire_timers();
  done += drain_cancels();
  submit_queued();
  done += reap_cq(owner);
  done += fire_timers();
  if (peer_took_wake_) {
    peer_took_wake_ = false;
    // seq_cst: the Dekker pair with pass() described at the top of this file.
    wake_handoff_.store(true, std::memory_order_seq_cst);
    submit_queued();  // arms the eventfd read again
    if (waiting_.load(std::memory_order_seq_cst)) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = ::write(efd_, &one, sizeof one);
    }
  }
  return done;
}

void reactor::impl::submit_queued() {
  locked_state lock(*this);
  flush_locked();
  ring_.submit();
}

void reactor::impl::deliver(const settled* done, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    // `more` is set here, by the one reaper, right before its callback reads it.
    done[i].op->more = done[i].more;
    done[i].op->cqe_flags = done[i].flags;
    done[i].op->on_complete(*done[i].op, done[i].res);
  }
}

reactor::impl::settled reactor::impl::settle(detail::reactor_op& op, int res) noexcept {
  if (op.multishot) unlink_multishot(op);
  op.where = detail::reactor_op::state::idle;
  return settled{&op, res, false};
}

void reactor::impl::publish() noexcept {
  outstanding_.store(in_flight_ + pending_count_ + timers_.size(), std::memory_order_relaxed);
  sq_waiting_.store(ring_.sq_ready() != 0 || (pending_head_ != nullptr && in_flight_ < budget_),
                    std::memory_order_relaxed);
  next_deadline_.store(timers_.empty() ? std::numeric_limits<std::int64_t>::max() : timers_.next_deadline(),
                       std::memory_order_relaxed);
}

std::size_t reactor::impl::fire_timers() {
  if (next_deadline_.load(std::memory_order_relaxed) == std::numeric_limits<std::int64_t>::max()) return 0;
  const std::int64_t now = now_ns();
  std::size_t total = 0;
  settled done[batch];
  for (;;) {
    std::size_t n = 0;
    {
      locked_state lock(*this);
      while (n < batch) {
        detail::timer_op* t = timers_.pop_due(now);
        if (t == nullptr) break;
        done[n++] = settle(*t, 0);
      }
    }
    deliver(done, n);
    total += n;
    if (n < batch) return total;
  }
}

void reactor::impl::unlink_pending(detail::reactor_op& op) noexcept {
  detail::reactor_op* prev = nullptr;
  for (detail::reactor_op* p = pending_head_; p != nullptr; prev = p, p = p->next) {
    if (p != &op) continue;
    (prev != nullptr ? prev->next : pending_head_) = p->next;
    if (pending_tail_ == p) pending_tail_ = prev;
    p->next = nullptr;
    --pending_count_;
    return;
  }
}

void reactor::impl::append_pending(detail::reactor_op& op) noexcept {
  op.where = detail::reactor_op::state::pending;
  op.next = nullptr;
  (pending_tail_ != nullptr ? pending_tail_->next : pending_head_) = &op;
  pending_tail_ = &op;
  ++pending_count_;
}

void reactor::impl::unlink_multishot(detail::reactor_op& op) noexcept {
  for (detail::reactor_op** p = &multishot_; *p != nullptr; p = &(*p)->next_multishot) {
    if (*p == &op) {
      *p = op.next_multishot;
      op.next_multishot = nullptr;
      return;
    }
  }
}

std::size_t reactor::impl::drain_cancels() {
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
  std::size_t total = 0;
  settled done[batch];
  bool blocked = false;
  while (local_cancels_ != nullptr && !blocked) {
    std::size_t n = 0;
    {
      locked_state lock(*this);
      while (n < batch && local_cancels_ != nullptr) {
        // Unlink first: a callback delivered below may call forget_cancel, which must
        // not find the entry we are working on.
        detail::reactor_op* op = local_cancels_;
        local_cancels_ = op->cancel_next;
        op->cancel_next = nullptr;
        const cancel_outcome outcome = cancel_locked(*op, done[n]);
        if (outcome == cancel_outcome::completed) ++n;
        if (outcome == cancel_outcome::no_room) {
          // The rest waits for the next pass, after the answers to the cancellations in
          // flight have freed their slots.
          op->cancel_next = local_cancels_;
          local_cancels_ = op;
          blocked = true;
          break;
        }
      }
    }
    deliver(done, n);
    total += n;
  }
  return total;
}

// state_lock_ held.
reactor::impl::cancel_outcome reactor::impl::cancel_locked(detail::reactor_op& op, settled& out) noexcept {
  using state = detail::reactor_op::state;
  switch (op.where) {
    case state::pending:  // never reached the kernel: finish it here
      unlink_pending(op);
      out = settle(op, -ECANCELED);
      return cancel_outcome::completed;
    case state::armed:
      timers_.remove(static_cast<detail::timer_op&>(op));
      out = settle(op, -ECANCELED);
      return cancel_outcome::completed;
    case state::in_kernel: {
      if (cancels_in_flight_ >= cancel_budget_) return cancel_outcome::no_room;
      io_uring_sqe* sqe = ring_.get_sqe();
      if (sqe == nullptr) {
        ring_.submit();
        sqe = ring_.get_sqe();
      }
      if (sqe == nullptr) return cancel_outcome::no_room;  // the kernel is short of memory
      // user_data 0: the answer (0, -ENOENT or -EALREADY) carries no work for us; the
      // op itself completes through its own CQE, with -ECANCELED if it was stopped.
      io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(&op), 0);
      io_uring_sqe_set_data64(sqe, 0);
      ++cancels_in_flight_;
      return cancel_outcome::submitted;
    }
    case state::idle:  // already completed (forget_cancel normally removes these)
      break;
  }
  return cancel_outcome::nothing;
}

void reactor::impl::prep(detail::kernel_op& op, io_uring_sqe& sqe) noexcept {
  detail::prepare_sqe(sqe, op.request);
  io_uring_sqe_set_data(&sqe, static_cast<detail::reactor_op*>(&op));
  op.where = detail::reactor_op::state::in_kernel;
  ++in_flight_;
}

void reactor::impl::flush_locked() {
  if (!efd_armed_) {
    io_uring_sqe* sqe = ring_.get_sqe();
    if (sqe == nullptr) {
      ring_.submit();
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
      ring_.submit();
      sqe = ring_.get_sqe();
      if (sqe == nullptr) return;
    }
    detail::reactor_op* op = pending_head_;
    pending_head_ = op->next;
    if (pending_head_ == nullptr) pending_tail_ = nullptr;
    op->next = nullptr;
    --pending_count_;
    prep(static_cast<detail::kernel_op&>(*op), *sqe);
  }
}

std::size_t reactor::impl::reap_cq(bool owner) {
  const std::uint64_t wake_id = reinterpret_cast<std::uint64_t>(&efd_op_);
  auto stop = [](std::uint64_t) { return false; };
  std::size_t total = 0;
  settled done[batch];
  for (;;) {
    if (ring_.cq_ready() == 0) return total;
    std::size_t n = 0;
    unsigned consumed = 0;
    {
      locked_state lock(*this);
      consumed = ring_.reap(batch, stop, [&](std::uint64_t user_data, int res, unsigned flags) {
        if (user_data == LIBURING_UDATA_TIMEOUT) return;  // liburing's own wait timeout (pre-EXT_ARG kernels)
        if (user_data == 0) {                            // an ASYNC_CANCEL's answer
          --cancels_in_flight_;
          return;
        }
        if (user_data == wake_id) {
          efd_armed_ = false;
          if (owner) {
            ++wakes_reaped_;
          } else {
            peer_took_wake_ = true;  // handed on in reap_pass (see the top of this file)
          }
          // acq_rel: see the wake-up argument at the top of this file.
          notified_.exchange(false, std::memory_order_acq_rel);
          return;
        }
        auto* op = reinterpret_cast<detail::reactor_op*>(user_data);
        if ((flags & IORING_CQE_F_MORE) != 0) {  // a multishot op stays in the kernel
          done[n++] = settled{op, res, true, flags};
          return;
        }
        --in_flight_;
        done[n++] = settle(*op, res);
        done[n - 1].flags = flags;
      });
    }
    deliver(done, n);
    total += n;
    if (consumed < batch) return total;
  }
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

bool reactor::idle() const noexcept { return impl_->outstanding_.load(std::memory_order_relaxed) == 0; }

bool reactor::has_unsubmitted() const noexcept { return impl_->sq_waiting_.load(std::memory_order_relaxed); }

void reactor::flush_submissions() { impl_->submit_queued(); }

bool reactor::needs_help(std::int64_t now) const noexcept {
  const impl& s = *impl_;
  return s.ring_.cq_ready() != 0 || s.sq_waiting_.load(std::memory_order_relaxed) ||
         s.next_deadline_.load(std::memory_order_relaxed) <= now ||
         s.has_remote_cancels_.load(std::memory_order_relaxed);
}

std::size_t reactor::assist() {
  impl& s = *impl_;
  if (!s.shared_ || !s.reap_lock_.try_lock()) return 0;  // shared rings are never R_DISABLED
  struct unlock {
    detail::spin_lock& l;
    ~unlock() { l.unlock(); }
  } guard{s.reap_lock_};
  return s.reap_pass(false);
}

const reactor_info& reactor::info() const noexcept { return impl_->ring_.info(); }

void reactor::submit(detail::kernel_op& op) noexcept {
  // begin_wait already set it before attaching the cancel hook, which another thread
  // may read at any moment: write only when it differs (never, for awaiters).
  if (op.owner != this) op.owner = this;
  impl& s = *impl_;
  locked_state lock(s);
  if (op.multishot && op.next_multishot == nullptr && s.multishot_ != &op) {
    bool listed = false;
    for (detail::reactor_op* m = s.multishot_; m != nullptr && !listed; m = m->next_multishot) listed = m == &op;
    if (!listed) {
      op.next_multishot = s.multishot_;
      s.multishot_ = &op;
    }
  }
  if (s.pending_head_ == nullptr && s.in_flight_ < s.budget_) {
    if (io_uring_sqe* sqe = s.ring_.get_sqe()) {
      s.prep(op, *sqe);
      return;
    }
  }
  s.append_pending(op);
}

void reactor::reserve_timer() {
  impl& s = *impl_;
  locked_state lock(s);
  s.timers_.reserve_one();
}

void reactor::add_timer(detail::timer_op& t) noexcept {
  if (t.owner != this) t.owner = this;  // see submit()
  impl& s = *impl_;
  locked_state lock(s);
  s.timers_.push(t);  // reserve_timer made room: cannot throw
  t.where = detail::reactor_op::state::armed;
}

bool reactor::remove_timer(detail::timer_op& t) noexcept {
  impl& s = *impl_;
  locked_state lock(s);
  if (!s.timers_.remove(t)) return false;
  t.where = detail::reactor_op::state::idle;
  return true;
}

void reactor::request_cancel(detail::reactor_op& op) noexcept {
  impl& s = *impl_;
  std::lock_guard lock(s.cancel_mutex_);
  op.cancel_next = s.remote_cancels_;
  s.remote_cancels_ = &op;
  // seq_cst (also a release for drain_cancels' acquire): pairs with the owner's
  // waiting_ store and has_remote_cancels_ load in pass(): either the owner sees this
  // request before it sleeps, or we see it waiting and wake it. A busy owner is not
  // woken: its next pass, or a peer's assist(), drains the request.
  s.has_remote_cancels_.store(true, std::memory_order_seq_cst);
  // Wake under the lock: once the owner can drain the request, the op may complete and
  // its reactor be destroyed, so nothing of it may be touched after the unlock.
  if (!s.on_owner_thread() && s.waiting_.load(std::memory_order_seq_cst)) wake();
}

void reactor::forget_cancel(detail::reactor_op& op) noexcept {
  // The reaper (a completion callback): local_cancels_ is ours.
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

int reactor::recv_buffer_group() const noexcept {
  return impl_->recv_pool_.available() ? impl_->recv_pool_.group() : -1;
}

std::span<std::byte> reactor::recv_buffer(std::uint16_t id) const noexcept { return impl_->recv_pool_.buffer(id); }

void reactor::recycle_recv_buffer(std::uint16_t id) noexcept {
  // state_lock_: the pool's tail is written by whoever returns a buffer, and a receiver
  // may finish with its buffer on any worker.
  std::lock_guard lock(impl_->state_lock_);
  impl_->recv_pool_.recycle(id);
}

}  // namespace coring
