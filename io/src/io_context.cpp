// io_context's loop. One pass: resume the coroutines woken when the pass began, then at
// most `fork_batch` forked ones, take what other threads posted, then poll the reactor
// — or, with nothing to run, wait in it. Both batches are bounded so the reactor is
// polled often (timers stay punctual and I/O cannot starve behind a burst of a million
// new tasks); a poll costs one io_uring_enter, amortised over the batch.
#include <coring/io/io_context.hpp>

#include <algorithm>
#include <utility>

namespace coring {

io_context::io_context(const reactor_options& options) : reactor_(options) {}

io_context::~io_context() = default;

namespace {
// Forked coroutines resumed per pass. Value picked to keep the poll's syscall under
// ~1% of the batch's cost while a timer due during a burst waits at most ~100 us.
constexpr std::size_t fork_batch = 1024;
}  // namespace

void io_context::fork(std::coroutine_handle<> h) noexcept {
  if (current_executor() == this) {
    ready_.push_back(h);
  } else {
    post(h);
  }
}

void io_context::post(std::coroutine_handle<> h) noexcept {
  if (current_executor() == this) {
    woken_.push_back(h);
    return;
  }
  std::lock_guard lock(inbox_mutex_);
  inbox_.push_back(h);
  // relaxed: only a hint read by the loop; the mutex carries the data, and wake()
  // below orders the hint before the loop's next check (see reactor.cpp).
  inbox_nonempty_.store(true, std::memory_order_relaxed);
  // Still under the lock: once the loop can take `h`, `h` may finish and this context
  // be destroyed, so nothing of it may be touched after the unlock.
  reactor_.wake();
}

void io_context::take_inbox() {
  // relaxed: a false negative is impossible after a wake-up (reactor.cpp's argument:
  // the loop's reset of the wake flag synchronizes with the poster's wake()), and a
  // stale true only costs a lock.
  if (!inbox_nonempty_.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(inbox_mutex_);
  for (std::coroutine_handle<> h : inbox_) woken_.push_back(h);
  inbox_.clear();
  inbox_nonempty_.store(false, std::memory_order_relaxed);
}

void io_context::run_ready() {
  for (std::size_t n = woken_.size(); n > 0; --n) {
    std::coroutine_handle<> h = woken_.front();
    woken_.pop_front();
    detail::resume_inline(h);  // a loop of its own under the trampoline (task.hpp)
  }
  for (std::size_t n = std::min(ready_.size(), fork_batch); n > 0; --n) {
    std::coroutine_handle<> h = ready_.front();
    ready_.pop_front();
    detail::resume_inline(h);  // a loop of its own under the trampoline (task.hpp)
  }
}

void io_context::drive(std::coroutine_handle<> root) {
  if (running_) throw std::logic_error("coring::io_context::run: already running");
  running_ = true;
  executor* previous_executor = set_current_executor(this);
  reactor* previous_reactor = set_current_reactor(&reactor_);
  struct restore {
    io_context& self;
    executor* ex;
    reactor* r;
    ~restore() {
      set_current_executor(ex);
      set_current_reactor(r);
      self.running_ = false;
    }
  } guard{*this, previous_executor, previous_reactor};

  ready_.push_back(root);
  while (!root.done()) {
    run_ready();
    if (root.done()) break;
    take_inbox();
    if (ready_.empty() && woken_.empty()) {
      reactor_.wait();
    } else {
      reactor_.poll();
    }
    take_inbox();
  }
}

}  // namespace coring
