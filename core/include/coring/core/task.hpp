// task<T>: the coroutine type of coring (asyncio's `async def`).
//
// A task is lazy: calling a coroutine function allocates its frame and returns a task
// without running any of its body. The body starts when the task is awaited
// (`co_await f()`), spawned, gathered or handed to `run`. Awaiting a task transfers
// control to it symmetrically and its completion transfers straight back to the awaiter,
// so a chain of a million nested `co_await`s uses no stack and touches no queue.
//
// A task is move-only and `[[nodiscard]]`: a task that is created and dropped never runs
// (the compiler warns about the forgotten `co_await`). A value, a reference
// (`task<T&>`), nothing (`task<void>`) or a move-only type can be returned; an exception
// thrown by the body is rethrown to the awaiter.
//
// Inside a task any awaitable works: another task, a join_handle, gather/when_any, or
// any user type with await_ready/await_suspend/await_resume (or an operator co_await).
// Before each co_await the task checks whether its cancellation was requested and, if
// so, throws coring::cancelled instead of suspending.
#pragma once

// g++ before 13 destroys an aggregate or a capturing lambda that is built inside a
// co_await operand (or in the arguments of a coroutine call in one) twice: GCC PRs 99576,
// 100611, 101367, 101976; see README "Known issues". Said once per translation unit;
// define CORING_NO_GCC12_WARNING to silence it once your code avoids those forms.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13 && !defined(CORING_NO_GCC12_WARNING)
#pragma message(                                                                                    \
    "coring: g++ < 13 double-destroys aggregate temporaries in co_await operands. Unsafe: "        \
    "co_await ch.send(msg{name}); co_await blocking([s]{...}); spawn(f(msg{name})). Safe: a named " \
    "value moved in (msg m{name}; co_await ch.send(std::move(m)); auto fn = [s]{...}; "            \
    "co_await blocking(std::move(fn))), or a type with a user-declared constructor. Or use "       \
    "clang. Define CORING_NO_GCC12_WARNING to silence this.")
#endif

#include <coring/core/cancel.hpp>
#include <coring/core/executor.hpp>
#include <coring/core/frame_allocator.hpp>

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace coring {

template <class T = void>
class task;

namespace detail {

class promise_base;

template <class T>
inline constexpr bool is_task = false;
template <class T>
inline constexpr bool is_task<task<T>> = true;

// Where a child of gather/when_any reports its completion: the last child to arrive
// resumes the parent. `on_arrive`, if set, sees every arrival first (when_any uses it to
// pick the winner).
struct join_point {
  std::atomic<std::size_t> remaining{0};
  std::coroutine_handle<> parent;
  void (*on_arrive)(join_point&, promise_base&) noexcept = nullptr;

  // Returns the coroutine to transfer to: the parent when this was the last child,
  // otherwise queued local work, otherwise noop (back to the loop).
  std::coroutine_handle<> arrive(promise_base& child) noexcept;
};

// Symmetric transfer without tail calls. Returning a handle from await_suspend keeps the
// stack flat only when the compiler turns the resumption into a tail call: clang always
// does; g++ does when optimising, but not at -O0 nor under AddressSanitizer, and there a
// loop of a million `co_await`s on tasks that finish at once, or a million-deep chain,
// overflows the stack (issue 11). In those builds `transfer` runs a trampoline instead:
// the first transfer on a thread loops, resuming one coroutine after the other; a
// transfer made while that loop runs below on the stack only records the next coroutine
// and returns to the loop. Optimised builds (CORING_TRAMPOLINE == 0) return the handle
// unchanged: the release fast path costs what it did. Define CORING_TRAMPOLINE to 0 or 1
// to override the choice; every translation unit of a program should agree (the two
// modes interoperate, but the inline functions below then differ between them).
#ifndef CORING_TRAMPOLINE
#if defined(__clang__) || (defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__))
#define CORING_TRAMPOLINE 0
#else
#define CORING_TRAMPOLINE 1
#endif
#endif

#if CORING_TRAMPOLINE
// The trampoline of this thread: whether a loop is draining `next`, and what it runs next.
// Thread-local, so touched by one thread only: no atomics.
struct trampoline_state {
  std::coroutine_handle<> next;
  bool running = false;
};
inline thread_local trampoline_state trampoline;

// Resumes `h`, then whatever it and its successors hand on through transfer(), on this
// thread, with the stack depth of one resumption. Nested use (an event loop run inside a
// coroutine) gets a loop of its own: the outer one's state is kept aside meanwhile.
inline void run_trampoline(std::coroutine_handle<> h) noexcept {
  const trampoline_state outer = std::exchange(trampoline, trampoline_state{{}, true});
  for (std::coroutine_handle<> n = h; n; n = std::exchange(trampoline.next, {})) n.resume();
  trampoline = outer;
}
#endif

// What an await_suspend that hands control to another coroutine returns: `h` itself
// (symmetric transfer) where the compiler makes that a tail call; otherwise the next
// coroutine goes through this thread's trampoline and noop is returned. Runs on the
// calling thread.
inline std::coroutine_handle<> transfer(std::coroutine_handle<> h) noexcept {
#if CORING_TRAMPOLINE
  if (trampoline.running) {
    trampoline.next = h;  // the loop below on the stack resumes it once we return
  } else {
    run_trampoline(h);
  }
  return std::noop_coroutine();
#else
  return h;
#endif
}

// Resumes `h` now, from code that is not an await_suspend (a loop that starts several
// coroutines one after another). With the trampoline, `h` gets a loop of its own, so that
// what it hands on runs before this returns and cannot be confused with what the next
// coroutine started this way hands on. Runs on the calling thread.
inline void resume_inline(std::coroutine_handle<> h) noexcept {
#if CORING_TRAMPOLINE
  run_trampoline(h);
#else
  h.resume();
#endif
}

inline std::coroutine_handle<> next_or_noop() noexcept {
  if (executor* ex = current_executor()) {
    if (std::coroutine_handle<> next = ex->take_next()) return next;
  }
  return std::noop_coroutine();
}

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
    return std::forward<A>(a).operator co_await();
  } else if constexpr (requires { operator co_await(std::forward<A>(a)); }) {
    return operator co_await(std::forward<A>(a));
  } else {
    return std::forward<A>(a);
  }
}

