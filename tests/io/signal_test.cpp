// signal(): a process-directed signal wakes the awaiting coroutine.
#include "io_test.hpp"

#include <coring/io/signal.hpp>
#include <coring/io/timer.hpp>

#include <signal.h>
#include <unistd.h>

using namespace std::chrono_literals;

IO_TEST(signal, delivery_wakes_the_waiter) {
  coring::block_signals({SIGUSR1});  // no other thread exists that could take it
  auto sender = []() -> coring::task<int> {
    co_await coring::sleep(10ms);
    ::kill(::getpid(), SIGUSR1);
    co_return 0;
  };
  auto [got, sent] = co_await coring::gather(coring::signal(SIGUSR1), sender());
  EXPECT_EQ(got, SIGUSR1);
  (void)sent;
}
