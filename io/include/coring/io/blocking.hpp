// coring::blocking: run a blocking call on a pool thread and await its result
// (asyncio.to_thread, Tokio's spawn_blocking).
//
//   auto addrs = co_await coring::blocking(lookup, "example.com");   // getaddrinfo etc.
//
// For calls io_uring cannot make (getaddrinfo, third-party blocking libraries, ...): the
// call occupies a pool thread, never a worker. The awaiting task resumes on a worker,
// posted to the executor it suspended on; never on the pool thread.
//
// The pool (DESIGN.md §1, STYLE.md "boring on purpose", after Tokio's blocking/pool.rs)
// is a mutex, a condition variable and a FIFO:
//  - a call is handed to an idle thread if there is one; otherwise a thread is started,
//    up to `max_threads`; beyond that, calls wait in the FIFO and are taken by the next
//    thread that finishes one;
//  - a thread that finishes a call polls briefly (`spin`) for the next one, then sleeps;
//  - a thread idle for `idle_timeout` exits, so the pool shrinks back to zero threads;
//  - if the OS refuses a new thread, the call waits for an existing thread, or, when the
//    pool has none, fails in the awaiting task with std::system_error (no task is
//    orphaned).
//
// Cancellation of the awaiting task: a call still in the FIFO is removed and the task
// resumes at once with coring::cancelled. A call already running cannot be interrupted:
// it runs to the end, its result (or exception) is discarded, and the task resumes with
// coring::cancelled when it returns.
//
// Shutdown (blocking_pool::shutdown() or the destructor): calls in the FIFO are cancelled
// (their tasks see coring::cancelled); running calls are waited for, at most
// `shutdown_timeout`. A call still running then is left to finish on its thread, which
// exits afterwards; its task is resumed normally when it returns. Calls made after
// shutdown fail with coring::cancelled.
#pragma once

#include <coring/core/detail/call_result.hpp>
#include <coring/core/cancel.hpp>
#include <coring/core/executor.hpp>
#include <coring/core/task.hpp>

#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

