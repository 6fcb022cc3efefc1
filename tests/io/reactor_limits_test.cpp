// The reactor's in-flight budget: a cancellation always finds room for its
// IORING_OP_ASYNC_CANCEL, even when long-lived operations hold every other slot
// (shared/repro/budget_cancel.cpp: the timeout used to wait for an unrelated completion).
#include "io_test.hpp"

#include <coring/io/net.hpp>
#include <coring/io/timer.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace std::chrono_literals;

namespace {

coring::task<bool> read_times_out(coring::unix_stream& s, std::chrono::milliseconds after) {
  std::byte buf[16];
  try {
    (void)co_await coring::timeout(after, s.read(buf));
  } catch (const coring::timed_out&) {
    co_return true;
  }
  co_return false;  // the read returned: only the guard's rescue byte gets here
}

}  // namespace

TEST(reactor_budget, a_timeout_cancels_while_receives_hold_the_whole_budget) {
  // A 4-entry CQ: three receives on idle sockets are more than the ring lets be in
  // flight at once for operations.
  std::unique_ptr<coring::io_context> ctx;
  try {
    ctx = std::make_unique<coring::io_context>(coring::reactor_options{.entries = 2, .cq_entries = 4});
  } catch (const coring::io_uring_unavailable& e) {
    GTEST_SKIP() << e.what();
  }
  auto [a1, b1] = coring::unix_stream::pair();
  auto [a2, b2] = coring::unix_stream::pair();
  auto [a3, b3] = coring::unix_stream::pair();
  // Hang guard, not a timing check: if the cancellations stall, a byte on each socket
  // ends the reads after a long while, and the test fails on their results instead of
  // hanging until ctest's timeout.
  std::atomic<bool> finished{false};
  std::thread guard([&] {
    for (int i = 0; i < 300 && !finished.load(); ++i) std::this_thread::sleep_for(100ms);
    if (finished.load()) return;
    for (auto* s : {&b1, &b2, &b3}) (void)::write(s->native_handle(), "x", 1);
  });
  auto [t1, t2, t3] = ctx->run([](coring::unix_stream& x, coring::unix_stream& y,
                                  coring::unix_stream& z) -> coring::task<std::tuple<bool, bool, bool>> {
    co_return co_await coring::gather(read_times_out(x, 20ms), read_times_out(y, 40ms), read_times_out(z, 60ms));
  }(a1, a2, a3));
  finished = true;
  guard.join();
  EXPECT_TRUE(t1);
  EXPECT_TRUE(t2);
  EXPECT_TRUE(t3);
}
