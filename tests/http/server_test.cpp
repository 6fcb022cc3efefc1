// coring-http as a program: routes, pipelining, Expect: 100-continue, the timeouts, the
// connection cap and the graceful shutdown. Each test starts the binary on port 0 and
// talks to it over blocking sockets (http_test_support.hpp).
#include "http_test_support.hpp"

#include <gtest/gtest.h>

#include <cerrno>

using namespace std::chrono_literals;
using coring::testing::blocking_client;
using coring::testing::echo_request;
using coring::testing::echo_response;
using coring::testing::get_request;
using coring::testing::hello_response;
using coring::testing::server_process;

namespace {

std::vector<std::string> server_args(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{CORING_HTTP_BINARY, "--workers", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string error_response(int status, std::string_view reason) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(reason.size() + 1) +
         "\r\nConnection: close\r\n\r\n" + std::string(reason) + "\n";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST(http_server, answers_the_routes) {
  server_process server(server_args());
  blocking_client c(server.port);
  c.send(get_request());
  EXPECT_EQ(c.receive(hello_response().size()), hello_response());
  c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n";
  EXPECT_EQ(c.receive(head.size()), head);
  c.send(echo_request("some bytes\r\n\r\nthat look like HTTP"));
  EXPECT_EQ(c.receive(echo_response("some bytes\r\n\r\nthat look like HTTP").size()),
            echo_response("some bytes\r\n\r\nthat look like HTTP"));
  c.send(echo_request(""));
  EXPECT_EQ(c.receive(echo_response("").size()), echo_response(""));
  c.send("GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string not_found =
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nNot Found\n";
  EXPECT_EQ(c.receive(not_found.size()), not_found);
  c.send("DELETE / HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string not_allowed =
      "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nAllow: GET, "
      "HEAD\r\n\r\nMethod Not Allowed\n";
  EXPECT_EQ(c.receive(not_allowed.size()), not_allowed);
}

TEST(http_server, pipelined_requests_are_answered_in_order_then_closed) {
  server_process server(server_args());
  blocking_client c(server.port);
  c.send(get_request() + echo_request("abc") + get_request() + get_request(true) + get_request());
  bool closed = false;
  const std::string all = c.receive_all(&closed);
  EXPECT_EQ(all, hello_response() + echo_response("abc") + hello_response() + hello_response(true));
  EXPECT_TRUE(closed);
}

TEST(http_server, requests_split_across_many_writes_are_reassembled) {
  server_process server(server_args());
  blocking_client c(server.port);
  const std::string request = echo_request(std::string(3000, 'q'));
  for (std::size_t i = 0; i < request.size(); i += 700) {
    c.send(std::string_view(request).substr(i, 700));
    std::this_thread::sleep_for(2ms);
  }
  const std::string expected = echo_response(std::string(3000, 'q'));
  EXPECT_EQ(c.receive(expected.size()), expected);
}

TEST(http_server, http10_closes_unless_keep_alive) {
  server_process server(server_args());
  {
    blocking_client c(server.port);
    c.send("GET / HTTP/1.0\r\n\r\n");
    bool closed = false;
    EXPECT_EQ(c.receive_all(&closed), hello_response(true));
    EXPECT_TRUE(closed);
  }
  blocking_client c(server.port);
  c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const std::string kept =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, "
      "World!";
  EXPECT_EQ(c.receive(kept.size()), kept);
  c.send(get_request());
  EXPECT_EQ(c.receive(hello_response().size()), hello_response());
}

TEST(http_server, expect_continue_gets_an_interim_response) {
  server_process server(server_args());
  blocking_client c(server.port);
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  EXPECT_EQ(c.receive(interim.size()), interim);
  c.send("hello");
  EXPECT_EQ(c.receive(echo_response("hello").size()), echo_response("hello"));
}

TEST(http_server, rejections_carry_the_right_status_and_close) {
  server_process server(server_args({"--max-body", "100"}));
  struct bad {
    std::string request;
    std::string response;
  };
  const std::vector<bad> cases{
      {"GET / HTTP/1.1\r\nHost: t\r\nBad Field: x\r\n\r\n", error_response(400, "Bad Request")},
      {"GET / HTTP/1.1\r\n\r\n", error_response(400, "Bad Request")},
      {"GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(9000, 'a') + "\r\n\r\n",
       error_response(431, "Request Header Fields Too Large")},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'b'),
       error_response(413, "Content Too Large")},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       error_response(501, "Not Implemented")},
      {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", error_response(505, "HTTP Version Not Supported")},
  };
  for (const bad& b : cases) {
    blocking_client c(server.port);
    c.send(b.request);
    bool closed = false;
    EXPECT_EQ(c.receive_all(&closed), b.response) << b.request.substr(0, 60);
    EXPECT_TRUE(closed);
  }
  // Answers to earlier pipelined requests are still sent, in order, before the error.
  blocking_client c(server.port);
  c.send(get_request() + "BROKEN\r\n\r\n");
  EXPECT_EQ(c.receive_all(), hello_response() + error_response(400, "Bad Request"));
}

TEST(http_server, slow_headers_get_408_within_the_header_timeout) {
  server_process server(server_args({"--header-timeout-ms", "400"}));
  blocking_client slow(server.port);
  blocking_client fine(server.port);
  const auto start = std::chrono::steady_clock::now();
  // A byte every 50 ms keeps each read short, but the head never completes in time.
  const std::string head = get_request();
  std::string got;
  for (std::size_t i = 0; i + 2 < head.size() && seconds_since(start) < 3; ++i) {
    if (::send(slow.fd(), head.data() + i, 1, MSG_NOSIGNAL) != 1) break;  // the server closed
    fine.send(get_request());
    EXPECT_EQ(fine.receive(hello_response().size()), hello_response());
    std::this_thread::sleep_for(50ms);
  }
  bool closed = false;
  got = slow.receive_all(&closed);
  const double elapsed = seconds_since(start);
  EXPECT_EQ(got, error_response(408, "Request Timeout"));
  EXPECT_TRUE(closed);
  EXPECT_GE(elapsed, 0.35);
}

TEST(http_server, a_connection_that_sends_nothing_is_closed_after_the_header_timeout) {
  server_process server(server_args({"--header-timeout-ms", "300"}));
  blocking_client c(server.port);
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  EXPECT_EQ(c.receive_all(&closed), error_response(408, "Request Timeout"));
  EXPECT_TRUE(closed);
  EXPECT_GE(seconds_since(start), 0.25);
}

TEST(http_server, idle_keep_alive_connections_are_closed_after_the_idle_timeout) {
  server_process server(server_args({"--idle-timeout-ms", "300"}));
  blocking_client c(server.port);
  c.send(get_request());
  EXPECT_EQ(c.receive(hello_response().size()), hello_response());
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  EXPECT_EQ(c.receive_all(&closed), "");  // closed quietly, no 408 between requests
  EXPECT_TRUE(closed);
  EXPECT_GE(seconds_since(start), 0.25);
}

TEST(http_server, accepting_pauses_at_the_connection_cap) {
  server_process server(server_args({"--max-connections", "3"}));
  std::vector<std::unique_ptr<blocking_client>> first;
  for (int i = 0; i < 3; ++i) {
    first.push_back(std::make_unique<blocking_client>(server.port));
    first.back()->send(get_request());
    EXPECT_EQ(first.back()->receive(hello_response().size()), hello_response());
  }
  // The fourth connects (the kernel completes the handshake for the backlog) but is not
  // served while three are open.
  blocking_client waiting(server.port, 300ms);
  waiting.send(get_request());
  EXPECT_EQ(waiting.receive(hello_response().size()), "");
  first.erase(first.begin());  // a slot frees up
  timeval tv{5, 0};
  ::setsockopt(waiting.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(waiting.receive(hello_response().size()), hello_response());
  // The others still work.
  first.front()->send(get_request());
  EXPECT_EQ(first.front()->receive(hello_response().size()), hello_response());
}

TEST(http_server, sigterm_finishes_in_flight_requests_closes_idle_ones_and_exits_0) {
  server_process server(server_args({"--debug-routes", "--shutdown-timeout-ms", "5000"}));
  blocking_client idle(server.port);
  idle.send(get_request());
  ASSERT_EQ(idle.receive(hello_response().size()), hello_response());
  blocking_client busy(server.port);
  busy.send("GET /delay?ms=700&size=5 HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(200ms);  // the request is in the server's hands
  server.process.signal(SIGTERM);

  bool idle_closed = false;
  EXPECT_EQ(idle.receive_all(&idle_closed), "");
  EXPECT_TRUE(idle_closed);

  bool busy_closed = false;
  EXPECT_EQ(busy.receive_all(&busy_closed),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\ndelay");
  EXPECT_TRUE(busy_closed);

  // New clients are refused once the listener is closed.
  EXPECT_THROW(blocking_client late(server.port), std::system_error);
  const auto status = server.process.wait_exit(10s);
  ASSERT_TRUE(status.has_value()) << "no exit within 10 s";
  EXPECT_EQ(*status, 0);
}

TEST(http_server, the_shutdown_timeout_bounds_the_drain) {
  server_process server(server_args({"--debug-routes", "--shutdown-timeout-ms", "300"}));
  blocking_client busy(server.port);
  busy.send("GET /delay?ms=30000 HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(100ms);
  server.process.signal(SIGINT);
  const auto status = server.process.wait_exit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  bool closed = false;
  EXPECT_EQ(busy.receive_all(&closed), "");  // cancelled: no response, the connection closed
  EXPECT_TRUE(closed);
}

TEST(http_server, bad_options_exit_2) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--port", "70000"},
                                        std::vector<std::string>{"--workers", "0"},
                                        std::vector<std::string>{"--max-body", "x"},
                                        std::vector<std::string>{"--frobnicate", "1"}}) {
    args.insert(args.begin(), CORING_HTTP_BINARY);
    coring::testing::child_process p(args);
    EXPECT_EQ(p.wait_exit(10s), 2) << args[1];
  }
}
