// A class whose objects can be awaited: asyncio's `__await__`, as an awaiter in C++.
//
//   class Wait:                                 class wait {
//       def __init__(self, seconds):              explicit wait(seconds s);
//           self.seconds = seconds                auto operator co_await() const;  // __await__
//       def __await__(self):                    };
//           yield from asyncio.sleep(             // await_ready / await_suspend: the sleep
//               self.seconds).__await__()         // await_resume: what `co_await` yields
//           return f"waited {self.seconds} s"
//
//   print(await Wait(1))                        std::puts((co_await wait(1s)).c_str());
//
// An awaiter has three members: await_ready (can the result be had without suspending?),
// await_suspend (called once the coroutine is suspended: start the work that will
// resume it) and await_resume (the value of the co_await expression). `wait` delegates
// the suspension to coring::sleep, as Wait delegates to asyncio.sleep with `yield from`,
// and adds its own result. `ready_value` never suspends at all.
#include "tutorial.hpp"

#include <coring/coring.hpp>

#include <cstdio>
#include <string>

namespace {

class wait {
 public:
  wait(std::chrono::milliseconds duration, double seconds) : duration_(duration), seconds_(seconds) {}

  class awaiter {
   public:
    awaiter(std::chrono::milliseconds duration, double seconds) : sleep_(coring::sleep(duration)), seconds_(seconds) {}
    bool await_ready() const noexcept { return sleep_.await_ready(); }
    // Suspends the way the inner sleep does: the reactor's timer resumes the coroutine.
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      return sleep_.await_suspend(h);
    }
    std::string await_resume() {
      sleep_.await_resume();  // rethrows coring::cancelled if the sleep was cancelled
      char text[64];
      std::snprintf(text, sizeof text, "waited %.1f s", seconds_);
      return text;
    }

   private:
    coring::sleep_awaiter sleep_;
    double seconds_;
  };

  // Called by `co_await wait(...)`: the awaiter does the work.
  awaiter operator co_await() const { return awaiter(duration_, seconds_); }

 private:
  std::chrono::milliseconds duration_;
  double seconds_;
};

// The simplest awaiter: the value is there already, so the coroutine never suspends.
struct ready_value {
  int value;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  int await_resume() const noexcept { return value; }
};

coring::task<void> main_task(std::chrono::milliseconds second) {
  std::printf("%s\n", (co_await wait(second, 1.0)).c_str());
  // Awaitables compose like tasks: two waits at once take as long as the longer.
  const auto start = std::chrono::steady_clock::now();
  auto [a, b] = co_await coring::gather(
      [](std::chrono::milliseconds d) -> coring::task<std::string> { co_return co_await wait(d, 1.0); }(second),
      [](std::chrono::milliseconds d) -> coring::task<std::string> { co_return co_await wait(d / 2, 0.5); }(second));
  std::printf("%s and %s, together in %.1f s\n", a.c_str(), b.c_str(),
              coring::examples::in_seconds(std::chrono::steady_clock::now() - start, second));
  std::printf("ready at once: %d\n", co_await ready_value{42});
}

}  // namespace

int main(int argc, char** argv) { coring::run(main_task(coring::examples::tutorial_second(argc, argv))); }
