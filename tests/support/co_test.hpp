// CO_TEST: a GoogleTest test whose body is a coroutine run on a fresh runtime.
//
//   CO_TEST(task, returns_value) { EXPECT_EQ(co_await f(), 1); }
//
// The body runs as coring::task<void> via runtime::block_on on a 2-worker runtime.
// Use EXPECT_* inside (ASSERT_* expands to `return`, which a coroutine cannot use);
// CO_ASSERT_TRUE ends the body with co_return instead.
#pragma once

#include <coring/coring.hpp>
#include <gtest/gtest.h>

namespace coring::testing {
inline runtime_options co_test_options(unsigned workers = 2) {
  runtime_options o;
  o.workers = workers;
  return o;
}
}  // namespace coring::testing

#define CO_TEST(suite, name)                                                    \
  static ::coring::task<void> suite##_##name##_body();                          \
  TEST(suite, name) {                                                           \
    ::coring::runtime rt(::coring::testing::co_test_options());                 \
    rt.block_on(suite##_##name##_body());                                       \
  }                                                                             \
  static ::coring::task<void> suite##_##name##_body()

#define CO_ASSERT_TRUE(cond)          \
  if (!(cond)) {                      \
    ADD_FAILURE() << "failed: " #cond; \
    co_return;                        \
  }
