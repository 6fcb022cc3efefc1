// The asyncio tutorials of tools/examples: each program runs with shortened delays
// (--second-ms) and its output is checked. Timing is checked only relative to the
// tutorial's own second, with wide margins ("about 2 s, not 6"), so that a loaded
// machine or a sanitizer does not make the tests flaky.
#include "http_test_support.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

using namespace std::chrono_literals;
using coring::testing::blocking_client;
using coring::testing::child_process;

namespace {

constexpr const char* second_ms = "50";

struct run_result {
  std::vector<std::string> lines;
  int status = -1;
};

// Runs an example with --second-ms and returns its stdout lines and exit status.
run_result run(const std::string& binary, std::vector<std::string> extra = {"--second-ms", second_ms}) {
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), extra.begin(), extra.end());
  child_process p(argv);
  run_result r;
  std::istringstream out(p.read_all(60s));
  for (std::string line; std::getline(out, line);) r.lines.push_back(line);
  r.status = p.wait_exit(30s).value_or(-1);
  return r;
}

std::size_t index_of(const std::vector<std::string>& lines, std::string_view needle) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(needle) != std::string::npos) return i;
  }
  return lines.size();
}

// The number after `prefix` in the first line containing it; -1 if none.
double number_after(const std::vector<std::string>& lines, std::string_view prefix) {
  for (const std::string& line : lines) {
    const std::size_t at = line.find(prefix);
    if (at != std::string::npos) return std::atof(line.c_str() + at + prefix.size());
  }
  return -1;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const std::string& l : lines) all += l + "\n";
  return all;
}

}  // namespace

TEST(examples, hello_world) {
  const auto start = std::chrono::steady_clock::now();
  const run_result r = run(EXAMPLE_hello_world);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(joined(r.lines), "Hello ...\n... World!\n");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);  // the pause happened
}

TEST(examples, coffee_shop_serves_all_three_orders_in_about_two_seconds) {
  const run_result r = run(EXAMPLE_coffee_shop);
  EXPECT_EQ(r.status, 0);
  ASSERT_EQ(r.lines.size(), 7u) << joined(r.lines);
  // Every order is started before any is ready: they are made at the same time.
  std::size_t last_start = 0, first_ready = r.lines.size();
  for (std::size_t i = 0; i < r.lines.size(); ++i) {
    if (r.lines[i].rfind("making ", 0) == 0) last_start = i;
    if (r.lines[i].find(" ready") != std::string::npos && first_ready == r.lines.size()) first_ready = i;
  }
  EXPECT_LT(last_start, first_ready) << joined(r.lines);
  for (const char* order : {"latte", "espresso", "cappuccino"}) {
    EXPECT_LT(index_of(r.lines, std::string(order) + " ready"), r.lines.size()) << order;
  }
  const double took = number_after(r.lines, "after ");
  EXPECT_GE(took, 1.9);
}

TEST(examples, two_tasks_the_shorter_one_finishes_first) {
  const run_result r = run(EXAMPLE_two_tasks);
  EXPECT_EQ(r.status, 0);
  const std::size_t task2 = index_of(r.lines, "task 2 done");
  const std::size_t task1 = index_of(r.lines, "task 1 done");
  ASSERT_LT(task1, r.lines.size()) << joined(r.lines);
  EXPECT_LT(task2, task1) << joined(r.lines);
  const double took = number_after(r.lines, "finished after ");
  EXPECT_GE(took, 1.9);
}

TEST(examples, custom_awaitable) {
  const run_result r = run(EXAMPLE_custom_awaitable);
  EXPECT_EQ(r.status, 0);
  ASSERT_EQ(r.lines.size(), 3u) << joined(r.lines);
  EXPECT_EQ(r.lines[0], "waited 1.0 s");
  EXPECT_EQ(r.lines[1].rfind("waited 1.0 s and waited 0.5 s, together in ", 0), 0u) << r.lines[1];
  EXPECT_LT(number_after(r.lines, "together in "), 1.45);
  EXPECT_EQ(r.lines[2], "ready at once: 42");
}

TEST(examples, forgotten_await_never_runs_the_task) {
  const run_result r = run(EXAMPLE_forgotten_await, {});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(joined(r.lines),
            "calling greet(\"forgotten\") without co_await ...\n"
            "... printed nothing: the task never ran\n"
            "hello, awaited\n");
}

