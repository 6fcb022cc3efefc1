// Cancellation requests and the exception a cancelled task sees.
#pragma once

#include <atomic>
#include <exception>

namespace coring {

// Thrown inside a task at its next suspension point after its cancellation was requested
// (join_handle::cancel(), a losing when_any branch, runtime shutdown).
class cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "coring::cancelled: the task was cancelled"; }
};

namespace detail {

// A cancellation flag shared by a task and everything it awaits. Sources form a chain:
// a task spawned on a runtime has the runtime's shutdown source as parent, a when_any
// branch has its awaiting task's source as parent; a request anywhere up the chain
// cancels everything below it.
//
// All accesses are relaxed: a request publishes no data, it only has to be seen
// eventually, and the task it targets reacts by throwing, not by reading anything the
// requester wrote.
class cancel_source {
 public:
  explicit cancel_source(const cancel_source* parent = nullptr) noexcept : parent_(parent) {}

  void request() noexcept { requested_.store(true, std::memory_order_relaxed); }

  bool requested() const noexcept {
    for (const cancel_source* s = this; s != nullptr; s = s->parent_) {
      if (s->requested_.load(std::memory_order_relaxed)) return true;
    }
    return false;
  }

  const cancel_source* parent() const noexcept { return parent_; }
  void set_parent(const cancel_source* parent) noexcept { parent_ = parent; }

 private:
  std::atomic<bool> requested_{false};
  const cancel_source* parent_;
};

}  // namespace detail
}  // namespace coring
