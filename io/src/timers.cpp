#include "timers.hpp"

namespace coring::detail {

void timer_heap::sift_up(std::size_t i, entry e) noexcept {
  // Hole-based: parents move down into the hole, `e` is written once at the end.
  while (i > 0) {
    const std::size_t parent = (i - 1) / arity;
    if (heap_[parent].deadline <= e.deadline) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void timer_heap::sift_down(std::size_t i, entry e) noexcept {
  const std::size_t n = heap_.size();
  for (;;) {
    const std::size_t first = i * arity + 1;
    if (first >= n) break;
    const std::size_t last = first + arity < n ? first + arity : n;
    std::size_t best = first;
    for (std::size_t c = first + 1; c < last; ++c) {
      if (heap_[c].deadline < heap_[best].deadline) best = c;
    }
    if (e.deadline <= heap_[best].deadline) break;
    place(i, heap_[best]);
    i = best;
  }
  place(i, e);
}

void timer_heap::push(timer_op& t) {
  heap_.push_back(entry{t.deadline, &t});
  sift_up(heap_.size() - 1, heap_.back());
}

void timer_heap::erase_at(std::size_t i) noexcept {
  heap_[i].op->heap_index = ~std::size_t{0};
  const entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;  // it was the last one
  // The moved element may belong above or below the hole.
  if (i > 0 && last.deadline < heap_[(i - 1) / arity].deadline) {
    sift_up(i, last);
  } else {
    sift_down(i, last);
  }
}

bool timer_heap::remove(timer_op& t) noexcept {
  const std::size_t i = t.heap_index;
  if (i >= heap_.size() || heap_[i].op != &t) return false;
  erase_at(i);
  return true;
}

timer_op* timer_heap::pop_due(std::int64_t now) noexcept {
  if (heap_.empty() || heap_.front().deadline > now) return nullptr;
  timer_op* t = heap_.front().op;
  erase_at(0);
  return t;
}

}  // namespace coring::detail