// An awaitable that reacts to its task's cancellation itself, and must therefore not be
// pre-empted by the check before each co_await, declares `using handles_cancellation =
// void;` (task_group's join: a cancelled joiner still waits for the children).
template <class A>
concept handles_own_cancellation = requires { typename std::remove_cvref_t<A>::handles_cancellation; };

// Wraps any awaiter so that a pending cancellation request is thrown before suspending.
template <class Awaiter>
class cancellable_awaiter {
 public:
  cancellable_awaiter(Awaiter&& inner, const cancel_source* source)
      : inner_(std::forward<Awaiter>(inner)), source_(source) {}

  bool await_ready() {
    if (source_ != nullptr && source_->requested()) throw cancelled{};
    return inner_.await_ready();
  }
  template <class Promise>
  decltype(auto) await_suspend(std::coroutine_handle<Promise> h) {
    return inner_.await_suspend(h);
  }
  decltype(auto) await_resume() { return inner_.await_resume(); }

 private:
  Awaiter inner_;  // a value, or a reference when the awaitable is its own awaiter lvalue
  const cancel_source* source_;
};

class promise_base {
 public:
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept { deallocate_frame(frame, size); }

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      promise_base& p = h.promise();
      if (p.join_ != nullptr) return transfer(p.join_->arrive(p));
      if (p.continuation_) return transfer(p.continuation_);
      return transfer(next_or_noop());
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() const noexcept { return {}; }

  // Awaiting another task is a plain call (as in asyncio, awaiting a coroutine is not a
  // cancellation point): the callee checks at its own suspension points. So is an
  // awaitable that handles its task's cancellation itself (handles_own_cancellation:
  // task_group::join cancels the group and still waits for the children). Everything
  // else is wrapped so that a pending cancellation throws before suspending.
  template <class A>
  decltype(auto) await_transform(A&& awaitable) {
    if constexpr (is_task<std::remove_cvref_t<A>> || handles_own_cancellation<A>) {
      return std::forward<A>(awaitable);
    } else {
      using awaiter_t = decltype(get_awaiter(std::forward<A>(awaitable)));
      return cancellable_awaiter<awaiter_t>(get_awaiter(std::forward<A>(awaitable)), cancel_);
    }
  }

  void set_continuation(std::coroutine_handle<> h) noexcept { continuation_ = h; }
  void set_join(join_point* join, std::uint32_t index) noexcept {
    join_ = join;
    join_index_ = index;
  }
  std::uint32_t join_index() const noexcept { return join_index_; }
  const cancel_source* cancellation() const noexcept { return cancel_; }
  void set_cancellation(const cancel_source* source) noexcept { cancel_ = source; }

