// The one interface through which a suspended coroutine is handed back to be run.
//
// The io layer (completions), the sync primitives and gather/spawn resume coroutines
// only through `executor`; none of them knows which scheduler is behind it. A thread
// that runs an executor's loop publishes it with `set_current_executor`, and code that
// needs to schedule work finds it with `current_executor()`.
#pragma once

#include <coroutine>

namespace coring {

class executor {
 public:
  // Schedules `h` to be resumed soon. Callable from any thread; never resumes `h`
  // inline. This is the wake-up path (an awaited event happened): on one of the
  // executor's own threads `h` is run next, ahead of queued work, to keep the data it
  // touches hot; from other threads it goes through a shared queue.
  virtual void post(std::coroutine_handle<> h) noexcept = 0;

  // Schedules `h` as new work that idle threads may take (spawned tasks, the children
  // of gather). Default: `post`.
  virtual void fork(std::coroutine_handle<> h) noexcept { post(h); }

  // Schedules a spawned task (coring::spawn): new work that starts in spawn order
  // relative to the other tasks spawned on the same thread, and that idle threads may
  // take. Default: `fork`.
  virtual void spawn(std::coroutine_handle<> h) noexcept { fork(h); }

  // Called on one of the executor's own threads by a coroutine about to wait for the
  // spawned task `h`: if `h` has not started and the calling thread can take it back
  // from its queue (it is the newest task spawned there), removes it and returns true;
  // the caller then runs it inline, as a join in oneTBB does. Default: false.
  virtual bool take_unstarted(std::coroutine_handle<> h) noexcept {
    (void)h;
    return false;
  }

  // Schedules `h` behind the work that is already queued (yield). Default: `post`.
  virtual void defer(std::coroutine_handle<> h) noexcept { post(h); }

  // Called only on one of the executor's own threads, by a coroutine that is about to
  // suspend with nothing to continue: returns a queued coroutine to run next by
  // symmetric transfer instead of returning to the loop, or a null handle. An executor
  // bounds how many times in a row it answers, so its loop still gets to run.
  virtual std::coroutine_handle<> take_next() noexcept { return {}; }

 protected:
  executor() = default;
  executor(const executor&) = default;
  executor& operator=(const executor&) = default;
  ~executor() = default;
};

namespace detail {
extern constinit thread_local executor* tls_current_executor;
}

// The executor whose loop runs on the calling thread, or nullptr.
inline executor* current_executor() noexcept { return detail::tls_current_executor; }

// Publishes `ex` as the calling thread's executor (nullptr to clear); returns the previous
// one. For executor implementations.
inline executor* set_current_executor(executor* ex) noexcept {
  executor* previous = detail::tls_current_executor;
  detail::tls_current_executor = ex;
  return previous;
}

}  // namespace coring
