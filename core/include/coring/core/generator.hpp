// generator<T>: an asynchronous generator (asyncio's `async def` with `yield`, consumed
// by `async for`).
//
//   coring::generator<int> countdown(int n) {
//     for (; n > 0; --n) {
//       co_await coring::sleep(1s);
//       co_yield n;
//     }
//   }
//
//   auto g = countdown(3);
//   while (std::optional<int> v = co_await g.next()) std::printf("%d\n", *v);
//
// Like a task, a generator is lazy: calling the coroutine function allocates its frame
// (through the frame allocator, as a task's) and runs nothing. Its body runs only while
// a consumer awaits next(): next() transfers control to the body symmetrically, and the
// body's next co_yield (or its end) transfers straight back, so a consumer and its
// generator ping-pong without touching a queue or growing the stack. Between two next()
// calls the body stays suspended at its co_yield.
//
// Threads: inside the body any awaitable works, exactly as in a task (sleep, I/O,
// channels, other tasks and generators), and the body resumes wherever the awaited
// operation resumes it. The consumer resumes from next() on the thread the body was
// running on when it yielded or finished: its own thread if the body did not suspend
// since the previous next(), otherwise the thread that resumed the body last.
//
// Errors: an exception thrown by the body is rethrown from the next() that was running;
// the generator is then finished and later next() calls return std::nullopt.
//
// Cancellation: while next() is awaited, the body runs under the consumer's cancel
// token, as an awaited task does. cancel() of the consuming task, a losing when_any
// branch or a timeout() around next() therefore cancels the operation the body is
// suspended in; the body sees coring::cancelled, and unless it catches it, next()
// rethrows it (timeout: coring::timed_out) and the generator is finished. Awaiting
// next() is, like awaiting a task, not a cancellation point of its own, and co_yield is
// none either: a body that yields without ever awaiting cannot be cancelled.
//
// Destroying a generator destroys its frame wherever the body is suspended (at a
// co_yield, or before it started): its locals' destructors run. One consumer at a time:
// a next() while another is still pending throws std::logic_error, and a generator must
// not be destroyed while a next() is pending.
#pragma once

#include <coring/core/task.hpp>

#include <atomic>
#include <cassert>
#include <concepts>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace coring {

template <class T>
class generator;

namespace detail {

// Derives from promise_base so that the body's co_awaits see the consumer's cancel token
// (every awaitable reads it from a promise_base), are checked for cancellation like a
// task's, and the frame comes from the frame allocator. initial_suspend (lazy) is
// promise_base's; final_suspend and yield_value hand control back to the consumer.
template <class T>
class generator_promise final : public promise_base {
 public:
  generator<T> get_return_object() noexcept;

  // Returns control to the consumer awaiting next(). The consumer's token is valid only
  // while it awaits, so it is dropped here; the next next() brings its own.
  std::coroutine_handle<> hand_back() noexcept {
    set_cancellation(nullptr);
    return transfer(std::exchange(consumer_, {}));
  }

  struct yield_awaiter {
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<generator_promise> h) noexcept {
      return h.promise().hand_back();
    }
    void await_resume() const noexcept {}
  };

  // co_yield of an lvalue: a copy lives in this awaiter (in the body's frame) until the
  // consumer has moved it out, so the body's own variable is left as it was.
  class copy_awaiter : public yield_awaiter {
   public:
    explicit copy_awaiter(const T& value) : copy_(value) {}
    std::coroutine_handle<> await_suspend(std::coroutine_handle<generator_promise> h) noexcept {
      h.promise().value_ = std::addressof(copy_);
      return h.promise().hand_back();
    }

   private:
    T copy_;
  };

