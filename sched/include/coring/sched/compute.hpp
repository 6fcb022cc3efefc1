// coring::compute: run a CPU-bound function on the compute pool and await its result
// (asyncio's run_in_executor(ProcessPoolExecutor, f), without processes).
//
//   double x = co_await coring::compute(simulate, params);
//
// The compute pool is one oneTBB `task_arena` of CORING_COMPUTE_THREADS threads (default:
// the worker count), separate from the workers: a long computation never occupies a
// worker, so I/O keeps flowing. `tbb::parallel_for` and other oneTBB algorithms called
// inside `f` run in that arena. The awaiting task resumes on a worker, posted to the
// executor it suspended on; never on an arena thread.
//
// Cancellation of the awaiting task: a computation that has not started does not run
// (the task resumes with coring::cancelled as soon as the arena gets to it); one that is
// running cannot be interrupted, runs to the end, its result is discarded and the task
// then sees coring::cancelled.
#pragma once

#include <coring/core/detail/call_result.hpp>
#include <coring/core/cancel.hpp>
#include <coring/core/executor.hpp>
#include <coring/core/task.hpp>

#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

namespace coring {

// Sets the compute arena's thread count. Effective only before the first compute() of
// the process (the arena is then built once); returns false if it was already built.
// Throws std::invalid_argument for 0. Without a call, the first compute() uses
// CORING_COMPUTE_THREADS as resolved by coring::resolve_config() (default: the worker
// count).
bool configure_compute(unsigned threads);

// The compute arena's thread count (builds the arena if needed).
unsigned compute_concurrency();

namespace detail {

// One computation, living in its awaiter (no allocation besides oneTBB's task).
struct compute_job : cancel_callback {
  // pending -> running -> finished, or pending -> cancelled_early (never runs), or
  // running -> cancelled_running (runs to the end, result discarded).
  enum state_t : unsigned char { pending, running, finished, cancelled_early, cancelled_running };

  void (*invoke)(compute_job&) noexcept = nullptr;
  compute_job* next_job = nullptr;  // the pool's submission FIFO (compute_pool.cpp)
  std::coroutine_handle<> handle;
  executor* exec = nullptr;
  std::atomic<unsigned char> state{pending};

  compute_job() noexcept {
    on_cancel = [](cancel_callback& cb) noexcept {
      auto& job = static_cast<compute_job&>(cb);
      unsigned char s = job.state.load(std::memory_order_relaxed);
      // acq_rel: orders the request with the arena thread's own transitions; the
      // awaiting task reads the final state after detach(), which synchronises with us.
      for (;;) {
        unsigned char target = s;
        if (s == pending) target = cancelled_early;
        if (s == running) target = cancelled_running;
        if (target == s || job.state.compare_exchange_weak(s, target, std::memory_order_acq_rel)) return;
      }
    };
  }
};

// Enqueues `job` into the compute arena; the arena thread runs it (unless cancelled) and
// posts `job.handle` to `job.exec`. After the call the job must not be touched.
void submit_compute(compute_job& job);

// Called by a resumed awaiter before it goes on: returns once the arena thread that
// posted it has finished posting (see compute_pool.cpp, run_one).
void settle_compute() noexcept;

}  // namespace detail

template <class F, class... Args>
class [[nodiscard]] compute_awaiter : detail::compute_job {
  using raw_result = std::invoke_result_t<F&&, Args&&...>;

 public:
  template <class G, class... A>
  explicit compute_awaiter(G&& f, A&&... args) : f_(std::forward<G>(f)), args_(std::forward<A>(args)...) {
    invoke = &run_call;
  }
  compute_awaiter(const compute_awaiter&) = delete;
  compute_awaiter& operator=(const compute_awaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    executor* ex = current_executor();
    if (ex == nullptr) throw std::logic_error("coring::compute: awaited outside a runtime's threads");
    handle = h;
    exec = ex;
    if constexpr (std::is_base_of_v<detail::promise_base, Promise>) source_ = h.promise().cancellation();
    if (source_ != nullptr && !source_->attach(*this)) {
      source_ = nullptr;
      state.store(cancelled_early, std::memory_order_relaxed);  // never submitted: ours alone
      return false;
    }
    submitted_ = true;  // before submitting: afterwards `this` is not ours to write
    try {
      detail::submit_compute(*this);  // touch nothing after a successful submit
    } catch (...) {
      submitted_ = false;
      if (source_ != nullptr) source_->detach(*this);
      throw;
    }
    return true;
  }
  raw_result await_resume() {
    if (source_ != nullptr) source_->detach(*this);
    if (submitted_) detail::settle_compute();
    // acquire: pairs with the arena thread's and on_cancel's transitions.
    const unsigned char s = state.load(std::memory_order_acquire);
    if (s == cancelled_early || s == cancelled_running) throw cancelled{};
    return result_.take();
  }

 private:
  // On an arena thread. Its writes reach the awaiting task through the executor's post.
  static void run_call(detail::compute_job& job) noexcept {
    auto& self = static_cast<compute_awaiter&>(job);
    self.result_.run(std::move(self.f_), std::move(self.args_));
  }

  const detail::cancel_source* source_ = nullptr;
  bool submitted_ = false;
  F f_;
  std::tuple<Args...> args_;
  detail::call_result<raw_result> result_;
};

// Awaitable: runs `std::invoke(f, args...)` (decayed copies, moved into the call) in the
// compute arena and yields its result or rethrows its exception. Resumes on a worker.
// Throws coring::cancelled as described above, std::logic_error if awaited on a thread
// that runs no executor, and what oneTBB throws if the arena cannot be built.
template <class F, class... Args>
[[nodiscard]] compute_awaiter<std::decay_t<F>, std::decay_t<Args>...> compute(F&& f, Args&&... args) {
  return compute_awaiter<std::decay_t<F>, std::decay_t<Args>...>(std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace coring
