// Timers: sleep, sleep_until, timeout.
//
//   co_await coring::sleep(10ms);
//   auto n = co_await coring::timeout(50ms, stream.read(buf));   // throws coring::timed_out
//
// Sleeping operations wait in the current reactor's timer heap; the reactor's wait
// carries the nearest deadline to the kernel, so a million sleepers cost one heap
// entry each and no kernel object. Clock: std::chrono::steady_clock. Awaiting them
// needs a thread that drives a reactor (inside io_context::run, or a coring worker once
// workers own reactors); elsewhere they throw std::logic_error.
#pragma once

#include <coring/core/task.hpp>
#include <coring/io/detail/op.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <utility>

namespace coring {

// Thrown by timeout() when the deadline passed before the operation finished (the
// operation was cancelled and has ended by then).
class timed_out : public std::exception {
 public:
  const char* what() const noexcept override { return "coring::timed_out: the operation did not finish in time"; }
};

class [[nodiscard]] sleep_awaiter : public detail::timer_op {
 public:
  // `expired`: the deadline is known to be past already (the factories decide, so that
  // a sleep reads the clock once).
  sleep_awaiter(std::chrono::steady_clock::time_point when, bool expired) noexcept : expired_(expired) {
    deadline = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
    on_complete = &complete;
  }
  bool await_ready() const noexcept { return expired_; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return begin(h, detail::source_of(h));
  }
  void await_resume() const { detail::check_cancelled(w_); }

 private:
  bool begin(std::coroutine_handle<> h, const detail::cancel_source* source);
  static void complete(detail::reactor_op& op, int res) noexcept;
  detail::op_waiter w_;
  bool expired_;
};

// Awaitable: suspends until `deadline` (steady_clock). A deadline already past completes
// without suspending. Resumes through the executor current at suspension (on the
// reactor's thread for io_context). Throws coring::cancelled if the task is cancelled
// while sleeping (the sleep ends at once), std::logic_error without a reactor.
inline sleep_awaiter sleep_until(std::chrono::steady_clock::time_point deadline) noexcept {
  return sleep_awaiter(deadline, deadline <= std::chrono::steady_clock::now());
}

// Awaitable: sleep_until(now + d). See sleep_until.
template <class Rep, class Period>
sleep_awaiter sleep(std::chrono::duration<Rep, Period> d) noexcept {
  if (d <= d.zero()) return sleep_awaiter({}, true);
  return sleep_awaiter(std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(d), false);
}

namespace detail {

// The deadline of a timeout: a timer that requests `target` when it fires. Its end is
// one of the two arrivals timeout_awaitable waits for, so the frame that holds it is
// never released while the reactor still knows it. The race between the timer firing
// (on whichever thread reaps its reactor) and the inner task disarming it (any thread)
// is settled by the reactor's lock on its timer heap: exactly one of them removes it.
class deadline_timer : public timer_op {
 public:
  deadline_timer() noexcept { on_complete = &complete; }
  // Owner thread of the current reactor. Throws std::logic_error without a reactor,
  // std::bad_alloc if the timer heap cannot grow (nothing is armed then).
  void arm(std::int64_t deadline_ns, const cancel_source& target, join_point& join, executor* exec);
  // Any thread, once: the operation finished; stop the timer. Returns true when the
  // timer's arrival was accounted for here (it will not arrive by itself).
  bool disarm() noexcept;
  bool fired() const noexcept { return fired_; }

 private:
  static void complete(reactor_op& op, int res) noexcept;
  bool fired_ = false;
  const cancel_source* target_ = nullptr;
  join_point* join_ = nullptr;
  executor* exec_ = nullptr;
};

}  // namespace detail

// Awaitable returned by timeout(): runs `inner` with a cancel source of its own (child
// of the awaiting task's), and a deadline timer that requests it.
template <class T>
class [[nodiscard]] timeout_awaitable {
 public:
  timeout_awaitable(std::chrono::nanoseconds d, task<T> inner) : duration_(d), inner_(std::move(inner)) {}
  timeout_awaitable(const timeout_awaitable&) = delete;
  timeout_awaitable& operator=(const timeout_awaitable&) = delete;

  bool await_ready() const noexcept { return !inner_ || inner_.done(); }

  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) {
    source_.set_parent(detail::source_of(parent));
    // Two arrivals: the inner task (its final_suspend calls arrive) and the timer's end.
    join_.remaining.store(2, std::memory_order_relaxed);
    join_.parent = parent;
    join_.timer = &timer_;
    join_.on_arrive = [](detail::join_point& j, detail::promise_base&) noexcept {
      auto& join = static_cast<timeout_join&>(j);
      if (join.timer->disarm()) {
        // relaxed: the inner's own arrival (acq_rel) right after this orders it.
        join.remaining.fetch_sub(1, std::memory_order_relaxed);
      }
    };
    const auto now = std::chrono::steady_clock::now().time_since_epoch();
    timer_.arm(std::chrono::duration_cast<std::chrono::nanoseconds>(now + duration_).count(), source_, join_,
               current_executor());
    inner_.handle().promise().set_cancellation(&source_);
    inner_.handle().promise().set_join(&join_, 0);
    return inner_.handle();
  }

  T await_resume() {
    if (!inner_) throw std::logic_error("coring::timeout: empty task");
    auto& promise = inner_.handle().promise();
    if (timer_.fired() && promise.has_error() && !(source_.parent() != nullptr && source_.parent()->requested())) {
      try {
        std::rethrow_exception(promise.exception());
      } catch (const cancelled&) {
        throw timed_out{};
      }
    }
    return promise.take();
  }

 private:
  // The inner task's join point; on its arrival the timer is disarmed.
  struct timeout_join : detail::join_point {
    detail::deadline_timer* timer = nullptr;
  };

  std::chrono::nanoseconds duration_;
  task<T> inner_;
  detail::cancel_source source_;
  timeout_join join_;
  detail::deadline_timer timer_;
};

// Awaitable (asyncio.wait_for): runs `inner` — a task or any awaitable — and, if it has
// not finished after `d`, cancels it and throws coring::timed_out once it has ended.
// A cancellation of the awaiting task itself still surfaces as coring::cancelled; an
// operation that finished just as the deadline passed keeps its result. Resumes on the
// thread that finished last (inner or timer). Needs a reactor on the awaiting thread.
template <class Rep, class Period, class T>
timeout_awaitable<T> timeout(std::chrono::duration<Rep, Period> d, task<T> inner) {
  return timeout_awaitable<T>(std::chrono::duration_cast<std::chrono::nanoseconds>(d), std::move(inner));
}
template <class Rep, class Period, class A>
  requires(!detail::is_task<std::remove_cvref_t<A>>)
auto timeout(std::chrono::duration<Rep, Period> d, A&& awaitable) {
  using T = detail::await_result_t<std::remove_cvref_t<A>>;
  return timeout_awaitable<T>(std::chrono::duration_cast<std::chrono::nanoseconds>(d),
                              detail::as_task(std::remove_cvref_t<A>(std::forward<A>(awaitable))));
}

}  // namespace coring
