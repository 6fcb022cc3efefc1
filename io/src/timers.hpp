// timer_heap: the reactor's sleeping operations, nearest deadline first. Private to io/.
//
// A 4-ary min-heap of {deadline, op} (Go's timer heap has the same shape): four
// children per node halve the depth of a binary heap, and keeping the deadline beside
// the pointer lets a sift compare without touching the sleeping coroutines' frames —
// with a million sleepers those frames are cold. Each op remembers its index so a
// cancelled sleep is removed in O(log n). Owner thread only; no allocation per timer
// beyond the vector's amortised growth.
#pragma once

#include <coring/io/detail/op.hpp>

#include <cstdint>
#include <vector>

namespace coring::detail {

class timer_heap {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  // The nearest deadline; the heap must not be empty.
  std::int64_t next_deadline() const noexcept { return heap_.front().deadline; }

  // Grows the storage so that one more push cannot allocate; throws std::bad_alloc.
  void reserve_one() {
    if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.empty() ? 64 : 2 * heap_.capacity());
  }
  // Inserts `t`; allocates (and may throw std::bad_alloc) unless reserve_one() made room.
  void push(timer_op& t);
  // Removes `t` if it is in the heap; returns whether it was.
  bool remove(timer_op& t) noexcept;
  // Removes and returns the nearest timer if its deadline is <= now, else nullptr.
  timer_op* pop_due(std::int64_t now) noexcept;

 private:
  struct entry {
    std::int64_t deadline;
    timer_op* op;
  };
  static constexpr std::size_t arity = 4;

  void place(std::size_t i, entry e) noexcept {
    heap_[i] = e;
    e.op->heap_index = i;
  }
  void sift_up(std::size_t i, entry e) noexcept;
  void sift_down(std::size_t i, entry e) noexcept;
  void erase_at(std::size_t i) noexcept;

  std::vector<entry> heap_;
};

}  // namespace coring::detail
