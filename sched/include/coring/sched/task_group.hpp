// coring::task_group: structured concurrency (asyncio.TaskGroup).
//
//   coring::task_group group;
//   group.spawn(fetch(a));
//   group.spawn(fetch(b));
//   co_await group.join();   // waits for both; rethrows the first failure
//
// Rules:
//  - spawn() schedules a child on the runtime of the calling worker (like coring::spawn);
//    children may spawn more children into the same group while it is joined.
//  - The first child to fail (any exception but coring::cancelled) cancels the group:
//    every other child gets a cancellation request (it sees coring::cancelled at its next
//    suspension point, or at once if it has not started) and children spawned afterwards
//    are cancelled before they start. join() waits for all of them and rethrows that first
//    exception. Later failures are not lost: each is printed to stderr and counted like the
//    failure of a detached task (coring::unobserved_failures()). A child ending with
//    coring::cancelled is not a failure.
//  - If the task awaiting join() is cancelled, the group is cancelled, join() still waits
//    for every child to finish, then throws coring::cancelled (unless a child failed first:
//    that exception wins).
//  - A group must not be destroyed while children run (there is no way to wait for them
//    without a coroutine): like a joinable std::thread, the destructor then prints a
//    message and calls std::terminate. Await join() on every path, including the error
//    paths of the spawning task. A failure nobody joined is reported on stderr when the
//    group is destroyed.
//  - A child must not await join() of its own group (it would wait for itself).
//  - After a failure or cancel() the group stays cancelled: later spawns are cancelled
//    at once. join() consumes the recorded failure.
#pragma once

#include <coring/core/cancel.hpp>
#include <coring/core/executor.hpp>
#include <coring/core/task.hpp>
#include <coring/sched/join_handle.hpp>
#include <coring/sched/runtime.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace coring {

namespace detail {

// Awaitable yielding the awaiting task's cancel_source without suspending.
struct current_cancellation {
  const cancel_source* source = nullptr;
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    if constexpr (std::is_base_of_v<promise_base, Promise>) source = h.promise().cancellation();
    return false;
  }
  const cancel_source* await_resume() const noexcept { return source; }
};

}  // namespace detail

class task_group {
 public:
  task_group() = default;
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  // Terminates the process (after a message on stderr) if children are still running;
  // reports a failure that join() never consumed.
  ~task_group() {
    std::exception_ptr unjoined;
    {
      std::lock_guard hold(lock_);
      if (live_ != 0) {
        std::fprintf(stderr,
                     "coring: a task_group was destroyed with %zu children still running; "
                     "co_await group.join() before it goes out of scope\n",
                     live_);
        std::terminate();
      }
      unjoined = std::exchange(first_error_, nullptr);
    }
    if (unjoined) detail::report_unobserved_failure(unjoined);
  }

  // Schedules `body` as a child of the group on the calling worker's runtime. Throws
  // std::logic_error off a worker thread and std::invalid_argument for an empty task (as
  // coring::spawn does); the group is unchanged then. If the group is cancelled, the
  // child is cancelled before it runs its body.
  template <class T>
  void spawn(task<T> body) {
    if (!body) throw std::invalid_argument("coring::task_group::spawn: the task is empty (moved-from)");
    // The ticket counts the child live from here until the child's frame is destroyed,
    // whichever way that happens (finished, cancelled before it started, or never
    // scheduled because spawn threw), so join() can never miss or hang on a child.
    coring::spawn(child(ticket(*this), std::move(body))).detach();
  }

  class join_awaiter;

  // Awaitable: resumes once every child has finished (at once if none is running), on the
  // worker that finished the last child (posted to the executor the joiner suspended on).
  // Rethrows the group's first failure; throws coring::cancelled if the joining task was
  // cancelled while it waited (its cancellation cancels the group). std::logic_error if
  // it has to wait on a thread that runs no executor.
  [[nodiscard]] join_awaiter join() noexcept;

  // Cancels every running child and every child spawned later. Any thread; idempotent.
  void cancel() noexcept {
    std::lock_guard hold(lock_);
    cancel_locked();
  }

  // Snapshots. Any thread.
  std::size_t live() const noexcept {
    std::lock_guard hold(lock_);
    return live_;
  }
  bool cancelled() const noexcept {
    std::lock_guard hold(lock_);
    return cancelled_;
  }

  class [[nodiscard]] join_awaiter : detail::cancel_callback {
   public:
    // A pending cancellation of the joiner must not skip the join (see await_suspend).
    using handles_cancellation = void;
    explicit join_awaiter(task_group& g) noexcept : g_(g) {
      on_cancel = [](detail::cancel_callback& cb) noexcept {
        auto& self = static_cast<join_awaiter&>(cb);
        // Written under the source's lock; read after detach() in await_resume.
        self.joiner_cancelled_ = true;
        self.g_.cancel();
      };
    }
    // Moved only before it is awaited (a co_await may move the awaitable into the frame),
    // so a move is a fresh awaiter of the same group.
    join_awaiter(join_awaiter&& other) noexcept : join_awaiter(other.g_) {}
    join_awaiter(const join_awaiter&) = delete;
    join_awaiter& operator=(const join_awaiter&) = delete;

