// stream_socket::receive: bytes in a buffer the kernel picks from the ring's receive pool
// when they arrive; fallback to a buffer of its own when the pool is empty or absent;
// buffers go back to the pool; cancellation; buffered_reader on top of it.
#include "io_test.hpp"

#include <coring/core/channel.hpp>
#include <coring/io/buffered_reader.hpp>
#include <coring/io/net.hpp>
#include <coring/io/timer.hpp>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string text(const coring::received& r) {
  return std::string(reinterpret_cast<const char*>(r.data().data()), r.size());
}

// Runs `body` on an io_context built with `options`, skipping when io_uring is refused.
template <class Body>
void run_with(const coring::reactor_options& options, Body body) {
  std::unique_ptr<coring::io_context> ctx;
  try {
    ctx = std::make_unique<coring::io_context>(options);
  } catch (const coring::io_uring_unavailable& e) {
    GTEST_SKIP() << e.what();
  }
  ctx->run(body());
}

}  // namespace

IO_TEST(receive, reads_in_place_from_the_pool) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.write_all(bytes("hello"));
  coring::received r = co_await b.receive();
  EXPECT_EQ(text(r), "hello");
  EXPECT_TRUE(r.pooled()) << "the default ring has a receive pool";
}

IO_TEST(receive, end_of_stream_is_empty) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.close();
  coring::received r = co_await b.receive();
  EXPECT_TRUE(r.empty());
  // The pool buffer an empty receive may have taken went back: the next ones still work.
  auto [c, d] = coring::unix_stream::pair();
  for (int i = 0; i < 600; ++i) {  // more rounds than the pool has buffers
    co_await c.write_all(bytes("x"));
    coring::received again = co_await d.receive();
    EXPECT_EQ(text(again), "x");
  }
}

TEST(receive, buffers_go_back_to_a_small_pool) {
  run_with({.recv_buffers = 2}, []() -> coring::task<void> {
    auto [a, b] = coring::unix_stream::pair();
    for (int i = 0; i < 1000; ++i) {
      const std::string msg = "message " + std::to_string(i);
      co_await a.write_all(bytes(msg));
      coring::received r = co_await b.receive();
      EXPECT_EQ(text(r), msg);
      EXPECT_TRUE(r.pooled()) << "round " << i << ": a buffer was not given back";
    }
  });
}

TEST(receive, an_empty_pool_loses_no_data) {
  run_with({.recv_buffers = 2}, []() -> coring::task<void> {
    std::vector<std::pair<coring::unix_stream, coring::unix_stream>> pairs;
    for (int i = 0; i < 4; ++i) pairs.push_back(coring::unix_stream::pair());
    std::vector<coring::received> held;
    for (int i = 0; i < 4; ++i) {
      const std::string msg = "conn " + std::to_string(i);
      co_await pairs[i].first.write_all(bytes(msg));
      held.push_back(co_await pairs[i].second.receive());
      EXPECT_EQ(text(held.back()), msg);
    }
    // Two came from the pool; the pool was then empty, and the others used their own.
    EXPECT_TRUE(held[0].pooled());
    EXPECT_TRUE(held[1].pooled());
    EXPECT_FALSE(held[2].pooled());
    EXPECT_FALSE(held[3].pooled());
    held.clear();
    co_await pairs[0].first.write_all(bytes("after"));
    coring::received r = co_await pairs[0].second.receive();
    EXPECT_EQ(text(r), "after");
    EXPECT_TRUE(r.pooled());
  });
}

TEST(receive, works_without_a_pool) {
  run_with({.recv_buffers = 0}, []() -> coring::task<void> {
    auto [a, b] = coring::unix_stream::pair();
    co_await a.write_all(bytes("no pool"));
    coring::received r = co_await b.receive();
    EXPECT_EQ(text(r), "no pool");
    EXPECT_FALSE(r.pooled());
  });
}

TEST(receive, a_waiting_receive_holds_no_pool_buffer) {
  // One buffer in the pool and 8 receives waiting on quiet sockets: data arrives on each
  // in turn (after the previous receiver gave the buffer back), and every one is served
  // from that single buffer.
  run_with({.recv_buffers = 1}, []() -> coring::task<void> {
    std::vector<std::pair<coring::unix_stream, coring::unix_stream>> pairs;
    for (int i = 0; i < 8; ++i) pairs.push_back(coring::unix_stream::pair());
    coring::channel<int> given_back(8);
    int pooled = 0;
    auto wait_one = [&](int i) -> coring::task<std::string> {
      coring::received r = co_await pairs[i].second.receive();
      pooled += r.pooled();
      std::string got = text(r);
      r.reset();
      co_await given_back.send(i);
      co_return got;
    };
    std::vector<coring::task<std::string>> waits;
    for (int i = 0; i < 8; ++i) waits.push_back(wait_one(i));
    auto writer = [&]() -> coring::task<void> {
      for (int i = 0; i < 8; ++i) {
        co_await pairs[i].first.write_all(bytes("to " + std::to_string(i)));
        EXPECT_EQ(co_await given_back.recv(), i);
      }
    };
    auto readers = [&]() -> coring::task<std::vector<std::string>> { co_return co_await coring::gather(std::move(waits)); };
    auto results = co_await coring::gather(readers(), writer());
    const auto& got = std::get<0>(results);
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], "to " + std::to_string(i));
    EXPECT_EQ(pooled, 8);
  });
}

IO_TEST(receive, timeout_cancels_and_keeps_the_pool_whole) {
  auto [a, b] = coring::unix_stream::pair();
  bool timed_out = false;
  try {
    (void)co_await coring::timeout(5ms, b.receive());
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  co_await a.write_all(bytes("later"));
  coring::received r = co_await b.receive();
  EXPECT_EQ(text(r), "later");
  EXPECT_TRUE(r.pooled());
}

IO_TEST(receive, buffered_reader_joins_a_line_split_across_receives) {
  auto [a, b] = coring::unix_stream::pair();
  coring::buffered_reader in(b);
  co_await a.write_all(bytes("first\nsec"));
  EXPECT_EQ(co_await in.read_line(100), "first\n");
  EXPECT_EQ(in.buffered(), 3u);  // "sec", still in the pool buffer
  co_await a.write_all(bytes("ond\nthird\n"));
  EXPECT_EQ(co_await in.read_line(100), "second\n");
  EXPECT_EQ(co_await in.read_line(100), "third\n");
  EXPECT_EQ(in.buffered(), 0u);
  co_await a.write_all(bytes("fourth\n"));
  EXPECT_EQ(co_await in.read_line(100), "fourth\n");
}
