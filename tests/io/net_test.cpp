// Sockets: byte-exact echo over many connections, read_until bounds, peer reset, no
// SIGPIPE, cancellation and timeout of pending operations, UDP, Unix sockets, name
// resolution, and no descriptor leak over 10,000 connect/close cycles.
#include "io_test.hpp"
#include "net_helpers.hpp"
#include "sanitizers.hpp"

#include <coring/io/buffered_reader.hpp>
#include <coring/io/net.hpp>
#include <coring/io/timer.hpp>

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

#ifdef CORING_SANITIZED
constexpr int echo_connections = 100;
constexpr int leak_cycles = 1'000;
#else
constexpr int echo_connections = 1'000;
constexpr int leak_cycles = 10'000;
#endif

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

using coring::testing::open_fds;

coring::task<void> echo_server_side(const coring::tcp_listener& l) {
  coring::tcp_stream s = co_await l.accept();
  std::vector<std::byte> buf(64 * 1024);
  for (;;) {
    const std::size_t n = co_await s.read(buf);
    if (n == 0) break;
    co_await s.write_all(std::span(buf).first(n));
  }
  co_await s.close();
}

coring::task<bool> echo_client_side(coring::endpoint at, std::size_t size, unsigned seed) {
  coring::tcp_stream c = co_await coring::tcp_stream::connect(at);
  c.set_nodelay();
  std::vector<std::byte> out(size), in(size);
  std::mt19937 rng(seed);
  for (auto& b : out) b = static_cast<std::byte>(rng());
  // Write and read at once: a large message must not fill both socket buffers.
  auto sender = [](const coring::tcp_stream& s, const std::vector<std::byte>& data) -> coring::task<void> {
    co_await s.write_all(data);
    co_await s.shutdown();
  };
  co_await coring::gather(sender(c, out), c.read_exact(in));
  std::byte extra[1];
  const bool eof = co_await c.read(extra) == 0;
  co_await c.close();
  co_return eof && in == out;
}

coring::task<void> echo_many(coring::endpoint at, int connections) {
  auto listener = coring::tcp_listener::bind(at, 4096);
  const coring::endpoint bound = listener.local_endpoint();
  std::mt19937 rng(1);
  std::uniform_int_distribution<std::size_t> size(1, 256 * 1024);
  std::vector<coring::task<bool>> tasks;
  std::size_t total = 0;
  for (int i = 0; i < connections; ++i) {
    tasks.push_back([](const coring::tcp_listener& l) -> coring::task<bool> {
      co_await echo_server_side(l);
      co_return true;
    }(listener));
    const std::size_t n = size(rng);
    total += n;
    tasks.push_back(echo_client_side(bound, n, static_cast<unsigned>(i)));
  }
  const auto start = std::chrono::steady_clock::now();
  auto ok = co_await coring::gather(std::move(tasks));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(std::count(ok.begin(), ok.end(), true), 2 * connections);
  std::printf("echo %s: %d connections, %.1f MiB each way in %.3f s (%.0f MiB/s)\n", bound.to_string().c_str(),
              connections, static_cast<double>(total) / (1 << 20), secs, static_cast<double>(total) / (1 << 20) / secs);
}

}  // namespace

IO_TEST(net, echo_many_connections_ipv4) { co_await echo_many(coring::endpoint::v4("127.0.0.1", 0), echo_connections); }

IO_TEST(net, echo_ipv6) { co_await echo_many(coring::endpoint::v6("::1", 0), 50); }

