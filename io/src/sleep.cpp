// sleep and the deadline timer of timeout(): the awaiter side of the timer heap.
#include <coring/io/reactor.hpp>
#include <coring/io/timer.hpp>

#include <cerrno>
#include <stdexcept>

namespace coring {

bool sleep_awaiter::begin(std::coroutine_handle<> h, const detail::cancel_source* source) {
  reactor* r = detail::begin_wait(*this, w_, h, source);
  if (r == nullptr) return false;
  r->add_timer(*this);
  return true;
}

void sleep_awaiter::complete(detail::reactor_op& op, int res) noexcept {
  auto& self = static_cast<sleep_awaiter&>(op);
  detail::finish_wait(op, self.w_, res);
}

namespace detail {

void deadline_timer::arm(std::int64_t deadline_ns, const cancel_source& target, join_point& join, executor* exec) {
  reactor* r = current_reactor();
  if (r == nullptr) {
    throw std::logic_error("coring::timeout: this thread drives no reactor (use it inside coring::io_context::run)");
  }
  deadline = deadline_ns;
  target_ = &target;
  join_ = &join;
  exec_ = exec;
  r->add_timer(*this);
}

bool deadline_timer::disarm() noexcept {
  if (owner == current_reactor()) {
    // The owner thread settles it at once: either the timer is still in the heap, or
    // its completion already ran (and arrived) on this very thread.
    if (!owner->remove_timer(*this)) return false;
    state_.store(done, std::memory_order_relaxed);  // nobody else reads it any more
    return true;
  }
  // Another thread: ask the owner. acq_rel orders this against the owner's exchange in
  // complete(): exactly one of them sees the other's value, so either the request is
  // made and complete() forgets it, or complete() already ran and no request is made.
  std::uint8_t expected = armed;
  if (state_.compare_exchange_strong(expected, disarming, std::memory_order_acq_rel)) owner->request_cancel(*this);
  return false;
}

void deadline_timer::complete(reactor_op& op, int res) noexcept {
  auto& self = static_cast<deadline_timer&>(op);
  const std::uint8_t previous = self.state_.exchange(done, std::memory_order_acq_rel);
  if (previous == disarming) self.owner->forget_cancel(self);
  if (res == 0 && previous == armed) {
    self.fired_ = true;
    self.target_->request();  // cancels the inner operation (its hook queues with its reactor)
  }
  // The timer's arrival; acq_rel as in join_point::arrive (publishes fired_).
  if (self.join_->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    if (self.exec_ != nullptr) {
      self.exec_->post(self.join_->parent);
    } else {
      self.owner->resume_later(self.join_->parent);
    }
  }
}

}  // namespace detail
}  // namespace coring
