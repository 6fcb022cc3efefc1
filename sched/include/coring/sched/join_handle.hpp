// spawn_scope, the spawned-task wrapper and join_handle<T> (asyncio.Task).
#pragma once

#include <coring/core/task.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <variant>
#include <functional>
#include <memory>

namespace coring {

template <class T>
class join_handle;

// How many failed tasks nobody joined (detached, or whose handle was dropped) this
// process has reported on stderr.
std::size_t unobserved_failures() noexcept;

namespace detail {

class spawn_scope;

// The spawn accounting of one worker, or (the last slot of a scope) of every thread
// outside the pool: how many tasks were spawned and how many finished on it, and the
// shutdown source that tasks spawned on it inherit. One cache line each, so a spawn or a
// finish on a worker writes only that worker's line, and a join's cancellation hook
// links into the spawning worker's source, not into one lock shared by all workers.
//
// Memory orders. A worker's counts have one writer, its own thread: it adds with a
// relaxed load and a release store (no read-modify-write). The outside slot has many
// writers and uses fetch_add (release). Readers (spawn_scope::live) use acquire loads
// and read every `finished` before any `started`: a finish that they count was preceded
// (through the release/acquire chain: spawn, queue, resume, finish) by its task's start
// and by every spawn that task made, so those starts are counted too, and
// started - finished never undercounts a live task (see spawn_scope::live).
struct alignas(64) spawn_slot {
  spawn_scope* owner = nullptr;
  std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> finished{0};
  cancel_source shutdown;
};

// The slot of the worker running on this thread (its scope in `owner`), or nullptr.
extern constinit thread_local spawn_slot* tls_spawn_slot;

// What a spawned task needs from the runtime that runs it: an executor, the shutdown
// cancellation that every spawned task inherits, and the counts of spawned and finished
// tasks that shutdown waits on (one slot per worker, plus one for outside threads).
class spawn_scope {
 public:
  spawn_scope(executor& ex, std::size_t workers);
  spawn_scope(const spawn_scope&) = delete;
  spawn_scope& operator=(const spawn_scope&) = delete;

  executor& exec() const noexcept { return executor_; }
  // The slot worker `index` installs as tls_spawn_slot.
  spawn_slot& worker_slot(std::size_t index) noexcept { return slots_[index]; }

  // Counts a new task on the calling thread's slot and returns the shutdown source the
  // task inherits (its worker's, or the outside threads').
  const cancel_source& task_started() noexcept {
    spawn_slot* slot = tls_spawn_slot;
    if (slot != nullptr && slot->owner == this) [[likely]] {
      add_one(slot->started);
      return slot->shutdown;
    }
    spawn_slot& outside = slots_[workers_];
    outside.started.fetch_add(1, std::memory_order_release);  // release: see spawn_slot
    return outside.shutdown;
  }

  // Counts a finished task. After this the runtime may finish shutting down: a worker
  // thread may still read draining_ (the scope outlives the workers, which ~scheduler
  // joins first); a thread outside the pool is covered by outside_finishing_, which
  // drain() waits to see at zero.
  void task_finished() noexcept {
    spawn_slot* slot = tls_spawn_slot;
    if (slot != nullptr && slot->owner == this) [[likely]] {
      add_one(slot->finished);
      // relaxed: a stale false only delays drain() until its next timed re-check.
      if (draining_.load(std::memory_order_relaxed)) [[unlikely]] wake_drain();
      return;
    }
    finish_outside();
  }

  // Requests cancellation of every spawned task and blocks until none is live.
  void drain() noexcept;
  // Spawned tasks not finished yet (exact once nothing spawns or finishes meanwhile).
  std::size_t live() const noexcept;

 private:
  // The single writer's increment: no read-modify-write needed. release: see spawn_slot.
  static void add_one(std::atomic<std::uint64_t>& count) noexcept {
    count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  void finish_outside() noexcept;
  void wake_drain() noexcept;

  executor& executor_;
  const std::size_t workers_;              // slots_[workers_] is the outside threads' slot
  std::unique_ptr<spawn_slot[]> slots_;
  std::atomic<bool> draining_{false};
  // Outside threads between counting a finish and their last touch of this scope.
  std::atomic<std::size_t> outside_finishing_{0};
  std::mutex drain_mutex_;
  std::condition_variable drain_cv_;
};

// Prints the exception of a task nobody joined to stderr and counts it (see
// coring::unobserved_failures()); coring::cancelled is expected and not reported.
void report_unobserved_failure(std::exception_ptr error) noexcept;

// The scope of the runtime whose worker is the calling thread, or nullptr.
inline spawn_scope* current_spawn_scope() noexcept {
  const spawn_slot* slot = tls_spawn_slot;
  return slot != nullptr ? slot->owner : nullptr;
}

// A thread blocked in join_handle::get().
struct blocking_waiter {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  void wake() {
    // Notify under the lock: the waiter cannot return and destroy this object before
    // we have let go of it.
    std::lock_guard lock(mutex);
    done = true;
    cv.notify_one();
  }
  void wait() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return done; });
  }
};

