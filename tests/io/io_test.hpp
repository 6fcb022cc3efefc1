// IO_TEST: a GoogleTest test whose body is a coroutine run on a fresh io_context (the
// single-threaded loop), skipped with the kernel's reason when io_uring is refused.
//
//   IO_TEST(sleep, wakes_up) { co_await coring::sleep(1ms); }
//
// Bodies use only the public awaitables, so they can also run under coring::run once
// sched workers own reactors. Use EXPECT_* inside (ASSERT_* cannot `return` from a
// coroutine); CO_ASSERT_TRUE from co_test.hpp ends the body instead.
#pragma once

#include <coring/core/gather.hpp>
#include <coring/core/task.hpp>
#include <coring/core/when_any.hpp>
#include <coring/io/io_context.hpp>
#include <gtest/gtest.h>

#include <memory>

namespace coring::testing {
// The io_context for a test, or nullptr with the reason when io_uring is unavailable.
inline std::unique_ptr<io_context> make_io_context(std::string& why) {
  try {
    return std::make_unique<io_context>();
  } catch (const io_uring_unavailable& e) {
    why = e.what();
    return nullptr;
  }
}
}  // namespace coring::testing

#define IO_TEST(suite, name)                                                       \
  static ::coring::task<void> suite##_##name##_io_body();                          \
  TEST(suite, name) {                                                              \
    std::string why;                                                               \
    auto ctx = ::coring::testing::make_io_context(why);                            \
    if (!ctx) GTEST_SKIP() << why;                                                 \
    ctx->run(suite##_##name##_io_body());                                          \
  }                                                                                \
  static ::coring::task<void> suite##_##name##_io_body()

#ifndef CO_ASSERT_TRUE
#define CO_ASSERT_TRUE(cond)           \
  if (!(cond)) {                       \
    ADD_FAILURE() << "failed: " #cond; \
    co_return;                         \
  }
#endif
