// coring::channel<T>: exactly-once MPMC delivery, bounded back-pressure, close, try_*,
// cancellation at send and recv, no lost items when cancellation races with hand-off.
#include "sync_helpers.hpp"

#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace {

using coring::testing::ended_cancelled;
using coring::testing::eventually;

coring::task<void> produce(coring::channel<int>& ch, int first, int count) {
  for (int i = first; i < first + count; ++i) co_await ch.send(i);
}

coring::task<void> consume(coring::channel<int>& ch, std::vector<int>& seen) {
  while (auto v = co_await ch.recv()) seen.push_back(*v);
}

coring::task<void> mpmc(std::size_t capacity) {
  constexpr int producers = 4, consumers = 4, per_producer = 50000;
  coring::channel<int> ch(capacity);
  std::vector<std::vector<int>> seen(consumers);
  std::vector<coring::join_handle<void>> cons, prods;
  for (int c = 0; c < consumers; ++c) cons.push_back(coring::spawn(consume(ch, seen[c])));
  for (int p = 0; p < producers; ++p) prods.push_back(coring::spawn(produce(ch, p * per_producer, per_producer)));
  for (auto& h : prods) co_await std::move(h);
  ch.close();
  for (auto& h : cons) co_await std::move(h);
  std::vector<int> count(producers * per_producer, 0);
  for (const auto& s : seen) {
    for (int v : s) ++count[static_cast<std::size_t>(v)];
    // Items of one producer arrive at one consumer in the order they were sent.
    std::vector<int> last(producers, -1);
    for (int v : s) {
      EXPECT_GT(v, last[static_cast<std::size_t>(v / per_producer)]);
      last[static_cast<std::size_t>(v / per_producer)] = v;
    }
  }
  int wrong = 0;
  for (int c : count) wrong += c != 1 ? 1 : 0;
  EXPECT_EQ(wrong, 0) << "items not received exactly once";
}

}  // namespace

CO_TEST(channel, four_producers_four_consumers_exactly_once_bounded_1) { co_await mpmc(1); }
CO_TEST(channel, four_producers_four_consumers_exactly_once_bounded_4) { co_await mpmc(4); }
CO_TEST(channel, four_producers_four_consumers_exactly_once_bounded_1000) { co_await mpmc(1000); }
CO_TEST(channel, four_producers_four_consumers_exactly_once_unbounded) { co_await mpmc(coring::channel<int>::unbounded); }

namespace {
coring::task<void> send_counted(coring::channel<int>& ch, int v, std::atomic<int>& sent) {
  co_await ch.send(v);
  sent.fetch_add(1);
}
}  // namespace

CO_TEST(channel, full_bounded_channel_suspends_senders) {
  coring::channel<int> ch(2);
  std::atomic<int> sent{0};
  std::vector<coring::join_handle<void>> senders;
  for (int i = 0; i < 10; ++i) senders.push_back(coring::spawn(send_counted(ch, i, sent)));
  CO_ASSERT_TRUE(co_await eventually([&] { return ch.waiting_senders() == 8; }));
  EXPECT_EQ(ch.size(), 2U);  // no growth beyond the capacity
  EXPECT_EQ(sent.load(), 2);
  EXPECT_FALSE(ch.try_send(99));
  // Each receive makes room for exactly one waiting sender.
  auto first = co_await ch.recv();
  CO_ASSERT_TRUE(first.has_value());
  CO_ASSERT_TRUE(co_await eventually([&] { return ch.waiting_senders() == 7; }));
  EXPECT_EQ(ch.size(), 2U);
  int received = 1;
  while (received < 10) {
    auto v = co_await ch.recv();
    CO_ASSERT_TRUE(v.has_value());
    ++received;
  }
  for (auto& h : senders) co_await std::move(h);
  EXPECT_EQ(sent.load(), 10);
  EXPECT_EQ(ch.size(), 0U);
}

namespace {
coring::task<bool> recv_expect_end(coring::channel<int>& ch) { co_return !(co_await ch.recv()).has_value(); }
coring::task<bool> send_expect_closed(coring::channel<int>& ch, int v) {
  try {
    co_await ch.send(v);
  } catch (const coring::channel_closed&) {
    co_return true;
  }
  co_return false;
}
}  // namespace

CO_TEST(channel, close_wakes_all_receivers) {
  coring::channel<int> ch(4);
  std::vector<coring::join_handle<bool>> receivers;
  for (int i = 0; i < 16; ++i) receivers.push_back(coring::spawn(recv_expect_end(ch)));
  CO_ASSERT_TRUE(co_await eventually([&] { return ch.waiting_receivers() == 16; }));
  ch.close();
  for (auto& h : receivers) EXPECT_TRUE(co_await std::move(h));
  EXPECT_TRUE(ch.is_closed());
}

