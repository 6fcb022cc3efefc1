// The forgotten await. In asyncio, calling a coroutine function without `await` creates
// a coroutine object that never runs ("RuntimeWarning: coroutine 'greet' was never
// awaited"). coring's tasks are lazy too: calling greet() allocates its frame and
// returns a task; the body runs only when the task is awaited, spawned or gathered, and
// a task destroyed unawaited never runs at all.
//
// The compiler catches the usual form of the mistake: `task` is [[nodiscard]], so
//
//   greet("never");        // warning: ignoring return value ... declared with attribute 'nodiscard'
//
// warns, and with -Werror (as coring builds) does not compile. tests/examples compiles
// exactly that line to prove it. Below, the task is kept in a variable instead (no
// warning) and dropped, to show at run time that its body does not run.
#include <coring/coring.hpp>

#include <cstdio>
#include <string>

namespace {

coring::task<void> greet(std::string who) {
  std::printf("hello, %s\n", who.c_str());
  co_return;
}

coring::task<void> main_task() {
  std::puts("calling greet(\"forgotten\") without co_await ...");
  {
    auto forgotten = greet("forgotten");  // the frame exists, the body has not started
  }  // ... and the task is destroyed here without ever running
  std::puts("... printed nothing: the task never ran");
  co_await greet("awaited");
}

}  // namespace

int main() { coring::run(main_task()); }
