#include <coring/coring.hpp>

coring::task<int> answer() {
  auto [a, b] = co_await coring::gather([]() -> coring::task<int> { co_return 40; }(),
                                        []() -> coring::task<int> { co_return 2; }());
  co_return a + b;
}

int main() { return coring::run(answer()) == 42 ? 0 : 1; }
