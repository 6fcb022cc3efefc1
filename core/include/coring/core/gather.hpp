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
#include <concepts>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
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

// Starts a runtime-sized set of non-empty tasks as children of `parent` (joined through
// `join`), in the order of start_children. `tasks` must not be empty.
template <class T, class Promise>
std::coroutine_handle<> start_range(std::span<task<T>> tasks, join_point& join,
                                    std::coroutine_handle<Promise> parent) noexcept {
  join.remaining.store(tasks.size(), std::memory_order_relaxed);
  join.parent = parent;
  const cancel_source* source = cancellation_of(parent);
  std::uint32_t i = 0;
  for (task<T>& t : tasks) {
    t.handle().promise().set_join(&join, i++);
    t.handle().promise().set_cancellation(source);
  }
  if (executor* ex = current_executor()) {
    for (std::size_t k = tasks.size() - 1; k >= 1; --k) ex->fork(tasks[k].handle());
    return tasks.front().handle();
  }
  for (std::size_t k = 0; k + 1 < tasks.size(); ++k) resume_inline(tasks[k].handle());
  return tasks.back().handle();
}

// Rethrows the exception of the first failed task, in order.
template <class T>
void rethrow_first_error(std::span<task<T>> tasks) {
  for (task<T>& t : tasks) {
    if (t.handle().promise().has_error()) std::rethrow_exception(t.handle().promise().exception());
  }
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
    // tasks_ stays valid while children run: the parent, which owns it, resumes only after
    // the last child, which is not started before this returns.
    return detail::start_range(std::span<task<T>>(tasks_), join_, parent);
  }

  // std::vector of the results in input order (void for task<void>).
  auto await_resume() {
    detail::rethrow_first_error(std::span<task<T>>(tasks_));
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

// gather over tasks and result slots the caller owns (an std::array in its frame, say):
// no heap allocation, for trees whose every node gathers a few children (nqueens).
template <class T>
class [[nodiscard]] gather_into_awaitable {
 public:
  using slot_t = detail::result_t<T>;
  gather_into_awaitable(std::span<task<T>> tasks, std::span<slot_t> results) : tasks_(tasks), results_(results) {
    if constexpr (!std::is_void_v<T>) {
      if (results.size() != tasks.size()) {
        throw std::invalid_argument("coring::gather_into: " + std::to_string(tasks.size()) + " tasks but " +
                                    std::to_string(results.size()) + " result slots");
      }
    }
    for (const task<T>& t : tasks) {
      if (!t) throw std::invalid_argument("coring::gather_into: a task is empty (moved-from or default)");
    }
  }
  gather_into_awaitable(const gather_into_awaitable&) = delete;
  gather_into_awaitable& operator=(const gather_into_awaitable&) = delete;

  bool await_ready() const noexcept { return tasks_.empty(); }

  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
    return detail::start_range(tasks_, join_, parent);
  }

  void await_resume() {
    detail::rethrow_first_error(tasks_);
    if constexpr (!std::is_void_v<T>) {
      for (std::size_t i = 0; i < tasks_.size(); ++i) results_[i] = tasks_[i].handle().promise().take();
    }
  }

 private:
  std::span<task<T>> tasks_;
  std::span<slot_t> results_;
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

namespace detail {
template <class T>
struct task_value;
template <class T>
struct task_value<task<T>> {
  using type = T;
};
template <class R>
using range_task_value_t = typename task_value<std::ranges::range_value_t<R>>::type;
}  // namespace detail

// Awaitable: runs the tasks of `tasks` (an array, vector or span of task<T>) concurrently,
// in the order and on the threads of gather, and moves each result into `results` (a
// contiguous range of T: results[i] from tasks[i]); allocates nothing. The tasks stay the
// caller's (finished; their frames are freed when they go). If any task threw, the first
// failure in order is rethrown once all have finished, and `results` is left untouched.
// Throws std::invalid_argument at the call if the sizes differ or a task is empty.
// Resumes on the thread that finished the last task. Both ranges must outlive the await.
template <std::ranges::contiguous_range Tasks, std::ranges::contiguous_range Results>
  requires std::ranges::sized_range<Tasks> && std::ranges::sized_range<Results> &&
           std::same_as<std::ranges::range_value_t<Results>, detail::range_task_value_t<Tasks>>
gather_into_awaitable<detail::range_task_value_t<Tasks>> gather_into(Tasks&& tasks, Results&& results) {
  using T = detail::range_task_value_t<Tasks>;
  static_assert(!std::is_reference_v<T>, "gather_into over task<T&> is not supported");
  return gather_into_awaitable<T>(std::span<task<T>>(std::ranges::data(tasks), std::ranges::size(tasks)),
                                  std::span<T>(std::ranges::data(results), std::ranges::size(results)));
}

// The same for task<void>: nothing to store.
template <std::ranges::contiguous_range Tasks>
  requires std::ranges::sized_range<Tasks> && std::same_as<std::ranges::range_value_t<Tasks>, task<void>>
gather_into_awaitable<void> gather_into(Tasks&& tasks) {
  return gather_into_awaitable<void>(std::span<task<void>>(std::ranges::data(tasks), std::ranges::size(tasks)), {});
}

}  // namespace coring
