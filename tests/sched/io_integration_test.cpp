// The io layer under the work-stealing runtime: workers own a reactor and park in it.
#include "co_test.hpp"
#include "net_helpers.hpp"

#include <coring/io/reactor.hpp>
#include <coring/io/net.hpp>
#include <coring/io/timer.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <vector>

using namespace std::chrono_literals;

namespace {

coring::task<int> sleep_then_worker(std::chrono::milliseconds d) {
  co_await coring::sleep(d);
  co_return coring::current_worker();
}

}  // namespace

CO_TEST(io_runtime, every_worker_has_a_reactor) {
  EXPECT_NE(coring::current_reactor(), nullptr);
  co_return;
}

CO_TEST(io_runtime, sleeping_tasks_complete_and_spread_over_workers) {
  // Timers fire on the worker whose ring holds them; the woken coroutines land in that
  // worker's queues, where the idle peer steals some.
  std::vector<coring::join_handle<int>> handles;
  for (int i = 0; i < 2000; ++i) handles.push_back(coring::spawn(sleep_then_worker(std::chrono::milliseconds(1 + i % 20))));
  std::set<int> ids;
  for (auto& h : handles) ids.insert(co_await h);
  EXPECT_EQ(ids.size(), 2u);
}

namespace {
struct in_flight_meter {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
};
coring::task<void> metered_sleep(in_flight_meter& m) {
  const int n = m.now.fetch_add(1) + 1;
  for (int seen = m.max.load(); seen < n && !m.max.compare_exchange_weak(seen, n);) {
  }
  co_await coring::sleep(20ms);
  m.now.fetch_sub(1);
}
}  // namespace

CO_TEST(io_runtime, gather_of_sleeps_sleeps_concurrently) {
  // All three are asleep at once (a sequential run would never exceed one).
  in_flight_meter m;
  co_await coring::gather(metered_sleep(m), metered_sleep(m), metered_sleep(m));
  EXPECT_EQ(m.max.load(), 3);
  EXPECT_EQ(m.now.load(), 0);
}

TEST(io_runtime, cancel_wakes_a_task_sleeping_on_a_worker) {
  coring::runtime rt(coring::testing::co_test_options());
  auto h = rt.spawn([]() -> coring::task<void> { co_await coring::sleep(std::chrono::hours(1)); }());
  h.cancel();
  EXPECT_THROW(h.get(), coring::cancelled);
}

TEST(io_runtime, shutdown_cancels_sleepers) {
  coring::runtime rt(coring::testing::co_test_options());
  for (int i = 0; i < 100; ++i) (void)rt.spawn([]() -> coring::task<void> { co_await coring::sleep(std::chrono::hours(1)); }());
  // ~runtime must cancel the hour-long sleeps and return.
}

namespace {

// Echoes every byte back until the peer closes.
coring::task<void> echo_session(coring::tcp_stream conn) {
  std::vector<std::byte> buf(16 * 1024);
  for (;;) {
    const std::size_t n = co_await conn.read(buf);
    if (n == 0) break;
    co_await conn.write_all(std::span(buf.data(), n));
  }
  co_await conn.close();
}

// Sends `size` patterned bytes, reads them back, checks every byte.
coring::task<bool> echo_client(coring::endpoint server, std::size_t size, unsigned seed) {
  auto conn = co_await coring::tcp_stream::connect(server);
  std::vector<std::byte> out(size), in(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>((i * 131 + seed) & 0xff);
  // Write and read concurrently: a large message would otherwise fill both socket buffers.
  auto [written, ok] = co_await coring::gather(
      [](coring::tcp_stream& c, std::span<const std::byte> data) -> coring::task<bool> {
        co_await c.write_all(data);
        co_return true;
      }(conn, out),
      [](coring::tcp_stream& c, std::span<std::byte> data) -> coring::task<bool> {
        co_await c.read_exact(data);
        co_return true;
      }(conn, in));
  co_await conn.close();
  co_return written && ok && in == out;
}

}  // namespace

CO_TEST(io_runtime, echo_across_workers_is_byte_exact) {
  auto listener = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0));
  const coring::endpoint at = listener.local_endpoint();
  constexpr int clients = 64;
  auto server = coring::spawn([](coring::tcp_listener& l) -> coring::task<void> {
    std::vector<coring::join_handle<void>> sessions;
    for (int i = 0; i < clients; ++i) sessions.push_back(coring::spawn(echo_session(co_await l.accept())));
    for (auto& s : sessions) co_await s;
  }(listener));
  std::vector<coring::task<bool>> tasks;
  for (int i = 0; i < clients; ++i) tasks.push_back(echo_client(at, 1 + (static_cast<std::size_t>(i) * 7919) % (256 * 1024), static_cast<unsigned>(i)));
  std::vector<bool> results = co_await coring::gather(std::move(tasks));
  co_await server;
  for (bool r : results) EXPECT_TRUE(r);
  co_await listener.close();
}

