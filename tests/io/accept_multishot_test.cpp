// Multishot accept: one SQE serves many accept()s; connections that arrive while nobody
// waits are queued (bounded by the backlog) and never leak; the single-shot fallback
// behaves the same; a listener may outlive the loop that armed it. The sched side (accept
// awaited on several workers) is in tests/sched/io_integration_test.cpp.
#include "io_test.hpp"
#include "net_helpers.hpp"
#include "sanitizers.hpp"

#include <coring/io/net.hpp>
#include <coring/io/timer.hpp>

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

using namespace std::chrono_literals;

namespace {

#ifdef CORING_SANITIZED
constexpr int many = 300;
#else
constexpr int many = 3'000;
#endif

using coring::testing::open_fds;

// A blocking client socket connected to `at` (the handshake completes into the backlog).
int connect_blocking(const coring::endpoint& at) {
  const int fd = ::socket(at.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, at.data(), at.size()) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

// io_context with explicit reactor options, or nullopt-like null with the reason.
std::unique_ptr<coring::io_context> make_context(bool multishot, std::string& why) {
  try {
    return std::make_unique<coring::io_context>(coring::reactor_options{.multishot_accept = multishot});
  } catch (const coring::io_uring_unavailable& e) {
    why = e.what();
    return nullptr;
  }
}

// `count` clients connect while one accept loop takes them; each connection carries one
// byte each way, so a descriptor handed to the wrong place would show.
coring::task<void> accept_many(int count) {
  auto listener = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0), 4096);
  const auto at = listener.local_endpoint();
  auto clients = [&](int n) -> coring::task<std::vector<bool>> {
    std::vector<coring::task<bool>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(coring::testing::connect_and_ask(at, i));
    co_return co_await coring::gather(std::move(tasks));
  };
  auto [served, ok] = co_await coring::gather(coring::testing::accept_and_answer(listener, count), clients(count));
  EXPECT_EQ(served, count);
  EXPECT_EQ(std::count(ok.begin(), ok.end(), true), count);
}

// Arms the listener with one accept, then connects `clients` blocking sockets while no
// accept() waits, and lets the loop run: a multishot queues them (each one's server
// side is then open in this process), single-shot accepts leave them in the backlog.
coring::task<int> queued_after_idle(coring::tcp_listener& l, std::vector<int>& clients, int count) {
  const auto at = l.local_endpoint();
  auto first = co_await coring::gather(l.accept(), [](coring::endpoint to) -> coring::task<int> {
    co_return connect_blocking(to);
  }(at));
  clients.push_back(std::get<1>(first));
  const int before = open_fds();
  for (int i = 0; i < count; ++i) clients.push_back(connect_blocking(at));
  co_await coring::sleep(50ms);
  co_return open_fds() - before - count;  // server-side descriptors that appeared
}

TEST(accept_multishot, reactor_reports_support) {
  std::string why;
  auto ctx = make_context(true, why);
  if (!ctx) GTEST_SKIP() << why;
  auto forced = make_context(false, why);
  EXPECT_FALSE(forced->get_reactor().info().multishot_accept);
  if (!ctx->get_reactor().info().multishot_accept) GTEST_SKIP() << "kernel without multishot accept (< 5.19)";
}

}  // namespace

IO_TEST(accept_multishot, accepts_many_connections_on_io_context) { co_await accept_many(many); }

TEST(accept_multishot, single_shot_fallback_accepts_many_connections) {
  std::string why;
  auto ctx = make_context(false, why);
  if (!ctx) GTEST_SKIP() << why;
  ctx->run(accept_many(many));
}

TEST(accept_multishot, connections_queue_while_nobody_accepts_and_close_leaks_nothing) {
  std::string why;
  auto ctx = make_context(true, why);
  if (!ctx) GTEST_SKIP() << why;
  if (!ctx->get_reactor().info().multishot_accept) GTEST_SKIP() << "kernel without multishot accept (< 5.19)";
  const int before = open_fds();
  std::vector<int> clients;
  ctx->run([](std::vector<int>& cs) -> coring::task<void> {
    auto l = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0), 256);
    EXPECT_EQ(co_await queued_after_idle(l, cs, 32), 32);  // all 32 queued by the multishot
    co_await l.close();  // closes the 32 queued connections, cancels the multishot
    co_await coring::sleep(20ms);
  }(clients));
  for (int fd : clients) ::close(fd);
  EXPECT_EQ(open_fds(), before);
}

