// Helpers shared by the sync tests (not a test binary: no _test suffix).
#pragma once

#include "co_test.hpp"

#include <coring/core/sync.hpp>

#include <atomic>
#include <chrono>
#include <functional>

namespace coring::testing {

// Yields until `done()` holds or `limit` passes; returns whether it held. Polls instead
// of sleeping a fixed time, so the tests are fast when things work and bounded when not.
inline task<bool> eventually(std::function<bool()> done, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await yield();
  }
  co_return true;
}

// Raises `max` to at least `value`.
inline void raise_max(std::atomic<int>& max, int value) {
  int seen = max.load(std::memory_order_relaxed);
  while (value > seen && !max.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

// Awaits `h` and reports whether it ended with coring::cancelled.
template <class T>
task<bool> ended_cancelled(join_handle<T> h) {
  try {
    co_await std::move(h);
  } catch (const cancelled&) {
    co_return true;
  }
  co_return false;
}

}  // namespace coring::testing
