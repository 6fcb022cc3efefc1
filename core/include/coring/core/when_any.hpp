// when_any: run several tasks concurrently and yield the first to finish
// (asyncio.wait(..., return_when=FIRST_COMPLETED), made structured).
//
//   auto first = co_await coring::when_any(fetch(a), fetch(b));  // std::variant
//   // first.index() is the winner, std::get<I>(first) its value
//
// All tasks start as in gather. The first to finish, with a value or an exception, wins;
// the others get a cancellation request, which they observe at their next suspension
// point (coring::cancelled). The awaiting coroutine resumes once every child has
// finished, so nothing outlives the co_await; losers' results are discarded. If the
// winner threw, its exception is rethrown. Resumes on the thread that finished the last
// child.
#pragma once

#include <coring/core/gather.hpp>

#include <limits>
#include <memory>

namespace coring {

namespace detail {

// The join point of a when_any: records the first arrival and cancels the others.
struct any_join : join_point {
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
  // acq_rel on the CAS orders the winner's choice before its cancellation requests; the
  // reader (the resumed parent) is ordered after every arrival by join_point's acq_rel.
  std::atomic<std::uint32_t> winner{none};
  cancel_source* sources = nullptr;
  std::size_t count = 0;

  any_join() noexcept {
    on_arrive = [](join_point& base, promise_base& child) noexcept {
      auto& self = static_cast<any_join&>(base);
      std::uint32_t expected = none;
      if (self.winner.compare_exchange_strong(expected, child.join_index(), std::memory_order_acq_rel)) {
        for (std::size_t i = 0; i < self.count; ++i) {
          if (i != child.join_index()) self.sources[i].request();
        }
      }
    };
  }
};

}  // namespace detail

template <class... Ts>
class [[nodiscard]] when_any_awaitable {
  static_assert(sizeof...(Ts) > 0, "when_any needs at least one task");

 public:
  explicit when_any_awaitable(task<Ts>... tasks) : tasks_(std::move(tasks)...) {}
  when_any_awaitable(const when_any_awaitable&) = delete;
  when_any_awaitable& operator=(const when_any_awaitable&) = delete;

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
    join_.remaining.store(sizeof...(Ts), std::memory_order_relaxed);
    join_.parent = parent;
    join_.sources = sources_.data();
    join_.count = sources_.size();
    const detail::cancel_source* outer = detail::cancellation_of(parent);
    std::array<std::coroutine_handle<>, sizeof...(Ts)> children;
    std::uint32_t i = 0;
    std::apply(
        [&](auto&... t) {
          ((sources_[i].set_parent(outer), t.handle().promise().set_join(&join_, i),
            t.handle().promise().set_cancellation(&sources_[i]), children[i] = t.handle(), ++i),
           ...);
        },
        tasks_);
    return detail::start_children(children.data(), children.size());
  }

  std::variant<detail::result_t<Ts>...> await_resume() {
    return pick<0>(join_.winner.load(std::memory_order_relaxed));
  }

 private:
  template <std::size_t I>
  std::variant<detail::result_t<Ts>...> pick(std::uint32_t winner) {
    if constexpr (I < sizeof...(Ts)) {
      if (winner == I) {
        return std::variant<detail::result_t<Ts>...>(std::in_place_index<I>, detail::take_result(std::get<I>(tasks_)));
      }
      return pick<I + 1>(winner);
    } else {
      std::terminate();  // unreachable: some child always arrives first
    }
  }

  std::tuple<task<Ts>...> tasks_;
  std::array<detail::cancel_source, sizeof...(Ts)> sources_;
  detail::any_join join_;
};

template <class T>
class [[nodiscard]] when_any_range_awaitable {
 public:
  explicit when_any_range_awaitable(std::vector<task<T>> tasks)
      : tasks_(std::move(tasks)), sources_(std::make_unique<detail::cancel_source[]>(tasks_.size())) {
    if (tasks_.empty()) throw std::invalid_argument("coring::when_any: the vector of tasks is empty");
  }
  when_any_range_awaitable(const when_any_range_awaitable&) = delete;
  when_any_range_awaitable& operator=(const when_any_range_awaitable&) = delete;

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) {
    join_.remaining.store(tasks_.size(), std::memory_order_relaxed);
    join_.parent = parent;
    join_.sources = sources_.get();
    join_.count = tasks_.size();
    const detail::cancel_source* outer = detail::cancellation_of(parent);
    std::vector<std::coroutine_handle<>> children;
    children.reserve(tasks_.size());
    for (std::uint32_t i = 0; i < tasks_.size(); ++i) {
      sources_[i].set_parent(outer);
      tasks_[i].handle().promise().set_join(&join_, i);
      tasks_[i].handle().promise().set_cancellation(&sources_[i]);
      children.push_back(tasks_[i].handle());
    }
    return detail::start_children(children.data(), children.size());
  }

  // {index of the winner, its result} (just the index for task<void>).
  auto await_resume() {
    const std::uint32_t winner = join_.winner.load(std::memory_order_relaxed);
    if constexpr (std::is_void_v<T>) {
      tasks_[winner].handle().promise().take();
      return std::size_t{winner};
    } else {
      return std::pair<std::size_t, T>(winner, tasks_[winner].handle().promise().take());
    }
  }

 private:
  std::vector<task<T>> tasks_;
  std::unique_ptr<detail::cancel_source[]> sources_;
  detail::any_join join_;
};

// Awaitable: yields std::variant whose index() is the first task to finish and whose
// alternative holds its value (std::monostate for task<void>).
template <class... Ts>
when_any_awaitable<Ts...> when_any(task<Ts>... tasks) {
  return when_any_awaitable<Ts...>(std::move(tasks)...);
}

// Awaitable: yields {index, value} of the first task to finish (just the index for
// task<void>). Throws std::invalid_argument for an empty vector.
template <class T>
when_any_range_awaitable<T> when_any(std::vector<task<T>> tasks) {
  return when_any_range_awaitable<T>(std::move(tasks));
}

}  // namespace coring
