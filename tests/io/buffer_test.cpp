// Buffers as users have them (char arrays, strings, vectors, string_view) and whole
// transfers (write_all / read_exact as one resubmitting awaiter): the README's echo
// server with a std::array<char, 4096> under an echo load, short transfers, errors,
// end of stream, and cancellation in the middle of a transfer.
#include "io_test.hpp"
#include "sanitizers.hpp"

#include <coring/io/buffer.hpp>
#include <coring/io/file.hpp>
#include <coring/io/net.hpp>
#include <coring/io/timer.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

namespace {

// What converts, and what must not.
static_assert(std::is_convertible_v<std::array<char, 16>&, coring::mutable_buffer>);
static_assert(std::is_convertible_v<std::vector<unsigned char>&, coring::mutable_buffer>);
static_assert(std::is_convertible_v<std::string&, coring::mutable_buffer>);
static_assert(std::is_convertible_v<char (&)[16], coring::mutable_buffer>);
static_assert(std::is_convertible_v<std::span<std::byte>, coring::mutable_buffer>);
static_assert(!std::is_convertible_v<const std::string&, coring::mutable_buffer>);
static_assert(!std::is_convertible_v<std::string_view, coring::mutable_buffer>);
static_assert(!std::is_convertible_v<std::vector<int>&, coring::mutable_buffer>);
static_assert(std::is_convertible_v<std::string_view, coring::const_buffer>);
static_assert(std::is_convertible_v<const std::string&, coring::const_buffer>);
static_assert(std::is_convertible_v<std::span<const std::byte>, coring::const_buffer>);
static_assert(std::is_convertible_v<const std::vector<std::byte>&, coring::const_buffer>);
static_assert(std::is_convertible_v<coring::mutable_buffer, coring::const_buffer>);
static_assert(!std::is_convertible_v<const char (&)[6], coring::const_buffer>);  // "hello": the NUL would go too

#ifdef CORING_SANITIZED
constexpr int echo_connections = 16;
constexpr int echo_rounds = 50;
#else
constexpr int echo_connections = 64;
constexpr int echo_rounds = 200;
#endif

// The README's echo server, as a user writes it: a char array, string_view replies.
coring::task<void> echo(coring::tcp_stream conn) {
  std::array<char, 4096> buf;
  for (;;) {
    const std::size_t n = co_await conn.read(buf);
    if (n == 0) break;
    co_await conn.write_all(std::string_view(buf.data(), n));
  }
}

coring::task<void> serve(const coring::tcp_listener& l, int connections) {
  std::vector<coring::task<void>> sessions;
  for (int i = 0; i < connections; ++i) sessions.push_back(echo(co_await l.accept()));
  co_await coring::gather(std::move(sessions));
}

// One client: rounds of messages of varying size, each read back into a std::string.
coring::task<int> client(coring::endpoint at, int id) {
  coring::tcp_stream c = co_await coring::tcp_stream::connect(at);
  int good = 0;
  std::string back;
  for (int r = 0; r < echo_rounds; ++r) {
    const std::string msg = std::to_string(id) + ":" + std::to_string(r) + ":" + std::string(1 + (r * 37) % 3000, 'a' + r % 26);
    co_await c.write_all(msg);
    back.assign(msg.size(), '\0');
    co_await c.read_exact(back);
    if (back == msg) ++good;
  }
  co_await c.shutdown();
  std::array<unsigned char, 1> tail{};
  EXPECT_EQ(co_await c.read(tail), 0u);  // the server closes after our shutdown
  co_return good;
}

IO_TEST(buffer, char_array_echo_server_passes_an_echo_load) {
  auto listener = coring::tcp_listener::bind("127.0.0.1", 0);
  const coring::endpoint at = listener.local_endpoint();
  std::vector<coring::task<int>> clients;
  for (int i = 0; i < echo_connections; ++i) clients.push_back(client(at, i));
  auto all_clients = [](std::vector<coring::task<int>> cs) -> coring::task<std::vector<int>> {
    co_return co_await coring::gather(std::move(cs));
  };
  auto [served, results] = co_await coring::gather(serve(listener, echo_connections), all_clients(std::move(clients)));
  (void)served;
  int good = 0;
  for (int g : results) good += g;
  EXPECT_EQ(good, echo_connections * echo_rounds);
}

IO_TEST(buffer, every_buffer_kind_reads_and_writes) {
  auto [a, b] = coring::unix_stream::pair();
  std::vector<unsigned char> v{1, 2, 3};
  char c_array[2] = {'x', 'y'};
  const std::string s = "str";
  co_await a.write_all(v);
  co_await a.write_all(c_array);
  co_await a.write_all(s);
  co_await a.write_all(std::as_bytes(std::span(s)));  // the old std::byte spans
  co_await a.write_all(std::string_view("sv"));
  std::string got(3 + 2 + 3 + 3 + 2, '\0');
  co_await b.read_exact(got);
  EXPECT_EQ(got, std::string("\1\2\3xystrstrsv", 13));
  co_await a.write(std::string_view("!"));
  unsigned char one[1];
  EXPECT_EQ(co_await b.read(one), 1u);
  EXPECT_EQ(one[0], '!');
}

// A small send buffer on one side and small reads on the other force the kernel to
// move a large write_all and a large read_exact in many pieces.
IO_TEST(buffer, whole_transfers_continue_short_ones) {
  auto [a, b] = coring::unix_stream::pair();
  const int small = 4096;
  CO_ASSERT_TRUE(::setsockopt(a.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  CO_ASSERT_TRUE(::setsockopt(b.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  std::vector<char> out(1 << 20);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(i * 131 + i / 4093);
  std::vector<char> in(out.size());
  auto reader = [](const coring::unix_stream& s, std::vector<char>& dst) -> coring::task<void> {
    // Half in small reads (the writer's sends come back short meanwhile), half at once.
    const std::size_t half = dst.size() / 2;
    for (std::size_t done = 0; done < half;) {
      done += co_await s.read(std::span(dst).subspan(done, std::min<std::size_t>(1000, half - done)));
    }
    co_await s.read_exact(std::span(dst).subspan(half));
  };
  co_await coring::gather(a.write_all(out), reader(b, in));
  EXPECT_TRUE(in == out);
}

IO_TEST(buffer, read_exact_at_end_of_stream_throws_enodata) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.write_all(std::string_view("12345"));
  co_await a.shutdown();
  std::string got(10, '\0');
  int err = 0;
  try {
    co_await b.read_exact(got);
  } catch (const std::system_error& e) {
    err = e.code().value();
    EXPECT_NE(std::string(e.what()).find("coring::stream::read_exact"), std::string::npos) << e.what();
  }
  EXPECT_EQ(err, ENODATA);
  EXPECT_EQ(got.substr(0, 5), "12345");  // what arrived was delivered
}

IO_TEST(buffer, write_all_to_a_closed_peer_throws) {
  auto [a, b] = coring::unix_stream::pair();
  { coring::unix_stream gone = std::move(b); }
  std::string big(1 << 20, 'z');
  int err = 0;
  try {
    co_await a.write_all(big);
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << err;
}

IO_TEST(buffer, empty_transfers_complete_at_once) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.write_all(std::string_view());
  std::string none;
  co_await b.read_exact(none);
  co_await a.write_all(std::string_view("k"));
  char k[1];
  co_await b.read_exact(k);
  EXPECT_EQ(k[0], 'k');
}

// A read_exact that has received part of its buffer and waits for the rest is cancelled
// by the timeout; a write_all blocked behind a full peer likewise; the sockets stay usable.
IO_TEST(buffer, timeout_cancels_a_transfer_midway) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.write_all(std::string_view("part"));
  std::string want(100, '\0');
  bool timed_out = false;
  try {
    co_await coring::timeout(30ms, b.read_exact(want));
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(want.substr(0, 4), "part");

  const int small = 4096;
  CO_ASSERT_TRUE(::setsockopt(a.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  std::string big(4 << 20, 'w');  // far more than both socket buffers hold
  timed_out = false;
  try {
    co_await coring::timeout(30ms, a.write_all(big));
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  co_await b.write_all(std::string_view("still"));
  char five[5];
  co_await a.read_exact(five);
  EXPECT_EQ(std::string_view(five, 5), "still");
}

IO_TEST(buffer, file_write_all_at_then_read_all_at_with_char_buffers) {
  char path[] = "/tmp/coring_buffer_test_XXXXXX";
  const int fd = ::mkstemp(path);
  CO_ASSERT_TRUE(fd >= 0);
  ::unlink(path);
  coring::file f(fd);
  std::string data(200'000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  co_await f.write_all_at(data, 10);
  std::vector<char> back(data.size() + 100);
  const std::size_t n = co_await f.read_all_at(back, 10);
  EXPECT_EQ(n, data.size());
  EXPECT_EQ(std::string_view(back.data(), n), data);
  co_await f.close();
}

}  // namespace