IO_TEST(net, read_until_and_read_line_are_bounded) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.write_all(bytes("hello\nworld;rest"));
  coring::buffered_reader in(b, 4);  // tiny buffer: growth up to max_bytes is exercised
  EXPECT_EQ(co_await in.read_line(100), "hello\n");
  EXPECT_EQ(co_await in.read_until(';', 100), "world;");
  // No delimiter within max_bytes: EMSGSIZE, with a bounded buffer.
  co_await a.write_all(bytes(std::string(1000, 'x') + "\n"));
  bool overlong = false;
  try {
    (void)co_await in.read_line(64);
  } catch (const std::system_error& e) {
    overlong = e.code() == std::errc::message_size;
  }
  EXPECT_TRUE(overlong);
  EXPECT_LE(in.buffered(), 64u);
  co_await a.close();
  // End of stream: read_until throws ENODATA, read_line yields what is left.
  coring::buffered_reader in2(b);
  std::string rest = co_await in2.read_line(4096);  // the tail of the overlong line
  EXPECT_EQ(rest.size(), 4u + 1000u + 1u - 64u);  // "rest" + the line, minus what was dropped
  EXPECT_EQ(co_await in2.read_line(4096), "");  // end of stream
  bool eof = false;
  try {
    (void)co_await in2.read_until(';', 10);
  } catch (const std::system_error& e) {
    eof = e.code() == std::errc::no_message_available;
  }
  EXPECT_TRUE(eof);
}

IO_TEST(net, read_line_yields_a_partial_last_line) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.write_all(bytes("one\ntwo"));
  co_await a.shutdown();
  coring::buffered_reader in(b);
  EXPECT_EQ(co_await in.read_line(100), "one\n");
  EXPECT_EQ(co_await in.read_line(100), "two");
  EXPECT_EQ(co_await in.read_line(100), "");
}

IO_TEST(net, peer_reset_is_an_error_not_a_crash) {
  auto listener = coring::tcp_listener::bind("127.0.0.1", 0);
  auto client = co_await coring::tcp_stream::connect(listener.local_endpoint());
  auto server = co_await listener.accept();
  // SO_LINGER 0: close sends RST.
  linger lg{1, 0};
  ::setsockopt(client.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  co_await client.close();
  std::byte buf[16];
  bool reset = false;
  try {
    (void)co_await server.read(buf);
  } catch (const std::system_error& e) {
    reset = coring::is_disconnect(e);
  }
  EXPECT_TRUE(reset);
}

IO_TEST(net, writing_to_a_closed_peer_raises_no_sigpipe) {
  auto listener = coring::tcp_listener::bind("127.0.0.1", 0);
  auto client = co_await coring::tcp_stream::connect(listener.local_endpoint());
  auto server = co_await listener.accept();
  co_await client.close();
  std::vector<std::byte> chunk(64 * 1024);
  bool failed = false;
  try {
    for (int i = 0; i < 1000; ++i) co_await server.write_all(chunk);
  } catch (const std::system_error& e) {
    failed = coring::is_disconnect(e);
  }
  EXPECT_TRUE(failed);  // and we are still alive
}

IO_TEST(net, when_any_cancels_a_pending_read_and_accept) {
  auto listener = coring::tcp_listener::bind("127.0.0.1", 0);
  auto [a, b] = coring::unix_stream::pair();
  std::byte buf[8];
  auto r = co_await coring::when_any(
      [](const coring::unix_stream& s, std::span<std::byte> out) -> coring::task<int> {
        (void)co_await s.read(out);  // nothing ever arrives
        co_return 1;
      }(b, buf),
      [](const coring::tcp_listener& l) -> coring::task<int> {
        (void)co_await l.accept();  // nobody connects
        co_return 2;
      }(listener),
      []() -> coring::task<int> {
        co_await coring::sleep(20ms);
        co_return 3;
      }());
  EXPECT_EQ(r.index(), 2u);
  // The descriptors are still usable after the kernel dropped the cancelled ops.
  co_await a.write_all(bytes("ok"));
  EXPECT_EQ(co_await b.read(buf), 2u);
}

IO_TEST(net, timeout_of_a_read_that_never_completes) {
  auto [a, b] = coring::unix_stream::pair();
  std::byte buf[8];
  const auto start = std::chrono::steady_clock::now();
  bool timed_out = false;
  try {
    (void)co_await coring::timeout(30ms, b.read(buf));
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
  // A read that completes in time yields its value.
  co_await a.write_all(bytes("abc"));
  EXPECT_EQ(co_await coring::timeout(5s, b.read(buf)), 3u);
}

IO_TEST(net, udp_send_to_and_recv_from) {
  auto server = coring::udp_socket::bind(coring::endpoint::v4("127.0.0.1", 0));
  auto client = coring::udp_socket::bind(coring::endpoint::v4("127.0.0.1", 0));
  const std::string msg = "datagram";
  EXPECT_EQ(co_await client.send_to(bytes(msg), server.local_endpoint()), msg.size());
  std::byte buf[64];
  auto [n, from] = co_await server.recv_from(buf);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), n), msg);
  EXPECT_EQ(from.port(), client.local_endpoint().port());
}