TEST(examples, offload_keeps_the_only_worker_free) {
  const run_result r = run(EXAMPLE_offload);
  EXPECT_EQ(r.status, 0);
  // A 3 s blocking call with a tick every 0.5 s: the worker ticks while it runs.
  const std::size_t blocking = index_of(r.lines, "blocking() returned 42; the worker ticked ");
  ASSERT_LT(blocking, r.lines.size()) << joined(r.lines);
  EXPECT_GE(number_after(r.lines, "blocking() returned 42; the worker ticked "), 3) << joined(r.lines);
  EXPECT_LT(index_of(r.lines, "compute() returned 1270607;"), r.lines.size()) << joined(r.lines);
}

TEST(examples, http_fetch_runs_the_requests_concurrently) {
  const run_result r = run(EXAMPLE_http_fetch);
  EXPECT_EQ(r.status, 0);
  const std::string all = joined(r.lines);
  for (const char* expected : {"/ ", "/delay?ms=50&size=1000 ", "/delay?ms=100&size=20000 ",
                               "/delay?ms=150&size=300000 ", "/delay?ms=500&size=10 "}) {
    EXPECT_LT(index_of(r.lines, expected), r.lines.size()) << expected << "\n" << all;
  }
  EXPECT_NE(r.lines[index_of(r.lines, "/ ")].find(" 13 bytes"), std::string::npos) << all;
  EXPECT_NE(r.lines[index_of(r.lines, "size=300000 ")].find(" 300000 bytes"), std::string::npos) << all;
  EXPECT_NE(r.lines[index_of(r.lines, "size=10 ")].find("timed out"), std::string::npos) << all;
  // Concurrent: the total is about the slowest (the 4 s timeout), far below the sum.
  const double total = number_after(r.lines, "total ");
  const double sum = number_after(r.lines, "one after another: ");
  EXPECT_GE(total, 3.9) << all;
  EXPECT_LT(total, 0.7 * sum) << all;
}

TEST(examples, chat_server_broadcasts_lines_to_the_others) {
  coring::testing::server_process server({EXAMPLE_chat_server});
  auto read_line = [](blocking_client& c) {
    std::string line;
    for (std::string ch; (ch = c.receive(1)).size() == 1 && ch != "\n";) line += ch;
    return line;
  };
  blocking_client alice(server.port, 10s), bob(server.port, 10s), carol(server.port, 10s);
  alice.send("alice\n");
  EXPECT_EQ(read_line(alice), "welcome alice (1 online)");
  bob.send("bob\n");
  EXPECT_EQ(read_line(bob), "welcome bob (2 online)");
  EXPECT_EQ(read_line(alice), "* bob joined");
  carol.send("carol\r\n");
  EXPECT_EQ(read_line(carol), "welcome carol (3 online)");
  EXPECT_EQ(read_line(alice), "* carol joined");
  EXPECT_EQ(read_line(bob), "* carol joined");

  alice.send("hello, room\n");
  EXPECT_EQ(read_line(bob), "alice: hello, room");
  EXPECT_EQ(read_line(carol), "alice: hello, room");
  bob.send("hi alice\n");
  EXPECT_EQ(read_line(alice), "bob: hi alice");
  EXPECT_EQ(read_line(carol), "bob: hi alice");

  ::shutdown(bob.fd(), SHUT_WR);  // bob leaves
  EXPECT_EQ(read_line(alice), "* bob left");
  EXPECT_EQ(read_line(carol), "* bob left");
  // The sender never hears its own lines: alice's next line is carol's.
  carol.send("bye\n");
  EXPECT_EQ(read_line(alice), "carol: bye");

  server.process.signal(SIGTERM);
  EXPECT_EQ(server.process.wait_exit(10s), 0);
}

TEST(examples, async_generator_counts_down_and_reads_lines_as_they_arrive) {
  const run_result r = run(EXAMPLE_async_generator);
  EXPECT_EQ(r.status, 0);
  ASSERT_EQ(r.lines.size(), 8u) << joined(r.lines);
  EXPECT_EQ(r.lines[0], "3");
  EXPECT_EQ(r.lines[1], "2");
  EXPECT_EQ(r.lines[2], "1");
  EXPECT_GE(number_after(r.lines, "liftoff after "), 2.9);  // three sleeps of a second
  EXPECT_EQ(r.lines[4].rfind("got \"first line\" at ", 0), 0u) << joined(r.lines);
  EXPECT_EQ(r.lines[5].rfind("got \"second line\" at ", 0), 0u) << joined(r.lines);
  EXPECT_EQ(r.lines[6].rfind("got \"last line\" at ", 0), 0u) << joined(r.lines);
  // Line by line as they arrive, not all at the end: the first came a second before the last.
  EXPECT_GE(number_after(r.lines, "\"last line\" at ") - number_after(r.lines, "\"first line\" at "), 0.9)
      << joined(r.lines);
  EXPECT_EQ(r.lines[7], "end of the connection");
}