    // await_suspend decides, even with no child left: it is where the joiner's own
    // cancellation is seen (the awaiter handles it, see handles_cancellation).
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      if constexpr (std::is_base_of_v<detail::promise_base, Promise>) source_ = h.promise().cancellation();
      // Attach before registering (lock order: source, then group). If the joiner is
      // already cancelled, cancel the group and keep waiting for the children.
      if (source_ != nullptr && !source_->attach(*this)) {
        source_ = nullptr;
        joiner_cancelled_ = true;
        g_.cancel();
      }
      std::unique_lock hold(g_.lock_);
      if (g_.live_ == 0) return false;
      executor* ex = current_executor();
      if (ex == nullptr) {
        hold.unlock();
        if (source_ != nullptr) source_->detach(*this);
        source_ = nullptr;
        throw std::logic_error("coring::task_group::join: awaited outside a runtime's threads");
      }
      g_.joiner_ = h;
      g_.joiner_exec_ = ex;
      return true;  // unlocking is the last touch of the group and of this awaiter
    }
    void await_resume() {
      if (source_ != nullptr) source_->detach(*this);
      std::exception_ptr error;
      {
        std::lock_guard hold(g_.lock_);
        error = std::exchange(g_.first_error_, nullptr);
      }
      if (error) std::rethrow_exception(error);
      if (joiner_cancelled_) throw coring::cancelled{};
    }

   private:
    task_group& g_;
    const detail::cancel_source* source_ = nullptr;
    bool joiner_cancelled_ = false;
  };

 private:
  // A running child, linked into the group so that cancel() can reach its cancel_source.
  // Lives in the child's frame.
  struct member {
    const detail::cancel_source* source = nullptr;
    member* prev = nullptr;
    member* next = nullptr;
    bool linked = false;
  };

  // Counts one child live for as long as it exists (see spawn()).
  class ticket {
   public:
    explicit ticket(task_group& g) noexcept : g_(&g) {
      std::lock_guard hold(g.lock_);
      ++g.live_;
    }
    ticket(ticket&& other) noexcept : g_(std::exchange(other.g_, nullptr)) {}
    ticket(const ticket&) = delete;
    ticket& operator=(const ticket&) = delete;
    ticket& operator=(ticket&&) = delete;
    ~ticket() {
      if (g_ != nullptr) g_->leave();
    }
    task_group& group() const noexcept { return *g_; }

   private:
    task_group* g_;
  };

  template <class T>
  static task<void> child(ticket t, task<T> body) {
    task_group& g = t.group();
    member self;
    try {
      self.source = co_await detail::current_cancellation{};
      if (g.enter(self)) co_await std::move(body);
    } catch (...) {
      g.fail(std::current_exception());
    }
    g.exit(self);
    // `t` is destroyed with this frame, after the spawned wrapper finished: see leave().
  }

  bool enter(member& m) noexcept {
    std::lock_guard hold(lock_);
    if (cancelled_) return false;
    m.prev = nullptr;
    m.next = members_;
    if (members_ != nullptr) members_->prev = &m;
    members_ = &m;
    m.linked = true;
    return true;
  }

  void exit(member& m) noexcept {
    std::lock_guard hold(lock_);
    if (!m.linked) return;
    if (m.prev != nullptr) {
      m.prev->next = m.next;
    } else {
      members_ = m.next;
    }
    if (m.next != nullptr) m.next->prev = m.prev;
    m.linked = false;
  }

  void fail(std::exception_ptr error) noexcept {
    try {
      std::rethrow_exception(error);
    } catch (const coring::cancelled&) {
      return;  // the expected end of a cancelled child
    } catch (...) {
    }
    {
      std::lock_guard hold(lock_);
      if (!first_error_) {
        first_error_ = error;
        cancel_locked();
        return;
      }
    }
    detail::report_unobserved_failure(error);
  }

  void cancel_locked() noexcept {
    cancelled_ = true;
    // Each request runs the child's cancellation callbacks (posting it out of whatever it
    // waits on); none of them takes this group's lock, so holding it here is safe.
    for (member* m = members_; m != nullptr; m = m->next) m->source->request();
  }

  // The last act of a child: the frame holding the ticket is being destroyed.
  void leave() noexcept {
    std::coroutine_handle<> joiner;
    executor* ex = nullptr;
    {
      std::lock_guard hold(lock_);
      if (--live_ == 0 && joiner_) {
        joiner = std::exchange(joiner_, {});
        ex = joiner_exec_;
      }
    }
    // Only this thread resumes the joiner, so posting after the unlock is safe; the group
    // (usually in the joiner's frame) may be gone as soon as the post returns.
    if (joiner) ex->post(joiner);
  }

  mutable std::mutex lock_;
  std::size_t live_ = 0;  // guarded by lock_, as is everything below
  member* members_ = nullptr;
  bool cancelled_ = false;
  std::exception_ptr first_error_;
  std::coroutine_handle<> joiner_;
  executor* joiner_exec_ = nullptr;
};

inline task_group::join_awaiter task_group::join() noexcept { return join_awaiter(*this); }

}  // namespace coring
