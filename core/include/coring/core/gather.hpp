// gather: run several tasks concurrently and wait for all of them (asyncio.gather).
//
//   auto [a, b] = co_await coring::gather(fetch(x), fetch(y));   // std::tuple
//   std::vector<int> all = co_await coring::gather(std::move(tasks));  // over a vector
//
// Every child but the first is handed to the current executor as stealable work
// (`executor::fork`), and the awaiting thread runs the first one itself at once; on one
// worker the children start in argument order, as in asyncio. The
// awaiting coroutine resumes, on the thread that finished the last child, when all
// children have finished. If any child threw, the exception of the first failing child
// in argument order is rethrown once all have finished (no child is left running); the
// other results are discarded. Children inherit the awaiting task's cancellation.
// Without a current executor (outside any runtime) the children run one after another
// on the awaiting thread.
#pragma once

#include <coring/core/task.hpp>

#include <array>
#include <tuple>
#include <variant>
#include <vector>

namespace coring {

namespace detail {

template <class T>
struct result_of_task {
  using type = T;
};
template <>
struct result_of_task<void> {
  using type = std::monostate;
};
template <class T>
using result_t = typename result_of_task<T>::type;

template <class T>
result_t<T> take_result(task<T>& t) {
  if constexpr (std::is_void_v<T>) {
    t.handle().promise().take();
    return std::monostate{};
  } else {
    return t.handle().promise().take();
  }
}

template <class Promise>
const cancel_source* cancellation_of(std::coroutine_handle<Promise> h) noexcept {
  if constexpr (std::is_base_of_v<promise_base, Promise>) {
    return h.promise().cancellation();
  } else {
    return nullptr;
  }
}

// Starts children in argument order. On an executor: children 1..n-1 are forked last
// first, so that the owner (which pops its newest fork first) starts them in order
// after child 0, which runs now by symmetric transfer; thieves take the last ones.
// Without an executor: each runs inline in turn, the last by transfer.
inline std::coroutine_handle<> start_children(std::coroutine_handle<>* children, std::size_t n) noexcept {
  if (executor* ex = current_executor()) {
    for (std::size_t i = n - 1; i >= 1; --i) ex->fork(children[i]);
    return children[0];
  }
  for (std::size_t i = 0; i + 1 < n; ++i) resume_inline(children[i]);
  return children[n - 1];
}

}  // namespace detail

template <class... Ts>
class [[nodiscard]] gather_awaitable {
 public:
  explicit gather_awaitable(task<Ts>... tasks) : tasks_(std::move(tasks)...) {}
  gather_awaitable(const gather_awaitable&) = delete;
  gather_awaitable& operator=(const gather_awaitable&) = delete;

  bool await_ready() const noexcept { return sizeof...(Ts) == 0; }

  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
    join_.remaining.store(sizeof...(Ts), std::memory_order_relaxed);
    join_.parent = parent;
    const detail::cancel_source* source = detail::cancellation_of(parent);
    std::array<std::coroutine_handle<>, sizeof...(Ts)> children;
    std::uint32_t i = 0;
    std::apply(
        [&](auto&... t) {
          ((t.handle().promise().set_join(&join_, i), t.handle().promise().set_cancellation(source),
            children[i] = t.handle(), ++i),
           ...);
        },
        tasks_);
    return detail::start_children(children.data(), children.size());
  }

  std::tuple<detail::result_t<Ts>...> await_resume() {
    std::apply(
        [](auto&... t) {
          // The first failure in argument order; the fold stops at it.
          (void)((t.handle().promise().has_error() ? (std::rethrow_exception(t.handle().promise().exception()), true)
                                                   : false) ||
                 ...);
        },
        tasks_);
    return std::apply([](auto&... t) { return std::tuple<detail::result_t<Ts>...>(detail::take_result(t)...); },
                      tasks_);
  }

 private:
  std::tuple<task<Ts>...> tasks_;
  detail::join_point join_;
};

template <class T>
class [[nodiscard]] gather_range_awaitable {
  static_assert(!std::is_reference_v<T>, "gather over a vector of task<T&> is not supported");

 public:
  explicit gather_range_awaitable(std::vector<task<T>> tasks) : tasks_(std::move(tasks)) {}
  gather_range_awaitable(const gather_range_awaitable&) = delete;
  gather_range_awaitable& operator=(const gather_range_awaitable&) = delete;

  bool await_ready() const noexcept { return tasks_.empty(); }

  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
    join_.remaining.store(tasks_.size(), std::memory_order_relaxed);
    join_.parent = parent;
    const detail::cancel_source* source = detail::cancellation_of(parent);
    std::uint32_t i = 0;
    for (task<T>& t : tasks_) {
      t.handle().promise().set_join(&join_, i++);
      t.handle().promise().set_cancellation(source);
    }
    // tasks_ stays valid while children run: the parent, which owns it, resumes only after
    // the last child, which is not started before this returns.
    // The order of detail::start_children.
    if (executor* ex = current_executor()) {
      for (std::size_t k = tasks_.size() - 1; k >= 1; --k) ex->fork(tasks_[k].handle());
      return tasks_.front().handle();
    }
    for (std::size_t k = 0; k + 1 < tasks_.size(); ++k) detail::resume_inline(tasks_[k].handle());
    return tasks_.back().handle();
  }

  // std::vector of the results in input order (void for task<void>).
  auto await_resume() {
    for (task<T>& t : tasks_) {
      if (t.handle().promise().has_error()) std::rethrow_exception(t.handle().promise().exception());
    }
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      std::vector<T> results;
      results.reserve(tasks_.size());
      for (task<T>& t : tasks_) results.push_back(t.handle().promise().take());
      return results;
    }
  }

 private:
  std::vector<task<T>> tasks_;
  detail::join_point join_;
};

// Awaitable: runs all `tasks` concurrently; yields std::tuple of their results
// (std::monostate for task<void>). See the header comment for threads and errors.
template <class... Ts>
gather_awaitable<Ts...> gather(task<Ts>... tasks) {
  return gather_awaitable<Ts...>(std::move(tasks)...);
}

// The same over any mix of tasks and single-operation awaitables (`s.write_all(out)`,
// `s.read_exact(in)`): each awaitable is wrapped in a task of its own first.
template <class... As>
  requires(sizeof...(As) > 0 && (!detail::is_task<std::remove_cvref_t<As>> || ...))
auto gather(As&&... awaitables) {
  return gather(detail::as_task(std::remove_cvref_t<As>(std::forward<As>(awaitables)))...);
}

// Awaitable: runs all `tasks` concurrently; yields std::vector<T> in input order
// (nothing for task<void>). An empty vector completes at once.
template <class T>
gather_range_awaitable<T> gather(std::vector<task<T>> tasks) {
  return gather_range_awaitable<T>(std::move(tasks));
}

}  // namespace coring
