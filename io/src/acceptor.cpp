// acceptor: the multishot accept's completions, the queue and the waiting accept()s.
// The protocol (threads, lock order, lifetime) is described in acceptor.hpp.
#include "acceptor.hpp"

#include <coring/io/reactor.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace coring::detail {

acceptor::acceptor(int listen_fd, std::size_t capacity) noexcept : capacity_(capacity) {
  request = {io_opcode::accept_multishot, listen_fd, 0, SOCK_CLOEXEC, nullptr, 0};
  on_complete = &on_cqe;
  multishot = true;
}

acceptor::~acceptor() {
  for (int fd : ready_) ::close(fd);
}

bool acceptor::usable() const noexcept {
  if (refused_.load(std::memory_order_relaxed)) return false;
  const reactor* r = current_reactor();
  // Without an executor a waiter could only be resumed by its own reactor's pass, and
  // the multishot may live in another one: such callers use single-shot accepts.
  return r != nullptr && current_executor() != nullptr && r->info().multishot_accept;
}

void acceptor::arm(reactor& r) noexcept {
  state_ = arm_state::armed;
  delivered_ = false;
  orphaned = false;
  self_ = shared_from_this();
  owner = &r;  // before submit: stop() reads it (under mu_) to cancel
  r.submit(*this);
}

void acceptor::cancel_multishot() noexcept {
  if (state_ != arm_state::armed) return;  // off: nothing to stop; stopping: already asked
  state_ = arm_state::stopping;
  cancel_requested_ = true;
  owner->request_cancel(*this);
}

void acceptor::push_waiter(accept_waiter& w) noexcept {
  w.prev_ = tail_;
  w.next_ = nullptr;
  (tail_ != nullptr ? tail_->next_ : head_) = &w;
  tail_ = &w;
  w.queued_ = true;
  w.waited_ = true;
}

accept_waiter* acceptor::pop_waiter() noexcept {
  accept_waiter* w = head_;
  if (w != nullptr) unlink_waiter(*w);
  return w;
}

void acceptor::unlink_waiter(accept_waiter& w) noexcept {
  (w.prev_ != nullptr ? w.prev_->next_ : head_) = w.next_;
  (w.next_ != nullptr ? w.next_->prev_ : tail_) = w.prev_;
  w.prev_ = w.next_ = nullptr;
  w.queued_ = false;
}

void acceptor::take_all(wake_list& out, int result) noexcept {
  while (accept_waiter* w = pop_waiter()) {
    w->result_ = result;
    (out.tail != nullptr ? out.tail->next_ : out.head) = w;
    out.tail = w;
  }
}

// Each waiter's executor and handle are read before its post: once posted, its frame
// may resume and be gone.
void acceptor::post_all(const wake_list& list) noexcept {
  for (accept_waiter* w = list.head; w != nullptr;) {
    accept_waiter* following = w->next_;
    executor* ex = w->exec_;
    const std::coroutine_handle<> h = w->coro_;
    ex->post(h);
    w = following;
  }
}

void acceptor::stop() noexcept {
  wake_list woken;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    for (int fd : ready_) ::close(fd);
    ready_.clear();
    take_all(woken, -EBADF);
    cancel_multishot();
  }
  post_all(woken);
}

void acceptor::on_cqe(reactor_op& op, int res) noexcept {
  auto& a = static_cast<acceptor&>(op);
  const bool last = !op.more;
  const bool orphaned = op.orphaned;  // the reactor is being destroyed: resume nothing
  std::shared_ptr<acceptor> keep;     // self_ may hold the last reference: drop it unlocked
  wake_list woken;
  int stray = -1;
  {
    std::lock_guard lock(a.mu_);
    reactor* r = a.owner;
    if (last) {
      if (a.cancel_requested_ && !orphaned) r->forget_cancel(a);
      a.cancel_requested_ = false;
      a.state_ = arm_state::off;
      keep = std::move(a.self_);
    }
    if (res >= 0) {
      a.delivered_ = true;
      accept_waiter* w = (a.closed_ || orphaned) ? nullptr : a.pop_waiter();
      if (a.closed_) {
        stray = res;
      } else if (w != nullptr) {
        w->result_ = res;
        w->next_ = nullptr;
        woken.head = woken.tail = w;
      } else {
        a.ready_.push_back(res);
        // Full: stop taking connections off the kernel's backlog until accept() drains us.
        if (a.ready_.size() >= a.capacity_ && !orphaned) a.cancel_multishot();
      }
    } else if (last && res == -EINVAL && !a.delivered_) {
      a.refused_.store(true, std::memory_order_relaxed);  // a kernel without the flag
    }
    if (last && !orphaned && !a.closed_ && a.head_ != nullptr) {
      // accept()s are still waiting: keep them served.
      if (res >= 0 || res == -ECANCELED || res == -ECONNABORTED || res == -EINTR || res == -EAGAIN) {
        a.arm(*r);
      } else {
        // EMFILE and the like: each waiter backs off in accept_fd; a refused flag makes
        // them retry with single-shot accepts.
        a.take_all(woken, res == -EINVAL && a.refused_.load(std::memory_order_relaxed) ? -EAGAIN : res);
      }
    }
  }
  if (stray >= 0) ::close(stray);
  post_all(woken);
}

// --- accept_waiter ---

accept_waiter::accept_waiter(std::shared_ptr<acceptor> a) noexcept : a_(std::move(a)) { on_cancel = &cancel; }

accept_waiter::~accept_waiter() {
  // A frame destroyed while suspended here (its loop torn down) must leave the list.
  if (!waited_) return;
  std::lock_guard lock(a_->mu_);
  if (queued_) a_->unlink_waiter(*this);
}

bool accept_waiter::begin(std::coroutine_handle<> h, const cancel_source* source) {
  coro_ = h;
  exec_ = current_executor();
  source_ = source;
  // Attach before locking mu_ (lock order: see acceptor.hpp).
  if (source != nullptr && !source->attach(*this)) {
    refused_ = true;
    return false;
  }
  acceptor& a = *a_;
  {
    std::lock_guard lock(a.mu_);
    if (a.closed_) {
      result_ = -EBADF;
    } else if (!a.ready_.empty()) {
      result_ = a.ready_.front();
      a.ready_.pop_front();
      // Stopped because the queue filled: start again once it is half drained.
      if (a.state_ == acceptor::arm_state::off && a.ready_.size() <= a.capacity_ / 2) a.arm(*current_reactor());
    } else {
      a.push_waiter(*this);
      if (a.state_ == acceptor::arm_state::off) a.arm(*current_reactor());
      // Once mu_ is released a completion may post us: touch nothing after this.
      return true;
    }
  }
  if (source_ != nullptr) source_->detach(*this);  // a hook that ran found us unqueued
  return false;
}

int accept_waiter::await_resume() {
  if (refused_) throw cancelled{};
  // Waits out a cancellation request that is running our hook right now (it holds the
  // source's lock), so the frame outlives it.
  if (source_ != nullptr) source_->detach(*this);
  if (cancelled_) throw cancelled{};
  return result_;
}

void accept_waiter::cancel(cancel_callback& cb) noexcept {
  auto& w = static_cast<accept_waiter&>(cb);
  {
    std::lock_guard lock(w.a_->mu_);
    if (!w.queued_) return;  // a connection or the close got to it first
    w.a_->unlink_waiter(w);
    w.cancelled_ = true;
  }
  // Under the source's lock: the resumed coroutine's detach waits for us to return.
  w.exec_->post(w.coro_);
}

}  // namespace coring::detail
