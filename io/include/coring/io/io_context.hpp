// io_context: a complete single-threaded event loop (asyncio's loop) on one reactor.
//
//   coring::io_context ctx;
//   int n = ctx.run(serve(port));   // runs on the calling thread until serve() finishes
//
// run() makes the calling thread the reactor's owner and the context the current
// executor: every coroutine it resumes (the task, the tasks it awaits or gathers, the
// completions of its I/O and timers) runs on this thread, from a FIFO of ready
// coroutines. When nothing is ready it sleeps in the kernel until an I/O completion,
// the nearest timer or a post from another thread (no spinning).
//
// The sched layer gives each worker its own reactor instead; code written against the
// awaitables (sleep, file, tcp_stream...) runs unchanged on either.
#pragma once

#include <coring/core/executor.hpp>
#include <coring/core/task.hpp>
#include <coring/io/reactor.hpp>

#include <atomic>
#include <coroutine>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace coring {

class io_context final : public executor {
 public:
  // Sets up the reactor (see reactor::reactor for the errors, io_uring_unavailable
  // among them). The thread that first calls run() owns it from then on.
  explicit io_context(const reactor_options& options = {});
  ~io_context();
  io_context(const io_context&) = delete;
  io_context& operator=(const io_context&) = delete;

  // Runs `main` to completion on the calling thread and returns its value or rethrows
  // its exception. Coroutines still suspended in this context's operations when main
  // finishes stay suspended (a later run() continues them). Throws std::logic_error
  // when this context is already running. Call it on the same thread every time: the
  // ring is bound to the first (another thread gets std::system_error, EEXIST).
  template <class T>
  T run(task<T> main) {
    if (!main) throw std::invalid_argument("coring::io_context::run: empty task");
    drive(main.handle());
    return main.handle().promise().take();
  }

  // Any thread: queues `h` to be resumed by run(). On the loop's own thread it joins the
  // woken FIFO, which runs ahead of forked work (the executor contract: a wake-up runs
  // soon, its data still hot); from elsewhere through a locked inbox and a wake-up.
  void post(std::coroutine_handle<> h) noexcept override;
  // Loop thread: new work (gather children) and yields go behind queued work.
  void fork(std::coroutine_handle<> h) noexcept override;
  void defer(std::coroutine_handle<> h) noexcept override { fork(h); }

  // The reactor this context drives (owner thread for everything but wake()).
  reactor& get_reactor() noexcept { return reactor_; }

 private:
  void drive(std::coroutine_handle<> root);
  void run_ready();
  void take_inbox();

  reactor reactor_;
  std::deque<std::coroutine_handle<>> woken_;  // loop thread only: posted wake-ups
  std::deque<std::coroutine_handle<>> ready_;  // loop thread only: forked/deferred work
  std::mutex inbox_mutex_;
  std::vector<std::coroutine_handle<>> inbox_;  // guarded by inbox_mutex_
  // A hint that inbox_ is non-empty, so a loop pass skips the mutex when it is not.
  std::atomic<bool> inbox_nonempty_{false};
  bool running_ = false;
};

}  // namespace coring