  // co_yield of an rvalue: the consumer moves the value out of the body's frame, where
  // the yielded object (or temporary) lives until the body resumes.
  yield_awaiter yield_value(T&& value) noexcept {
    value_ = std::addressof(value);
    return {};
  }
  copy_awaiter yield_value(const T& value)
    requires std::copy_constructible<T>
  {
    return copy_awaiter(value);
  }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<generator_promise> h) noexcept {
      return h.promise().hand_back();
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() const noexcept { return {}; }

  void return_void() noexcept {}
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

 private:
  friend class generator<T>;

  T* value_ = nullptr;              // the yielded value, while the body sits at co_yield
  std::exception_ptr error_;        // thrown by the body, until next() rethrows it
  std::coroutine_handle<> consumer_;  // who awaits next(), while the body runs
  // A next() is pending (set by its await_suspend, cleared by its await_resume). Only
  // for catching a second consumer: correct use orders the next() calls, so relaxed is
  // enough, and it costs plain loads and stores; atomic so that the misuse it reports
  // (two tasks on two threads) is not itself a data race.
  std::atomic<bool> pending_{false};
};

}  // namespace detail

template <class T>
class [[nodiscard]] generator {
  static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_array_v<T>,
                "coring::generator<T>: T must be a non-const object type (next() returns std::optional<T>)");

 public:
  using promise_type = detail::generator_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  generator() noexcept = default;
  explicit generator(handle_type h) noexcept : h_(h) {}
  generator(generator&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  generator& operator=(generator&& other) noexcept {
    if (this != &other) {
      destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;
  // Destroys the frame wherever the body is suspended; its locals' destructors run on
  // the calling thread. Not while a next() is pending.
  ~generator() { destroy(); }

  explicit operator bool() const noexcept { return static_cast<bool>(h_); }

  class next_awaiter;

  // Awaitable: runs the body until its next co_yield and returns the yielded value, or
  // std::nullopt once the body has returned (and on every later call). Starts or resumes
  // the body on the awaiting thread (symmetric transfer); resumes the awaiter on the
  // thread the body yielded or finished on. Rethrows what the body threw (the generator
  // is finished afterwards). Throws std::logic_error if another next() of this generator
  // is still pending, or if the generator is empty (default-constructed or moved-from).
  next_awaiter next() noexcept { return next_awaiter(h_); }

  class [[nodiscard]] next_awaiter {
   public:
    // The body runs under the awaiting task's token (see the file comment): next() is
    // not pre-empted by the cancellation check a task makes before other co_awaits.
    using handles_cancellation = void;

    explicit next_awaiter(handle_type h) noexcept : h_(h) {}

    bool await_ready() const {
      if (!h_) return true;  // await_resume reports it
      if (h_.promise().pending_.load(std::memory_order_relaxed)) {
        throw std::logic_error(
            "coring::generator: next() awaited while a previous next() is still pending (one consumer at a time)");
      }
      return h_.done();
    }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
      promise_type& p = h_.promise();
      p.pending_.store(true, std::memory_order_relaxed);
      p.consumer_ = awaiting;
      if constexpr (std::is_base_of_v<detail::promise_base, Promise>) {
        p.set_cancellation(awaiting.promise().cancellation());
      }
      return detail::transfer(h_);
    }
    std::optional<T> await_resume() {
      if (!h_) throw std::logic_error("coring::generator: next() on an empty (moved-from) generator");
      promise_type& p = h_.promise();
      p.pending_.store(false, std::memory_order_relaxed);
      if (h_.done()) {
        if (p.error_) std::rethrow_exception(std::exchange(p.error_, nullptr));
        return std::nullopt;
      }
      return std::optional<T>(std::in_place, std::move(*p.value_));
    }

   private:
    handle_type h_;
  };

 private:
  void destroy() noexcept {
    if (h_) {
      assert(!h_.promise().pending_.load(std::memory_order_relaxed) && "coring::generator destroyed during next()");
      h_.destroy();
    }
  }

  handle_type h_;
};

namespace detail {
template <class T>
generator<T> generator_promise<T>::get_return_object() noexcept {
  return generator<T>(std::coroutine_handle<generator_promise<T>>::from_promise(*this));
}
}  // namespace detail

}  // namespace coring