namespace {

using coring::testing::accept_and_answer;
using coring::testing::connect_and_ask;

// Accept loops on both workers share one listener (and so one multishot accept, armed
// in one worker's ring); clients come from everywhere.
coring::task<void> accept_on_every_worker(int connections) {
  auto listener = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0), 4096);
  const auto at = listener.local_endpoint();
  constexpr int loops = 4;
  std::vector<coring::join_handle<int>> acceptors;
  for (int k = 0; k < loops; ++k) acceptors.push_back(coring::spawn(accept_and_answer(listener, connections / loops)));
  std::vector<coring::join_handle<bool>> clients;
  for (int i = 0; i < connections; ++i) clients.push_back(coring::spawn(connect_and_ask(at, i)));
  int ok = 0;
  for (auto& c : clients) ok += co_await c ? 1 : 0;
  int served = 0;
  for (auto& a : acceptors) served += co_await a;
  EXPECT_EQ(ok, connections);
  EXPECT_EQ(served, connections);
}

}  // namespace

CO_TEST(io_runtime, accept_awaited_on_every_worker_shares_one_listener) { co_await accept_on_every_worker(2'000); }

TEST(io_runtime, accept_under_coring_run) {
  coring::run(accept_on_every_worker(400));
}

TEST(io_runtime, cancelling_an_accept_on_a_worker_wakes_it) {
  coring::runtime rt(coring::testing::co_test_options());
  auto listener = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0));
  auto h = rt.spawn([](const coring::tcp_listener& l) -> coring::task<void> { (void)co_await l.accept(); }(listener));
  std::this_thread::sleep_for(20ms);  // suspended in the accept by now
  h.cancel();
  EXPECT_THROW(h.get(), coring::cancelled);
  // The listener still accepts afterwards.
  auto ok = rt.block_on([](const coring::tcp_listener& l) -> coring::task<bool> {
    auto [s, c] = co_await coring::gather(l.accept(), coring::tcp_stream::connect(l.local_endpoint()));
    co_return s.peer_endpoint().port() == c.local_endpoint().port();
  }(listener));
  EXPECT_TRUE(ok);
}

TEST(io_runtime, runtime_shutdown_with_an_armed_listener_leaks_nothing) {
  // The listener outlives the runtime whose worker holds its multishot: the reactor
  // hands the op back on destruction; the listener then closes what was queued.
  auto listener = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0));
  {
    coring::runtime rt(coring::testing::co_test_options());
    rt.block_on([](const coring::tcp_listener& l) -> coring::task<void> {
      auto [s, c] = co_await coring::gather(l.accept(), coring::tcp_stream::connect(l.local_endpoint()));
      (void)s;
      (void)c;
    }(listener));
  }
}

namespace {

// Echoes from pool buffers: the buffer taken on one worker may be given back on another
// (the session resumes wherever it was stolen to), with a small pool so that it runs
// dry and receives fall back while others hold buffers.
coring::task<void> pooled_echo_session(coring::tcp_stream conn) {
  for (;;) {
    coring::received r = co_await conn.receive();
    if (r.empty()) break;
    co_await coring::yield();  // may move to the other worker while holding the buffer
    co_await conn.write_all(r.data());
  }
  co_await conn.close();
}

}  // namespace

TEST(io_runtime, echo_from_a_small_receive_pool_across_workers_is_byte_exact) {
  coring::runtime_options options = coring::testing::co_test_options();
  options.recv_buffers = 4;
  coring::runtime rt(options);
  rt.block_on([]() -> coring::task<void> {
    auto listener = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0));
    const coring::endpoint at = listener.local_endpoint();
    constexpr int clients = 32;
    auto server = coring::spawn([](coring::tcp_listener& l) -> coring::task<void> {
      std::vector<coring::join_handle<void>> sessions;
      for (int i = 0; i < clients; ++i) sessions.push_back(coring::spawn(pooled_echo_session(co_await l.accept())));
      for (auto& s : sessions) co_await s;
    }(listener));
    std::vector<coring::task<bool>> tasks;
    for (int i = 0; i < clients; ++i) {
      tasks.push_back(echo_client(at, 1 + (static_cast<std::size_t>(i) * 7919) % (64 * 1024), static_cast<unsigned>(i)));
    }
    std::vector<bool> results = co_await coring::gather(std::move(tasks));
    co_await server;
    for (bool r : results) EXPECT_TRUE(r);
    co_await listener.close();
  }());
}
