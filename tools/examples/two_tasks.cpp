// Two tasks that run concurrently (asyncio.create_task): the first waits 2 s, the
// second 1 s, so the second finishes first, and the whole takes 2 s, not 3.
//
//   async def say_after(delay, what):        coring::task<void> say_after(seconds delay, std::string what) {
//       await asyncio.sleep(delay)             co_await coring::sleep(delay);
//       print(what)                            std::puts(what.c_str());
//                                            }
//   t1 = asyncio.create_task(say_after(2,..))  auto t1 = coring::spawn(say_after(2s, ...));
//   t2 = asyncio.create_task(say_after(1,..))  auto t2 = coring::spawn(say_after(1s, ...));
//   await t1; await t2                          co_await t1; co_await t2;
#include "tutorial.hpp"

#include <coring/coring.hpp>

#include <cstdio>
#include <string>

namespace {

coring::task<void> say_after(std::chrono::milliseconds delay, std::string what) {
  co_await coring::sleep(delay);
  std::printf("%s\n", what.c_str());
  std::fflush(stdout);  // two workers print: keep each line whole and in order
}

coring::task<void> main_task(std::chrono::milliseconds second) {
  const auto start = std::chrono::steady_clock::now();
  std::puts("started both tasks");
  auto task1 = coring::spawn(say_after(2 * second, "task 1 done (waited 2 s)"));
  auto task2 = coring::spawn(say_after(1 * second, "task 2 done (waited 1 s)"));
  co_await task1;  // task 2 finishes while we wait for task 1
  co_await task2;
  std::printf("finished after %.1f s\n",
              coring::examples::in_seconds(std::chrono::steady_clock::now() - start, second));
}

}  // namespace

int main(int argc, char** argv) { coring::run(main_task(coring::examples::tutorial_second(argc, argv))); }
