// asyncio's first example, in C++:
//
//   async def main():                      coring::task<void> main_task() {
//       print("Hello ...")                   std::puts("Hello ...");
//       await asyncio.sleep(1)               co_await coring::sleep(1s);
//       print("... World!")                  std::puts("... World!");
//   asyncio.run(main())                    }  ... coring::run(main_task());
//
// The sleep suspends the task, not the thread: the worker is free meanwhile.
#include "tutorial.hpp"

#include <coring/coring.hpp>

#include <cstdio>

namespace {

coring::task<void> main_task(std::chrono::milliseconds second) {
  std::puts("Hello ...");
  co_await coring::sleep(second);
  std::puts("... World!");
}

}  // namespace

int main(int argc, char** argv) { coring::run(main_task(coring::examples::tutorial_second(argc, argv))); }