TEST(accept_multishot, single_shot_fallback_leaves_connections_in_the_backlog) {
  std::string why;
  auto ctx = make_context(false, why);
  if (!ctx) GTEST_SKIP() << why;
  const int before = open_fds();
  std::vector<int> clients;
  ctx->run([](std::vector<int>& cs) -> coring::task<void> {
    auto l = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0), 256);
    EXPECT_EQ(co_await queued_after_idle(l, cs, 32), 0);
  }(clients));
  for (int fd : clients) ::close(fd);
  EXPECT_EQ(open_fds(), before);
}

TEST(accept_multishot, destroying_the_listener_closes_queued_connections) {
  std::string why;
  auto ctx = make_context(true, why);
  if (!ctx) GTEST_SKIP() << why;
  const int before = open_fds();
  std::vector<int> clients;
  ctx->run([](std::vector<int>& cs) -> coring::task<void> {
    std::optional<coring::tcp_listener> l = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0), 256);
    (void)co_await queued_after_idle(*l, cs, 16);
    l.reset();  // the destructor: same as close()
    co_await coring::sleep(20ms);
  }(clients));
  for (int fd : clients) ::close(fd);
  EXPECT_EQ(open_fds(), before);
}

TEST(accept_multishot, full_queue_pauses_the_multishot_and_accept_resumes_it) {
  std::string why;
  auto ctx = make_context(true, why);
  if (!ctx) GTEST_SKIP() << why;
  ctx->run([]() -> coring::task<void> {
    // Queue bound 8 (the backlog): 14 connections arrive with nobody accepting, the
    // queue fills, the multishot stops; the rest wait in the kernel's backlog (which
    // holds 9). Draining re-arms it and every connection is delivered exactly once.
    auto l = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0), 8);
    std::vector<int> clients;
    (void)co_await queued_after_idle(l, clients, 6);
    for (int i = 0; i < 8; ++i) clients.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    const auto at = l.local_endpoint();
    for (std::size_t i = 7; i < clients.size(); ++i) (void)::connect(clients[i], at.data(), at.size());
    co_await coring::sleep(50ms);
    std::vector<coring::tcp_stream> accepted;
    for (std::size_t i = 1; i < clients.size(); ++i) accepted.push_back(co_await coring::timeout(5s, l.accept()));
    // Each accepted socket is a distinct peer of one of ours.
    std::vector<std::uint16_t> ports;
    for (auto& s : accepted) ports.push_back(s.peer_endpoint().port());
    std::sort(ports.begin(), ports.end());
    EXPECT_EQ(std::adjacent_find(ports.begin(), ports.end()), ports.end());
    EXPECT_EQ(accepted.size(), clients.size() - 1);
    for (int fd : clients) ::close(fd);
  }());
}

IO_TEST(accept_multishot, cancelled_accept_leaves_the_listener_usable) {
  auto l = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0));
  bool timed_out = false;
  try {
    (void)co_await coring::timeout(20ms, l.accept());
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  // The multishot armed by the cancelled accept() still serves the next one.
  auto [server, client] = co_await coring::gather(l.accept(), coring::tcp_stream::connect(l.local_endpoint()));
  EXPECT_TRUE(server.is_open());
  EXPECT_EQ(server.peer_endpoint().port(), client.local_endpoint().port());
}

IO_TEST(accept_multishot, close_fails_a_waiting_accept) {
  auto l = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0));
  auto [error, unused] = co_await coring::gather(
      [](const coring::tcp_listener& listener) -> coring::task<int> {
        try {
          (void)co_await listener.accept();
        } catch (const std::system_error& e) {
          co_return e.code().value();
        }
        co_return 0;
      }(l),
      [](coring::tcp_listener& listener) -> coring::task<int> {
        co_await coring::sleep(10ms);
        co_await listener.close();
        co_return 0;
      }(l));
  (void)unused;
  EXPECT_EQ(error, EBADF);
}

TEST(accept_multishot, listener_outlives_its_loop) {
  // The reactor that holds the multishot goes first: it hands the op back, the queued
  // connections are closed with the listener, nothing leaks (asan) or dangles.
  const int before = open_fds();
  std::vector<int> clients;
  {
    std::optional<coring::tcp_listener> l = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0), 64);
    {
      std::string why;
      auto ctx = make_context(true, why);
      if (!ctx) GTEST_SKIP() << why;
      ctx->run(queued_after_idle(*l, clients, 8));
    }
    l.reset();
  }
  for (int fd : clients) ::close(fd);
  EXPECT_EQ(open_fds(), before);
}
