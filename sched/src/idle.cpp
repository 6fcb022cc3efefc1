#include "idle.hpp"

#include <coring/core/detail/fence.hpp>

#include <algorithm>

namespace coring::detail {

idle_set::idle_set(std::size_t workers)
    : workers_(static_cast<std::uint32_t>(workers)), state_(static_cast<std::uint32_t>(workers) << shift) {
  sleepers_.reserve(workers);
}

int idle_set::worker_to_notify() noexcept {
  // Pairs with the parker's seq_cst RMW in announce_park (see the file comment): the
  // caller's queue write cannot be reordered after this read.
  full_fence();  // seq_cst fence (coring/core/detail/fence.hpp)
  std::uint32_t s = state_.load(std::memory_order_seq_cst);
  if ((s & mask) != 0 || (s >> shift) >= workers_) return -1;
  std::lock_guard lock(mutex_);
  s = state_.load(std::memory_order_seq_cst);
  if ((s & mask) != 0 || sleepers_.empty()) return -1;
  const int w = sleepers_.back();
  sleepers_.pop_back();
  // One more unparked worker, which is a searcher until it finds work.
  state_.fetch_add(one_unparked + 1, std::memory_order_seq_cst);
  return w;
}

bool idle_set::try_begin_search() noexcept {
  // seq_cst keeps the searcher count in the single order the notify rule reasons about.
  std::uint32_t s = state_.load(std::memory_order_seq_cst);
  do {
    if (2 * (s & mask) >= workers_ && workers_ > 1) return false;
  } while (!state_.compare_exchange_weak(s, s + 1, std::memory_order_seq_cst));
  return true;
}

bool idle_set::end_search() noexcept {
  const std::uint32_t prev = state_.fetch_sub(1, std::memory_order_seq_cst);
  return (prev & mask) == 1;
}

void idle_set::announce_park(int worker, bool searching) noexcept {
  std::lock_guard lock(mutex_);
  state_.fetch_sub(one_unparked + (searching ? 1 : 0), std::memory_order_seq_cst);
  sleepers_.push_back(worker);
}

bool idle_set::cancel_park(int worker) noexcept {
  std::lock_guard lock(mutex_);
  auto it = std::find(sleepers_.begin(), sleepers_.end(), worker);
  if (it == sleepers_.end()) return false;
  sleepers_.erase(it);
  state_.fetch_add(one_unparked, std::memory_order_seq_cst);
  return true;
}

}  // namespace coring::detail
