// runtime, run, spawn, yield: running tasks on a pool of work-stealing workers.
#pragma once

#include <coring/core/task.hpp>
#include <coring/sched/config.hpp>
#include <coring/io/reactor.hpp>
#include <coring/sched/join_handle.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace coring {

namespace detail {
class scheduler;
}

// A pool of worker threads that run tasks (asyncio's event loop, on all cores).
//
// Configuration: explicit `runtime_options` beat `CORING_*` environment variables, which
// beat the defaults (see config.hpp, DESIGN.md §4).
class runtime {
 public:
  // Starts the workers, each with its own io_uring. Throws coring::config_error for a
  // bad option or CORING_* variable, coring::io_uring_unavailable if the kernel refuses
  // io_uring (ENOSYS, EPERM), std::system_error if a ring or a worker thread cannot be
  // set up. Warnings about the configuration (unknown CORING_* names) go to stderr.
  explicit runtime(const runtime_options& options = {});

  // Requests cancellation of every spawned task that is still running, waits until all
  // have finished (each sees coring::cancelled at its next suspension point), then stops
  // and joins the workers. Must not run on one of this runtime's workers.
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Runs `main` on the pool and blocks the calling thread until it finishes; returns its
  // value or rethrows its exception. Tasks it spawned keep running afterwards (until the
  // runtime is destroyed). Throws std::logic_error on a worker thread of any runtime.
  template <class T>
  T block_on(task<T> main) {
    return spawn(std::move(main)).get();
  }

  // Schedules `body` on the pool; any thread. See join_handle for joining, cancelling and
  // detaching. Throws std::invalid_argument for an empty task.
  template <class T>
  join_handle<T> spawn(task<T> body) {
    auto h = detail::make_spawned(std::move(body), scope());
    schedule(h);
    return join_handle<T>(h);
  }

  const runtime_config& config() const noexcept;
  std::size_t workers() const noexcept;
  // Spawned tasks that have not finished yet.
  std::size_t live_tasks() const noexcept;

 private:
  detail::spawn_scope& scope() noexcept;
  const detail::spawn_scope& scope() const noexcept;
  void schedule(std::coroutine_handle<> h) noexcept;

  runtime_config config_;
  std::unique_ptr<detail::scheduler> scheduler_;
};

// asyncio.run: builds a runtime from `options` and the environment, runs `main` to
// completion, cancels and waits for whatever it spawned, and returns main's value or
// rethrows its exception. A configuration error, or a kernel that refuses io_uring, is
// printed to stderr and the process exits with status 2.
template <class T>
T run(task<T> main, const runtime_options& options = {}) {
  std::unique_ptr<runtime> rt;
  try {
    rt = std::make_unique<runtime>(options);
  } catch (const config_error& e) {
    std::fprintf(stderr, "coring: %s\n", e.what());
    std::exit(2);
  } catch (const io_uring_unavailable& e) {
    std::fprintf(stderr, "coring: %s\n", e.what());
    std::exit(2);
  }
  return rt->block_on(std::move(main));
}

// asyncio.create_task: schedules `body` on the runtime whose worker calls this and
// returns its handle. The task may start at once on another worker. Throws
// std::logic_error when not called on a worker (use runtime::spawn there), and
// std::invalid_argument for an empty task.
template <class T>
join_handle<T> spawn(task<T> body) {
  detail::spawn_scope* scope = detail::current_spawn_scope();
  if (scope == nullptr) throw std::logic_error("coring::spawn: not on a worker thread; use runtime::spawn");
  auto h = detail::make_spawned(std::move(body), *scope);
  scope->exec().spawn(h);
  return join_handle<T>(h);
}

// Awaitable (asyncio.sleep(0)): lets other queued work run, then resumes the awaiting
// coroutine on some worker. Outside a runtime it does nothing.
struct yield_awaiter {
  bool await_ready() const noexcept { return current_executor() == nullptr; }
  void await_suspend(std::coroutine_handle<> h) const noexcept { current_executor()->defer(h); }
  void await_resume() const noexcept {}
};
[[nodiscard]] inline yield_awaiter yield() noexcept { return {}; }

// Index of the worker running the calling thread in its runtime, or -1 elsewhere.
int current_worker() noexcept;

// How many slow-task reports this process has printed (CORING_SLOW_TASK_MS, or
// runtime_options::slow_task_ms): each is one resumption that kept a worker from
// every other task for longer than the limit. Any thread.
std::size_t slow_task_reports() noexcept;

}  // namespace coring
