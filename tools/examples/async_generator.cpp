// Async generators (asyncio's `async def ... yield` and `async for`): a countdown that
// sleeps between values, and the lines of a connection read with coring::lines().
//
//   async def countdown(n):                    coring::generator<int> countdown(int n) {
//       while n > 0:                             for (; n > 0; --n) {
//           await asyncio.sleep(1)                 co_await coring::sleep(1s);
//           yield n                                co_yield n;
//           n -= 1                               }
//                                              }
//   async for v in countdown(3):               auto g = countdown(3);
//       print(v)                               while (auto v = co_await g.next()) print(*v);
//
// The second half serves three lines on a loopback connection, one every half second, and
// reads them back line by line as they arrive.
#include "tutorial.hpp"

#include <coring/coring.hpp>

#include <cstdio>
#include <string>

namespace {

coring::generator<int> countdown(int n, std::chrono::milliseconds second) {
  for (; n > 0; --n) {
    co_await coring::sleep(second);
    co_yield n;
  }
}

// The server side: three lines, the last one ending in "\r\n" as a network peer may send.
coring::task<void> serve_lines(coring::tcp_listener& listener, std::chrono::milliseconds second) {
  coring::tcp_stream conn = co_await listener.accept();
  for (const char* line : {"first line\n", "second line\n", "last line\r\n"}) {
    co_await coring::sleep(second / 2);
    co_await conn.write_all(std::string_view(line));
  }
  co_await conn.shutdown();  // the reader's generator ends
}

coring::task<void> read_lines(std::uint16_t port, std::chrono::milliseconds second) {
  const auto start = std::chrono::steady_clock::now();
  coring::tcp_stream conn = co_await coring::tcp_stream::connect("127.0.0.1", port);
  coring::buffered_reader in(conn);
  auto lines = coring::lines(in);  // each line without its '\n' (a '\r' before it stays)
  while (std::optional<std::string> line = co_await lines.next()) {
    if (!line->empty() && line->back() == '\r') line->pop_back();
    std::printf("got \"%s\" at %.1f s\n", line->c_str(),
                coring::examples::in_seconds(std::chrono::steady_clock::now() - start, second));
  }
  std::puts("end of the connection");
}

coring::task<void> main_task(std::chrono::milliseconds second) {
  const auto start = std::chrono::steady_clock::now();
  auto g = countdown(3, second);
  while (std::optional<int> v = co_await g.next()) std::printf("%d\n", *v);
  std::printf("liftoff after %.1f s\n", coring::examples::in_seconds(std::chrono::steady_clock::now() - start, second));
  std::fflush(stdout);

  auto listener = coring::tcp_listener::bind("127.0.0.1", 0);
  const std::uint16_t port = listener.local_endpoint().port();
  co_await coring::gather(serve_lines(listener, second), read_lines(port, second));
}

}  // namespace

int main(int argc, char** argv) { coring::run(main_task(coring::examples::tutorial_second(argc, argv))); }
