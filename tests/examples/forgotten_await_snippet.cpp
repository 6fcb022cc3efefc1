// Compiled by tests/examples/check_nodiscard.cmake: calling a coroutine function and
// dropping its task must not compile under -Werror, because coring::task is
// [[nodiscard]] (the forgotten co_await of tools/examples/forgotten_await.cpp). With
// -DAWAITED the same code awaits the task and compiles cleanly, which shows that the
// failure comes from the warning and nothing else.
#include <coring/core/task.hpp>

coring::task<int> answer() { co_return 42; }

coring::task<void> caller() {
#ifdef AWAITED
  co_await answer();
#else
  answer();  // the forgotten co_await
#endif
}