namespace coring {

struct blocking_pool_options {
  // Most threads running calls at once (CORING_BLOCKING_THREADS). At least 1.
  unsigned max_threads = 512;
  // An idle thread exits after this long without work (CORING_BLOCKING_IDLE_MS).
  std::chrono::milliseconds idle_timeout{10'000};
  // How long shutdown waits for running calls before leaving them to finish alone.
  std::chrono::milliseconds shutdown_timeout{5'000};
  // How long a thread that just finished a call polls for the next one before it sleeps
  // on the condition variable. Waking a sleeping thread costs 25-40 us on this class of
  // machine (DESIGN.md §6), more than a short call itself; a task that makes calls in a
  // row would pay it every time. The same figure as the workers' CORING_SPIN_US default.
  // 0: never poll.
  std::chrono::microseconds spin{50};
};

namespace detail {

struct blocking_state;  // the pool's shared state (blocking_pool.cpp)

// One call, living in its awaiter (the awaiting coroutine's frame): no allocation per
// call. Fields other than `invoke`'s outputs are guarded by the pool's mutex while the
// job is known to the pool.
struct blocking_job : cancel_callback {
  enum class status : unsigned char { idle, queued, running, done, refused };

  void (*invoke)(blocking_job&) noexcept = nullptr;  // runs the call, stores its outcome
  blocking_job* q_prev = nullptr;
  blocking_job* q_next = nullptr;
  std::coroutine_handle<> handle;
  executor* exec = nullptr;
  blocking_state* pool = nullptr;
  status state = status::idle;
  bool cancel_requested = false;  // the awaiting task was cancelled
  std::exception_ptr refusal;     // why the pool did not run the call (no thread, shutdown)

  blocking_job() noexcept { on_cancel = &cancel_job; }
  static void cancel_job(cancel_callback& cb) noexcept;
};

// Queues `job` (status queued) and returns true, or returns false without queueing it
// when it is cancelled, the pool is shut down, or no thread can run it (`refusal` says
// why). On true, the job and its awaiter must not be touched again by the caller.
bool submit_blocking(blocking_state& pool, blocking_job& job) noexcept;

// Called by a resumed awaiter before it goes on: returns once the thread that posted it
// has finished posting (the post happens under the pool's mutex). Without it, a task
// resumed by a pool thread could finish, and its runtime be destroyed, while that thread
// is still inside the runtime's executor::post.
void settle_blocking(blocking_state& pool) noexcept;

}  // namespace detail

// An elastic pool of threads for blocking calls. Thread-safe. See the file comment.
class blocking_pool {
 public:
  // Starts no thread yet. Throws std::invalid_argument for max_threads == 0.
  explicit blocking_pool(const blocking_pool_options& options = {});
  // shutdown().
  ~blocking_pool();
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  // The process-wide pool that coring::blocking() uses: created on first use with the
  // default options (512 threads, 10 s idle), which configure() changes; that is the
  // hook through which a runtime applies CORING_BLOCKING_THREADS / _IDLE_MS (the io layer
  // reads no configuration itself). Shut down (see shutdown()) at static destruction.
  static blocking_pool& global();

  // Changes the options of a live pool: a lower max_threads lets surplus threads exit as
  // they go idle; a new idle_timeout applies from each thread's next wait. Throws
  // std::invalid_argument for max_threads == 0.
  void configure(const blocking_pool_options& options);

  // Cancels queued calls, waits up to shutdown_timeout for running ones (see the file
  // comment). Idempotent; later calls fail with coring::cancelled. Must not be called
  // from one of this pool's threads.
  void shutdown() noexcept;

  // Snapshots, for monitoring and tests.
  std::size_t threads() const noexcept;       // started and not exited
  std::size_t idle_threads() const noexcept;  // waiting for work
  std::size_t queued() const noexcept;        // calls waiting for a thread

  template <class F, class... Args>
  class call_awaiter;

  // Awaitable: runs `std::invoke(f, args...)` on a pool thread (f and args are decayed
  // copies, moved into the call) and yields its result or rethrows its exception. See
  // the file comment for cancellation and shutdown; std::system_error if no thread could
  // be started; std::logic_error if awaited on a thread that runs no executor.
  template <class F, class... Args>
  [[nodiscard]] call_awaiter<std::decay_t<F>, std::decay_t<Args>...> run(F&& f, Args&&... args) {
    return call_awaiter<std::decay_t<F>, std::decay_t<Args>...>(state_, std::forward<F>(f),
                                                                 std::forward<Args>(args)...);
  }

  template <class F, class... Args>
  class [[nodiscard]] call_awaiter : detail::blocking_job {
    using raw_result = std::invoke_result_t<F&&, Args&&...>;
    // Values are stored, references as pointers, void as nothing.

   public:
    template <class G, class... A>
    call_awaiter(std::shared_ptr<detail::blocking_state> shared, G&& f, A&&... args)
        : keep_alive_(std::move(shared)), f_(std::forward<G>(f)), args_(std::forward<A>(args)...) {
      this->pool = keep_alive_.get();
      this->invoke = &run_call;
    }
    // Movable until awaited (so coring::timeout(d, coring::blocking(f)) can take it into
    // its task): a moved-from awaiter must not be awaited. Moving one that is being
    // awaited is undefined (the pool holds its address).
    call_awaiter(call_awaiter&& other) noexcept(std::is_nothrow_move_constructible_v<F> &&
                                                (std::is_nothrow_move_constructible_v<Args> && ...))
        : detail::blocking_job(), keep_alive_(other.keep_alive_), f_(std::move(other.f_)),
          args_(std::move(other.args_)) {
      assert(other.state == status::idle && "coring::blocking: an awaiter moved while awaited");
      this->pool = keep_alive_.get();
      this->invoke = &run_call;
    }
    call_awaiter(const call_awaiter&) = delete;
    call_awaiter& operator=(const call_awaiter&) = delete;
    call_awaiter& operator=(call_awaiter&&) = delete;

    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      executor* ex = current_executor();
      if (ex == nullptr) throw std::logic_error("coring::blocking: awaited outside a runtime's threads");
      handle = h;
      exec = ex;
      if constexpr (std::is_base_of_v<detail::promise_base, Promise>) source_ = h.promise().cancellation();
      // Attach before queueing: on_cancel takes the pool's mutex (lock order source, pool).
      if (source_ != nullptr && !source_->attach(*this)) {
        source_ = nullptr;
        cancel_requested = true;
        return false;
      }
      return detail::submit_blocking(*this->pool, *this);  // true: touch nothing after
    }
    raw_result await_resume() {
      if (source_ != nullptr) source_->detach(*this);  // waits for a running on_cancel
      detail::settle_blocking(*this->pool);
      if (cancel_requested) throw cancelled{};
      if (refusal) std::rethrow_exception(refusal);
      return result_.take();
    }

   private:
    // On the pool thread, without the pool's lock. Its writes reach the awaiting task
    // through the executor's post (a release/acquire hand-over).
    static void run_call(detail::blocking_job& job) noexcept {
      auto& self = static_cast<call_awaiter&>(job);
      self.result_.run(std::move(self.f_), std::move(self.args_));
    }

    std::shared_ptr<detail::blocking_state> keep_alive_;  // for on_cancel and the thread
    const detail::cancel_source* source_ = nullptr;
    F f_;
    std::tuple<Args...> args_;
    detail::call_result<raw_result> result_;
  };

 private:
  std::shared_ptr<detail::blocking_state> state_;
};

// Runs `f(args...)` on the process-wide blocking pool: `co_await coring::blocking(f, a)`.
// See blocking_pool::run.
template <class F, class... Args>
[[nodiscard]] auto blocking(F&& f, Args&&... args) {
  return blocking_pool::global().run(std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace coring
