// The outcome of calling f(args...) on another thread: its value, a reference, nothing
// (void), or the exception it threw. Shared by blocking() and compute(), whose calls run
// on pool threads and hand their outcome back to the awaiting coroutine.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace coring::detail {

template <class R>
class call_result {
 public:
  // Calls std::apply(f, args) and keeps what it returns or throws. Never throws.
  template <class F, class Tuple>
  void run(F&& f, Tuple&& args) noexcept {
    try {
      if constexpr (std::is_void_v<R>) {
        std::apply(std::forward<F>(f), std::forward<Tuple>(args));
        value_.emplace(true);
      } else if constexpr (std::is_reference_v<R>) {
        value_.emplace(std::addressof(std::apply(std::forward<F>(f), std::forward<Tuple>(args))));
      } else {
        value_.emplace(std::apply(std::forward<F>(f), std::forward<Tuple>(args)));
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  // The outcome, moved out; rethrows the call's exception.
  R take() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (std::is_reference_v<R>) {
      return static_cast<R>(**value_);
    } else {
      return std::move(*value_);
    }
  }

 private:
  using stored = std::conditional_t<std::is_void_v<R>, bool,
                                    std::conditional_t<std::is_reference_v<R>, std::remove_reference_t<R>*, R>>;
  std::optional<stored> value_;
  std::exception_ptr error_;
};

}  // namespace coring::detail
