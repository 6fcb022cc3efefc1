// Out of memory on the way into a sleep reaches the sleeper as std::bad_alloc instead of
// terminating the process inside a noexcept reactor path (shared/repro/noexcept_oom.cpp),
// and leaves the reactor usable. This binary replaces the global operator new so that
// one chosen allocation fails. Sanitizer runtimes define operator new themselves (clang
// links them statically, so a second definition does not link), so under tsan/asan the
// replacement is left out and the test reports itself skipped.
#include "io_test.hpp"
#include "../support/sanitizers.hpp"

#include <coring/io/timer.hpp>

#include <chrono>
#include <cstdlib>
#include <new>

#ifndef CORING_SANITIZED
namespace {
bool fail_next_allocation = false;
}

void* operator new(std::size_t n) {
  if (fail_next_allocation) {
    fail_next_allocation = false;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

IO_TEST(timer_oom, a_sleep_whose_timer_cannot_be_stored_throws_bad_alloc) {
  bool caught = false;
  try {
    fail_next_allocation = true;  // the timer heap's first growth
    co_await coring::sleep(std::chrono::milliseconds(1));
  } catch (const std::bad_alloc&) {
    caught = true;
  }
  fail_next_allocation = false;
  EXPECT_TRUE(caught);
  // Nothing was left armed or attached: the next sleep works.
  co_await coring::sleep(std::chrono::milliseconds(1));
}
#else
TEST(timer_oom, a_sleep_whose_timer_cannot_be_stored_throws_bad_alloc) {
  GTEST_SKIP() << "needs a replaced global operator new, which the sanitizer runtime owns";
}
#endif