// Join state of a spawned task, one word: running (no waiter), done, detached, or the
// address of the waiter (a coroutine frame, or a blocking_waiter tagged with bit 0).
namespace join_state {
inline constexpr std::uintptr_t running = 0;
inline constexpr std::uintptr_t done = 2;
inline constexpr std::uintptr_t detached = 4;
inline constexpr std::uintptr_t blocking_tag = 1;
// The waiter of a task its joiner took back before it started and runs inline (a
// coroutine frame, aligned to at least 16, tagged with bit 1; never equal to `done`).
// Then nobody else can touch the state: the joiner is suspended and owns the handle, so
// neither side needs a read-modify-write.
inline constexpr std::uintptr_t inline_tag = 2;
}  // namespace join_state

template <class T>
class spawned_promise;

template <class T>
using spawned_handle = std::coroutine_handle<spawned_promise<T>>;

// The coroutine type of the wrapper that spawn() puts around a user task.
template <class T>
struct spawned {
  using promise_type = spawned_promise<T>;
  spawned_handle<T> handle;
};

template <class T>
class spawned_promise final : public promise_base {
 public:
  // void results are stored as std::monostate, references as std::reference_wrapper.
  using storage_t = std::conditional_t<
      std::is_void_v<T>, std::monostate,
      std::conditional_t<std::is_reference_v<T>, std::reference_wrapper<std::remove_reference_t<T>>, T>>;

  spawned_promise() noexcept { set_cancellation(&cancel_); }

  spawned<T> get_return_object() noexcept { return {spawned_handle<T>::from_promise(*this)}; }
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  // A task cancelled before it was first resumed never runs its body: the first resume
  // throws coring::cancelled (await_resume of the initial suspend is inside the body's
  // try block, so the exception becomes the task's outcome).
  struct initial_awaiter {
    const cancel_source* source;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const {
      if (source->requested()) throw cancelled{};
    }
  };
  initial_awaiter initial_suspend() const noexcept { return {&cancel_}; }

  template <class U>
  void return_value(U&& v) {
    value_.emplace(std::forward<U>(v));
  }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(spawned_handle<T> h) noexcept {
      spawned_promise& p = h.promise();
      // From the count on, the runtime may finish shutting down; what follows it touches
      // only the frame, the joiner and (on a worker, which the runtime joins before it
      // goes away) the executor. The frame may outlive the runtime, so it leaves the
      // runtime's shutdown source first.
      p.cancel_.leave_parent();
      // acquire: a detach is final (nobody joins any more); see detach().
      const std::uintptr_t seen = p.state_.load(std::memory_order_acquire);
      if (seen == join_state::detached) {
        // Reported before it is counted finished: whoever waits for live_tasks() to drop
        // finds the failure reported.
        if (p.error_) report_unobserved_failure(p.error_);
        p.scope_->task_finished();
        h.destroy();
        return next_or_noop();
      }
      // Counted finished before the outcome is published: whoever joins the task sees it
      // gone from runtime::live_tasks().
      p.scope_->task_finished();
      if (seen != join_state::done && (seen & join_state::inline_tag) != 0) {
        // Run inline by its joiner (see inline_tag): no other writer. release: later
        // done() loads on other threads see the outcome.
        p.state_.store(join_state::done, std::memory_order_release);
        return transfer(std::coroutine_handle<>::from_address(reinterpret_cast<void*>(seen & ~join_state::inline_tag)));
      }
      // acq_rel: release publishes the result to the joiner; acquire makes the joiner's
      // earlier writes (its waiter registration) visible here.
      const std::uintptr_t old = p.state_.exchange(join_state::done, std::memory_order_acq_rel);
      std::coroutine_handle<> next;
      if (old == join_state::detached) {  // detached since the load above
        if (p.error_) report_unobserved_failure(p.error_);
        h.destroy();
      } else if (old & join_state::blocking_tag) {
        reinterpret_cast<blocking_waiter*>(old & ~join_state::blocking_tag)->wake();
      } else if (old != join_state::running) {
        next = std::coroutine_handle<>::from_address(reinterpret_cast<void*>(old));
      }
      return next ? next : next_or_noop();
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() const noexcept { return {}; }

  void bind(spawn_scope& scope, const cancel_source& shutdown) noexcept {
    scope_ = &scope;
    cancel_.set_parent(&shutdown);
  }
  void request_cancel() noexcept { cancel_.request(); }
  std::exception_ptr error() const noexcept { return error_; }
  std::atomic<std::uintptr_t>& state() noexcept { return state_; }

  // The task's outcome, moved out; rethrows its exception.
  T take() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (std::is_void_v<T>) {
      return;
    } else if constexpr (std::is_reference_v<T>) {
      return value_->get();
    } else {
      return std::move(*value_);
    }
  }

