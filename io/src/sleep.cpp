// sleep and the deadline timer of timeout(): the awaiter side of the timer heap.
#include <coring/io/reactor.hpp>
#include <coring/io/timer.hpp>

#include <cerrno>
#include <stdexcept>

namespace coring {

bool sleep_awaiter::begin(std::coroutine_handle<> h, const detail::cancel_source* source) {
  // Room first: a std::bad_alloc must reach the sleeper before its hook is attached.
  if (reactor* current = current_reactor()) current->reserve_timer();
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
  r->reserve_timer();  // may throw std::bad_alloc; nothing is armed yet
  deadline = deadline_ns;
  target_ = &target;
  join_ = &join;
  exec_ = exec;
  r->add_timer(*this);
}

bool deadline_timer::disarm() noexcept {
  // Any thread: the heap is behind the reactor's state lock. Either the timer is still
  // there (removed now: its arrival is ours to account for), or a reaper has taken it
  // and its complete() runs or has run, and arrives by itself.
  return owner->remove_timer(*this);
}

void deadline_timer::complete(reactor_op& op, int res) noexcept {
  auto& self = static_cast<deadline_timer&>(op);
  if (res == 0) {
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
