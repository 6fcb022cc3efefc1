// Work woken on a worker that then computes without a suspension point must run on an
// idle worker instead of waiting for the busy one (shared/repro/lifo_steal.cpp): a
// channel hand-off (the receiver lands in the sender's LIFO slot), a timer armed in the
// busy worker's ring, and a socket read submitted to the busy worker's ring.
//
// No timing assertion: the busy task spins until the woken one has run, and gives up
// after a guard of many seconds only so that a regression fails instead of hanging.
// The question each test asks is "did it run while its worker was still busy?".
#include "co_test.hpp"

#include <coring/core/channel.hpp>
#include <coring/io/net.hpp>
#include <coring/io/reactor.hpp>
#include <coring/io/timer.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>

using namespace std::chrono_literals;

namespace {

constexpr auto guard = 20s;

// Busy work without a suspension point, until `done` is set (true) or the guard passes
// (false). noinline keeps the loop out of the coroutine frame (g++ 12 drops volatile
// there).
[[gnu::noinline]] bool spin_until(const std::atomic<bool>& done) {
  const auto end = std::chrono::steady_clock::now() + guard;
  while (!done.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > end) return false;
  }
  return true;
}

// Yields until `flag` is set: lets another task reach its suspension point.
coring::task<void> yield_until(const std::atomic<bool>& flag) {
  while (!flag.load(std::memory_order_acquire)) co_await coring::yield();
  // A few more passes: the other task sets the flag just before it suspends.
  for (int i = 0; i < 8; ++i) co_await coring::yield();
}

struct woken {
  std::atomic<bool> waiting{false};  // about to suspend
  std::atomic<bool> ran{false};      // resumed
  std::atomic<int> armed_on{-1};     // worker it suspended on
  std::atomic<int> ran_on{-1};       // worker it resumed on
};

coring::task<void> receive_one(coring::channel<int>& ch, woken& w) {
  w.armed_on = coring::current_worker();
  w.waiting.store(true, std::memory_order_release);
  (void)co_await ch.recv();
  w.ran_on = coring::current_worker();
  w.ran.store(true, std::memory_order_release);
}

coring::task<void> sleep_briefly(woken& w) {
  w.armed_on = coring::current_worker();
  w.waiting.store(true, std::memory_order_release);
  co_await coring::sleep(2ms);
  w.ran_on = coring::current_worker();
  w.ran.store(true, std::memory_order_release);
}

coring::task<void> read_one(coring::unix_stream& s, woken& w) {
  std::byte b[1];
  w.armed_on = coring::current_worker();
  w.waiting.store(true, std::memory_order_release);
  (void)co_await s.read(b);
  w.ran_on = coring::current_worker();
  w.ran.store(true, std::memory_order_release);
}

}  // namespace

CO_TEST(stall, a_receiver_handed_an_item_by_a_busy_sender_runs_on_the_idle_worker) {
  for (int round = 0; round < 3; ++round) {
    coring::channel<int> ch(1);
    woken w;
    auto receiver = coring::spawn(receive_one(ch, w));
    co_await yield_until(w.waiting);
    const int sender_worker = coring::current_worker();
    co_await ch.send(round);  // the receiver goes into this worker's LIFO slot
    EXPECT_TRUE(spin_until(w.ran)) << "round " << round << ": the receiver waited for its busy worker";
    EXPECT_NE(w.ran_on.load(), sender_worker);
    co_await receiver;
  }
}

CO_TEST(stall, a_timer_armed_on_a_busy_worker_fires_on_the_idle_worker) {
  int checked = 0;
  for (int attempt = 0; attempt < 64 && checked < 3; ++attempt) {
    woken w;
    auto sleeper = coring::spawn(sleep_briefly(w));
    co_await yield_until(w.waiting);
    if (w.armed_on.load() == coring::current_worker()) {
      // The timer sits in this worker's heap; this worker now computes.
      EXPECT_TRUE(spin_until(w.ran)) << "the timer waited for its busy worker";
      EXPECT_NE(w.ran_on.load(), coring::current_worker());
      ++checked;
    }
    co_await sleeper;
  }
  EXPECT_EQ(checked, 3) << "never got the sleeper and the spinner onto one worker";
}

CO_TEST(stall, a_read_submitted_on_a_busy_worker_completes_on_the_idle_worker) {
  int checked = 0;
  for (int attempt = 0; attempt < 64 && checked < 3; ++attempt) {
    auto [a, b] = coring::unix_stream::pair();
    woken w;
    auto reader = coring::spawn(read_one(a, w));
    co_await yield_until(w.waiting);
    if (w.armed_on.load() == coring::current_worker()) {
      // The read's SQE is queued in this worker's ring, maybe not even submitted yet.
      const char byte = 'x';
      EXPECT_EQ(::write(b.native_handle(), &byte, 1), 1);
      EXPECT_TRUE(spin_until(w.ran)) << "the read completion waited for its busy worker";
      EXPECT_NE(w.ran_on.load(), coring::current_worker());
      ++checked;
    } else {
      const char byte = 'y';
      EXPECT_EQ(::write(b.native_handle(), &byte, 1), 1);
    }
    co_await reader;
  }
  EXPECT_EQ(checked, 3) << "never got the reader and the spinner onto one worker";
}

// The busy worker's own wake-up (its eventfd read completing) sits in its completion
// queue ahead of the read's completion. The queue is FIFO, so a peer that left that
// wake-up for the owner would leave the read behind it too.
CO_TEST(stall, a_read_behind_a_wake_up_of_the_busy_worker_completes_on_the_idle_worker) {
  int checked = 0;
  for (int attempt = 0; attempt < 64 && checked < 3; ++attempt) {
    auto [a, b] = coring::unix_stream::pair();
    woken w;
    auto reader = coring::spawn(read_one(a, w));
    co_await yield_until(w.waiting);
    if (w.armed_on.load() == coring::current_worker()) {
      coring::current_reactor()->wake();  // its eventfd CQE comes first
      const char byte = 'x';
      EXPECT_EQ(::write(b.native_handle(), &byte, 1), 1);
      EXPECT_TRUE(spin_until(w.ran)) << "the read completion waited behind the busy worker's wake-up";
      EXPECT_NE(w.ran_on.load(), coring::current_worker());
      ++checked;
    } else {
      const char byte = 'y';
      EXPECT_EQ(::write(b.native_handle(), &byte, 1), 1);
    }
    co_await reader;
  }
  EXPECT_EQ(checked, 3) << "never got the reader and the spinner onto one worker";
}