IO_TEST(net, unix_listener_and_stream) {
  const std::string path = "/tmp/coring_net_test_" + std::to_string(::getpid()) + ".sock";
  auto listener = coring::unix_listener::bind(path);
  auto [client, server] = co_await coring::gather(coring::unix_stream::connect(path), listener.accept());
  co_await client.write_all(bytes("ping"));
  std::byte buf[4];
  co_await server.read_exact(buf);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), 4), "ping");
  ::unlink(path.c_str());
}

IO_TEST(net, connect_by_host_name) {
  auto listener = coring::tcp_listener::bind("127.0.0.1", 0);
  auto [client, server] = co_await coring::gather(
      coring::tcp_stream::connect("localhost", listener.local_endpoint().port()), listener.accept());
  EXPECT_TRUE(client.is_open());
  EXPECT_TRUE(server.is_open());
  bool failed = false;
  try {
    (void)co_await coring::tcp_stream::connect("no-such-host.invalid", 80);
  } catch (const std::system_error&) {
    failed = true;
  }
  EXPECT_TRUE(failed);
}

IO_TEST(net, resolve_yields_endpoints_and_names_the_host_on_failure) {
  const std::vector<coring::endpoint> local = co_await coring::resolve("localhost", 8080);
  CO_ASSERT_TRUE(!local.empty());
  for (const coring::endpoint& e : local) {
    EXPECT_TRUE(e.family() == AF_INET || e.family() == AF_INET6) << e.to_string();
    EXPECT_EQ(e.port(), 8080);
  }
  const std::vector<coring::endpoint> numeric = co_await coring::resolve("127.0.0.1", 7);
  CO_ASSERT_TRUE(numeric.size() == 1u);
  EXPECT_EQ(numeric[0].to_string(), "127.0.0.1:7");
  std::string what;
  try {
    (void)co_await coring::resolve("no-such-host.invalid", 80);
  } catch (const std::system_error& e) {
    what = e.what();
  }
  EXPECT_NE(what.find("coring::resolve: no-such-host.invalid"), std::string::npos) << what;
}

IO_TEST(net, connect_refused_names_the_endpoint) {
  auto probe = coring::tcp_listener::bind("127.0.0.1", 0);
  const auto at = probe.local_endpoint();
  co_await probe.close();
  bool refused = false;
  try {
    (void)co_await coring::tcp_stream::connect(at);
  } catch (const std::system_error& e) {
    refused = e.code() == std::errc::connection_refused &&
              std::string(e.what()).find("coring::tcp_stream::connect: 127.0.0.1") != std::string::npos;
  }
  EXPECT_TRUE(refused);
}

IO_TEST(net, no_descriptor_leak_over_connect_close_cycles) {
  auto listener = coring::tcp_listener::bind("127.0.0.1", 0);
  const auto at = listener.local_endpoint();
  const int before = open_fds();
  for (int i = 0; i < leak_cycles; ++i) {
    auto [client, server] = co_await coring::gather(coring::tcp_stream::connect(at), listener.accept());
    if (i % 2 == 0) {
      co_await client.close();
    }  // odd cycles: the destructors close
    (void)server;
  }
  EXPECT_EQ(open_fds(), before);
}