CO_TEST(channel, close_wakes_all_senders_with_channel_closed) {
  coring::channel<int> ch(1);
  EXPECT_TRUE(ch.try_send(0));
  std::vector<coring::join_handle<bool>> senders;
  for (int i = 0; i < 16; ++i) senders.push_back(coring::spawn(send_expect_closed(ch, i + 1)));
  CO_ASSERT_TRUE(co_await eventually([&] { return ch.waiting_senders() == 16; }));
  ch.close();
  ch.close();  // idempotent
  for (auto& h : senders) EXPECT_TRUE(co_await std::move(h));
  // Receivers drain what was buffered, then see the end.
  auto v = co_await ch.recv();
  CO_ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 0);
  EXPECT_FALSE((co_await ch.recv()).has_value());
  EXPECT_FALSE(ch.try_recv().has_value());
  EXPECT_THROW((void)ch.try_send(5), coring::channel_closed);
  EXPECT_TRUE(co_await send_expect_closed(ch, 7));
}

CO_TEST(channel, try_send_try_recv_and_move_only_items) {
  coring::channel<std::unique_ptr<std::string>> ch(2);
  EXPECT_TRUE(ch.try_send(std::make_unique<std::string>("a")));
  auto b = std::make_unique<std::string>("b");
  co_await ch.send(std::move(b));
  auto c = std::make_unique<std::string>("c");
  EXPECT_FALSE(ch.try_send(std::move(c)));
  EXPECT_NE(c, nullptr);  // a failed try_send leaves the value with the caller
  auto a = ch.try_recv();
  CO_ASSERT_TRUE(a.has_value());
  EXPECT_EQ(**a, "a");
  auto got_b = co_await ch.recv();
  CO_ASSERT_TRUE(got_b.has_value());
  EXPECT_EQ(**got_b, "b");
  EXPECT_FALSE(ch.try_recv().has_value());
  EXPECT_FALSE(ch.is_closed());
  EXPECT_THROW(coring::channel<int>(0), std::invalid_argument);
}

CO_TEST(channel, unbounded_never_suspends_senders_and_grows) {
  coring::channel<int> ch;
  for (int i = 0; i < 100000; ++i) co_await ch.send(i);
  EXPECT_EQ(ch.size(), 100000U);
  for (int i = 0; i < 100000; ++i) {
    auto v = ch.try_recv();
    CO_ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, i);
  }
}

namespace {
coring::task<void> recv_one(coring::channel<int>& ch, std::atomic<int>& got) {
  auto v = co_await ch.recv();
  if (v) got.fetch_add(1);
}
}  // namespace

CO_TEST(channel, cancel_while_receiving) {
  coring::channel<int> ch(1);
  std::atomic<int> got{0};
  auto h = coring::spawn(recv_one(ch, got));
  CO_ASSERT_TRUE(co_await eventually([&] { return ch.waiting_receivers() == 1; }));
  h.cancel();
  EXPECT_TRUE(co_await ended_cancelled(std::move(h)));
  EXPECT_EQ(ch.waiting_receivers(), 0U);
  EXPECT_TRUE(ch.try_send(1));  // buffered, not handed to the cancelled receiver
  EXPECT_EQ(ch.size(), 1U);
}

CO_TEST(channel, cancel_while_sending) {
  coring::channel<int> ch(1);
  EXPECT_TRUE(ch.try_send(1));
  std::atomic<int> sent{0};
  auto h = coring::spawn(send_counted(ch, 2, sent));
  CO_ASSERT_TRUE(co_await eventually([&] { return ch.waiting_senders() == 1; }));
  h.cancel();
  EXPECT_TRUE(co_await ended_cancelled(std::move(h)));
  EXPECT_EQ(sent.load(), 0);
  EXPECT_EQ(*ch.try_recv(), 1);
  EXPECT_FALSE(ch.try_recv().has_value());  // the cancelled sender's item was not sent
}

// Cancellation racing with hand-off: every item sent is either received by a receiver
// (which then returns it even if cancelled at the same time) or still buffered.
CO_TEST(channel, no_lost_items_when_cancel_races_with_send) {
  coring::channel<int> ch(1);
  std::atomic<int> got{0};
  int sent = 0;
  for (int round = 0; round < 500; ++round) {
    auto h = coring::spawn(recv_one(ch, got));
    if (round % 2 == 0) co_await coring::yield();
    if (ch.try_send(round)) ++sent;
    h.cancel();
    (void)co_await ended_cancelled(std::move(h));
    while (ch.try_recv()) got.fetch_add(1);
  }
  EXPECT_EQ(got.load(), sent);
}
