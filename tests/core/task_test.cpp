// task<T> semantics: values, void, references, exceptions, move-only results, laziness,
// deep chains of co_await, user awaitables, cancellation checks.
#include "co_test.hpp"

#include <memory>
#include <stdexcept>
#include <string>

namespace {

coring::task<int> answer() { co_return 42; }
coring::task<void> nothing(int& touched) {
  touched = 1;
  co_return;
}
coring::task<int&> ref_to(int& x) { co_return x; }
coring::task<std::unique_ptr<std::string>> move_only() { co_return std::make_unique<std::string>("moved"); }
coring::task<int> thrower() {
  throw std::runtime_error("boom");
  co_return 0;
}
coring::task<int> add_one(coring::task<int> inner) { co_return co_await std::move(inner) + 1; }

// A chain of `depth` nested co_awaits: each level awaits the next.
coring::task<std::uint64_t> chain(std::uint64_t depth) {
  if (depth == 0) co_return 0;
  co_return co_await chain(depth - 1) + 1;
}

// asyncio's `Wait` with __await__: a plain awaitable class.
struct ready_later {
  int value;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<>) const noexcept { return false; }  // do not actually suspend
  int await_resume() const noexcept { return value; }
};
struct with_operator {
  int value;
  ready_later operator co_await() const noexcept { return {value}; }
};

}  // namespace

CO_TEST(task, returns_value) { EXPECT_EQ(co_await answer(), 42); }

CO_TEST(task, void_task_runs_body) {
  int touched = 0;
  co_await nothing(touched);
  EXPECT_EQ(touched, 1);
}

CO_TEST(task, returns_reference) {
  int x = 5;
  int& r = co_await ref_to(x);
  r = 7;
  EXPECT_EQ(x, 7);
  EXPECT_EQ(&r, &x);
}

CO_TEST(task, returns_move_only) {
  auto p = co_await move_only();
  EXPECT_TRUE(p != nullptr);
  if (p) {
    EXPECT_EQ(*p, "moved");
  }
}

CO_TEST(task, exception_propagates_to_awaiter) {
  bool caught = false;
  try {
    (void)co_await thrower();
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "boom";
  }
  EXPECT_TRUE(caught);
}

CO_TEST(task, exception_passes_through_levels) {
  bool caught = false;
  try {
    (void)co_await add_one(add_one(thrower()));
  } catch (const std::runtime_error&) {
    caught = true;
  }
  EXPECT_TRUE(caught);
}

CO_TEST(task, deep_chain_does_not_overflow_stack) {
  // 1,000,000 nested co_awaits: symmetric transfer keeps the stack flat.
  EXPECT_EQ(co_await chain(1'000'000), 1'000'000u);
}

// A loop of co_awaits on tasks that finish without suspending (issue 11: without tail
// calls, g++ -O0 or ASan, every iteration left frames on the stack until it overflowed).
CO_TEST(task, loop_of_synchronous_awaits_does_not_grow_the_stack) {
  std::uint64_t sum = 0;
  for (int i = 0; i < 1'000'000; ++i) sum += co_await chain(0) + 1;
  EXPECT_EQ(sum, 1'000'000u);
}

CO_TEST(task, user_awaitables_work) {
  EXPECT_EQ(co_await ready_later{3}, 3);
  EXPECT_EQ(co_await with_operator{4}, 4);
  ready_later lvalue{5};
  EXPECT_EQ(co_await lvalue, 5);
}

CO_TEST(task, awaiting_lvalue_task) {
  auto t = answer();
  EXPECT_FALSE(t.done());
  EXPECT_EQ(co_await t, 42);
  EXPECT_TRUE(t.done());
}

TEST(task, is_lazy_and_never_runs_if_dropped) {
  int touched = 0;
  {
    auto t = nothing(touched);
    EXPECT_FALSE(t.done());
  }
  EXPECT_EQ(touched, 0);
}

TEST(task, move_transfers_ownership) {
  auto a = answer();
  auto b = std::move(a);
  EXPECT_FALSE(static_cast<bool>(a));
  EXPECT_TRUE(static_cast<bool>(b));
  coring::runtime rt(coring::testing::co_test_options());
  EXPECT_EQ(rt.block_on(std::move(b)), 42);
}

TEST(task, awaiting_empty_task_throws_logic_error) {
  coring::runtime rt(coring::testing::co_test_options());
  auto body = []() -> coring::task<int> {
    coring::task<int> empty;
    co_return co_await std::move(empty);
  };
  EXPECT_THROW(rt.block_on(body()), std::logic_error);
}