 private:
  std::coroutine_handle<> continuation_;
  join_point* join_ = nullptr;
  const cancel_source* cancel_ = nullptr;
  std::uint32_t join_index_ = 0;
};

inline std::coroutine_handle<> join_point::arrive(promise_base& child) noexcept {
  if (on_arrive != nullptr) on_arrive(*this, child);
  // acq_rel: release publishes this child's result to whoever arrives last; acquire
  // makes every earlier child's result visible to the last arriver, which resumes the
  // parent that reads them.
  if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) return parent;
  return next_or_noop();
}

// Storage for a task's outcome: nothing yet, a value, or an exception.
template <class T>
class task_promise final : public promise_base {
 public:
  task_promise() noexcept {}
  ~task_promise() {
    if (state_ == state::value) value_.~T();
    else if (state_ == state::error) error_.~exception_ptr();
  }

  task<T> get_return_object() noexcept;
  void unhandled_exception() noexcept {
    ::new (static_cast<void*>(std::addressof(error_))) std::exception_ptr(std::current_exception());
    state_ = state::error;
  }
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<U>(v));
    state_ = state::value;
  }

  // The outcome, moved out; rethrows the body's exception.
  T take() {
    if (state_ == state::error) std::rethrow_exception(error_);
    assert(state_ == state::value);
    return std::move(value_);
  }
  std::exception_ptr exception() const noexcept { return state_ == state::error ? error_ : nullptr; }
  bool has_error() const noexcept { return state_ == state::error; }

 private:
  enum class state : std::uint8_t { empty, value, error };
  state state_ = state::empty;
  union {
    T value_;
    std::exception_ptr error_;
  };
};

template <class T>
class task_promise<T&> final : public promise_base {
 public:
  task<T&> get_return_object() noexcept;
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void return_value(T& v) noexcept { value_ = std::addressof(v); }
  T& take() {
    if (error_) std::rethrow_exception(error_);
    return *value_;
  }
  std::exception_ptr exception() const noexcept { return error_; }
  bool has_error() const noexcept { return static_cast<bool>(error_); }

 private:
  T* value_ = nullptr;
  std::exception_ptr error_;
};

template <>
class task_promise<void> final : public promise_base {
 public:
  task<void> get_return_object() noexcept;
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void return_void() noexcept {}
  void take() {
    if (error_) std::rethrow_exception(error_);
  }
  std::exception_ptr exception() const noexcept { return error_; }
  bool has_error() const noexcept { return static_cast<bool>(error_); }

 private:
  std::exception_ptr error_;
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : h_(h) {}
  task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (h_) h_.destroy();
  }

  // True once the body has run to completion (value or exception).
  bool done() const noexcept { return !h_ || h_.done(); }
  explicit operator bool() const noexcept { return static_cast<bool>(h_); }

  // Awaiting starts the task on the awaiting thread (symmetric transfer) and resumes the
  // awaiter, on whichever thread the task finished, with its value or exception.
  auto operator co_await() && noexcept { return awaiter{h_}; }
  auto operator co_await() & noexcept { return awaiter{h_}; }

  // For runtime and combinator implementations: the frame, still owned by this task.
  handle_type handle() const noexcept { return h_; }
  // Gives up ownership of the frame.
  handle_type release() noexcept { return std::exchange(h_, {}); }

 private:
  struct awaiter {
    handle_type h;
    bool await_ready() const noexcept { return !h || h.done(); }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
      if constexpr (std::is_base_of_v<detail::promise_base, Promise>) {
        h.promise().set_cancellation(awaiting.promise().cancellation());
      }
      h.promise().set_continuation(awaiting);
      return detail::transfer(h);
    }
    T await_resume() {
      if (!h) throw std::logic_error("coring::task: awaiting an empty (moved-from) task");
      return h.promise().take();
    }
  };

  handle_type h_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
  return task<T&>(std::coroutine_handle<task_promise<T&>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

// What co_await on an A yields.
template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

// A task that awaits `awaitable` (kept in its frame): lets gather() and timeout() take
// single-operation awaiters next to tasks. A task passes through unchanged.
template <class A>
task<await_result_t<A>> as_task(A awaitable) {
  co_return co_await std::move(awaitable);
}
template <class T>
task<T> as_task(task<T> t) noexcept {
  return t;
}
}  // namespace detail

}  // namespace coring