 private:
  std::atomic<std::uintptr_t> state_{join_state::running};
  spawn_scope* scope_ = nullptr;
  cancel_source cancel_;
  std::exception_ptr error_;
  std::optional<storage_t> value_;
};

template <class T>
spawned<T> spawn_wrapper(task<T> body) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(body);
    co_return std::monostate{};
  } else {
    co_return co_await std::move(body);
  }
}

// Wraps `body`, counts it live in `scope` and returns the (not yet scheduled) wrapper.
template <class T>
spawned_handle<T> make_spawned(task<T> body, spawn_scope& scope) {
  if (!body) throw std::invalid_argument("coring::spawn: the task is empty (moved-from)");
  spawned_handle<T> h = spawn_wrapper(std::move(body)).handle;
  h.promise().bind(scope, scope.task_started());
  return h;
}

}  // namespace detail

// The handle of a spawned task (asyncio.Task). Move-only. `co_await handle` inside the
// pool, or `handle.get()` outside it, yields the task's value or rethrows its exception;
// either consumes the handle. Destroying a handle that was not joined detaches the task:
// it keeps running, and if it fails its exception is printed to stderr and counted by
// the runtime (never silently lost).
template <class T>
class [[nodiscard]] join_handle {
 public:
  join_handle() noexcept = default;
  explicit join_handle(detail::spawned_handle<T> h) noexcept : h_(h) {}
  join_handle(join_handle&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  join_handle& operator=(join_handle&& other) noexcept {
    if (this != &other) {
      detach();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  ~join_handle() { detach(); }

  // False once joined, detached or moved from.
  bool valid() const noexcept { return static_cast<bool>(h_); }

  // True once the task has finished (value or exception). Any thread.
  bool done() const noexcept {
    return h_ && h_.promise().state().load(std::memory_order_acquire) == detail::join_state::done;
  }

  // Requests cancellation: the task throws coring::cancelled at its next suspension point
  // (before it starts, if it has not). Safe to call repeatedly, on a finished task, and
  // during shutdown. Any thread.
  void cancel() noexcept {
    if (h_) h_.promise().request_cancel();
  }

  // Lets the task run on without a handle (what the destructor does).
  void detach() noexcept {
    if (!h_) return;
    auto& state = h_.promise().state();
    std::uintptr_t expected = detail::join_state::running;
    // acq_rel: on success the finishing thread's acquire exchange sees `detached` and takes
    // over the frame; on failure (done) acquire makes the result visible before we free it.
    if (!state.compare_exchange_strong(expected, detail::join_state::detached, std::memory_order_acq_rel)) {
      if (auto error = h_.promise().error()) detail::report_unobserved_failure(error);
      h_.destroy();
    }
    h_ = {};
  }

  // Blocks the calling thread until the task finishes; returns its value or rethrows its
  // exception. Must not be called on one of the runtime's workers (it would block the
  // thread the task may need): throws std::logic_error there, and for an invalid handle.
  T get() {
    if (!h_) throw std::logic_error("coring::join_handle::get: the handle is empty (joined, detached or moved from)");
    if (detail::current_spawn_scope() != nullptr) {
      throw std::logic_error("coring::join_handle::get: called on a worker thread; use co_await instead");
    }
    detail::blocking_waiter waiter;
    std::uintptr_t expected = detail::join_state::running;
    const auto tagged = reinterpret_cast<std::uintptr_t>(&waiter) | detail::join_state::blocking_tag;
    // acq_rel: publishes the waiter to the finishing thread; acquire on failure (done)
    // makes the result visible.
    if (h_.promise().state().compare_exchange_strong(expected, tagged, std::memory_order_acq_rel)) {
      waiter.wait();
      // The finisher's release exchange to `done` happened before wake(); the mutex
      // inside the waiter orders it before this load.
      (void)h_.promise().state().load(std::memory_order_acquire);
    }
    return consume();
  }

  // Awaiting resumes the awaiting coroutine, on the thread that finished the task, with
  // its value or exception. Awaiting an empty handle throws std::logic_error.
  auto operator co_await() && noexcept { return awaiter(this); }
  auto operator co_await() & noexcept { return awaiter(this); }

 private:
  // While suspended, the awaiter is linked into the awaiting task's cancellation: if
  // that task is cancelled, the request is passed on to the awaited task (as asyncio
  // does), and the awaiter keeps waiting for it to finish, so the awaiting task sees
  // the awaited task's outcome, normally coring::cancelled.
  struct awaiter : detail::cancel_callback {
    join_handle* self;
    const detail::cancel_source* source = nullptr;

    explicit awaiter(join_handle* h) noexcept : self(h) {
      on_cancel = [](detail::cancel_callback& cb) noexcept { static_cast<awaiter&>(cb).self->cancel(); };
    }
    bool await_ready() const noexcept { return !self->h_ || self->done(); }
    // Links the awaiter into the awaiting task's cancellation (see above).
    template <class Promise>
    void link_cancellation(std::coroutine_handle<Promise> waiting) noexcept {
      if constexpr (std::is_base_of_v<detail::promise_base, Promise>) {
        source = waiting.promise().cancellation();
        if (source != nullptr && !source->attach(*this)) self->cancel();
      }
    }
    // Registers `waiting` as the task's waiter; false if the task is done (resume at once).
    bool register_waiter(std::coroutine_handle<> waiting) noexcept {
      std::uintptr_t expected = detail::join_state::running;
      // acq_rel: publishes the waiter; on failure the task is done and acquire makes its
      // result visible, so we resume at once.
      return self->h_.promise().state().compare_exchange_strong(
          expected, reinterpret_cast<std::uintptr_t>(waiting.address()), std::memory_order_acq_rel);
    }
#if CORING_TRAMPOLINE
    // Builds without guaranteed tail calls (-O0, g++ with ASan; see CORING_TRAMPOLINE):
    // a handle returned from await_suspend is resumed by a plain call made after reading
    // it back, while another worker may already have resumed this coroutine (the task
    // finished there). So here await_suspend returns bool, and joins never run the task
    // inline: correct, only slower.
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiting) noexcept {
      link_cancellation(waiting);
      return register_waiter(waiting);
    }
#else
    // A task that has not started and is still the newest one spawned on this worker is
    // taken back from the queue and run here and now (symmetric transfer, a tail call in
    // these builds), with the awaiting coroutine as its waiter: a spawn-then-join tree
    // runs depth-first, like oneTBB's task_group::wait, instead of going through the loop
    // once per task.
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> waiting) noexcept {
      link_cancellation(waiting);
      const detail::spawned_handle<T> child = self->h_;
      executor* ex = current_executor();
      if (ex != nullptr && ex->take_unstarted(child)) {
        // release: the child, run below on this thread, reads nothing through it; a done()
        // on another thread only compares with `done`. See join_state::inline_tag.
        child.promise().state().store(reinterpret_cast<std::uintptr_t>(waiting.address()) | detail::join_state::inline_tag,
                                      std::memory_order_release);
        return child;
      }
      if (!register_waiter(waiting)) return waiting;  // done: resume at once
      return std::noop_coroutine();
    }
#endif
    T await_resume() {
      if (source != nullptr) source->detach(*this);
      if (!self->h_) throw std::logic_error("coring::join_handle: awaiting an empty handle");
      return self->consume();
    }
  };

  T consume() {
    detail::spawned_handle<T> h = std::exchange(h_, {});
    struct destroy_on_exit {
      detail::spawned_handle<T> h;
      ~destroy_on_exit() { h.destroy(); }
    } guard{h};
    return h.promise().take();
  }

  detail::spawned_handle<T> h_;
};

}  // namespace coring
