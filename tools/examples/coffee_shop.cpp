// The coffee shop: three orders, each takes 2 s to make. Awaited one after another they
// would take 6 s; with gather (asyncio.gather) the baristas work at once and all three
// are ready after about 2 s.
//
//   async def make(order):                   coring::task<std::string> make(std::string order) {
//       print(f"making {order}")               std::printf("making %s\n", ...);
//       await asyncio.sleep(2)                 co_await coring::sleep(2s);
//       return f"{order} ready"                co_return order + " ready";
//                                            }
//   await asyncio.gather(make("latte"), ...) co_await coring::gather(make("latte"), ...);
#include "tutorial.hpp"

#include <coring/coring.hpp>

#include <cstdio>
#include <string>

namespace {

coring::task<std::string> make(std::string order, std::chrono::milliseconds second) {
  std::printf("making %s\n", order.c_str());
  co_await coring::sleep(2 * second);
  std::printf("%s ready\n", order.c_str());
  co_return order;
}

coring::task<void> main_task(std::chrono::milliseconds second) {
  const auto start = std::chrono::steady_clock::now();
  auto [a, b, c] = co_await coring::gather(make("latte", second), make("espresso", second),
                                           make("cappuccino", second));
  const double took = coring::examples::in_seconds(std::chrono::steady_clock::now() - start, second);
  std::printf("served %s, %s and %s after %.1f s (one after another: 6 s)\n", a.c_str(), b.c_str(), c.c_str(), took);
}

}  // namespace

int main(int argc, char** argv) { coring::run(main_task(coring::examples::tutorial_second(argc, argv))); }
