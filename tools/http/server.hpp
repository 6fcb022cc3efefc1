// The HTTP/1.1 server behind `coring-http` (tools/http/main.cpp), also run in-process by
// tests, the http_fetch example and bench/http_plaintext.cpp.
//
//   auto srv = std::make_unique<coring::http::server>(
//       coring::tcp_listener::bind("127.0.0.1", 8080), coring::http::server_options{});
//   co_await srv->run();        // on a worker; returns after stop() and the drain
//
// Routes: `GET /` (and HEAD) answers "Hello, World!" as text/plain; `POST /echo` answers
// its body; with `debug_routes`, `GET /delay?ms=M&size=N` answers N bytes after M ms
// (tests and examples: a request that is in flight for a known time), and `GET
// /stop-after` answers like `GET /` and starts the shutdown right after building that
// answer (tests: the moment a SIGTERM can land before the answer is written). Other paths: 404;
// a known path with another method: 405.
//
// One task per connection, children of one task_group. A connection reads, parses
// every complete request in what it has (pipelining), writes all their responses with
// one write, and reads again. Limits and timeouts (server_options):
//  - the parser's (parser.hpp): 400/413/431/501/505, answered with `Connection: close`;
//    the server then stops writing and reads what the client still sends for a moment
//    before closing, so the answer is not destroyed by a reset (a "lingering close");
//  - at most `max_connections` connections: the accept loop waits for a free slot
//    before it accepts again, so further clients wait in the listen backlog;
//  - `header_timeout`: a request's whole head must arrive within it, counted from its
//    first byte (from the accept, for a connection's first request); else 408 and close
//    (slowloris);
//  - `body_timeout`: a request's body must arrive within it, counted from the end of its
//    head; else 408 and close;
//  - `max_body_memory`: the bodies that connections hold while they wait for the rest
//    are bounded in total; a request whose Content-Length does not fit gets 503 and close;
//  - `idle_timeout`: a keep-alive connection with no request started is closed after
//    it; it also bounds each read of a body, and the write of answers together with the
//    read that follows it (a client that stops reading is dropped).
//
// Shutdown (stop(), any thread): the listener is closed at once (new clients are
// refused), idle keep-alive connections are closed, a connection with a request in hand
// finishes it (its response carries `Connection: close`) and closes; every request that
// was parsed is answered, also one answered just as the drain began. After
// `shutdown_timeout` whatever is left is cancelled. So run() returns at most
// shutdown_timeout + the time cancelled operations take to unwind (a few ms) after stop().
#pragma once

#include "parser.hpp"

#include <coring/coring.hpp>
#include <coring/core/semaphore.hpp>
#include <coring/core/event.hpp>
#include <coring/sched/task_group.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

namespace coring::http {

struct server_options {
  parser_limits limits;  // head <= 8 KiB; body cap: limits.max_body_bytes (--max-body)
  std::size_t max_connections = 10'000;
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds shutdown_timeout{5'000};
  // A request's body must arrive within this, counted from the end of its head; else
  // 408 and close (a client trickling a body cannot hold a connection forever).
  std::chrono::milliseconds body_timeout{30'000};
  // Bytes of request bodies that all connections together may hold while waiting for
  // the rest of them (each request reserves its Content-Length when its head arrives
  // without the whole body); a request beyond it gets 503 and the connection closes.
  std::size_t max_body_memory = std::size_t{128} << 20;
  bool debug_routes = false;  // GET /delay?ms=M&size=N, GET /stop-after
};

// Appends a response head to `out`: status line, Content-Type (unless empty),
// Content-Length, a Connection field when it differs from the client's version default
// (`close` for HTTP/1.1, `keep-alive` for HTTP/1.0), then `extra_fields` (whole lines,
// each ending in CRLF) and the blank line.
void append_head(std::string& out, int status, std::string_view content_type, std::size_t content_length,
                 bool keep_alive, int minor_version, std::string_view extra_fields = {});

// How long the caller must wait before answering `req`: the `ms` of /delay when debug
// routes are on, else zero. (Separate from respond() so that a response built after
// the wait sees a shutdown that started during it.)
std::chrono::milliseconds delay_of(const request& req, bool debug_routes);

// Appends the response of the routes to `req` (see the file comment).
void respond(const request& req, bool keep_alive, bool debug_routes, std::string& out);

// Appends the response to a request the parser rejected (`status`), with
// `Connection: close`.
void append_error(std::string& out, int status);

class server {
 public:
  // Serves connections accepted on `listener` once run() is awaited.
  server(tcp_listener listener, server_options options);
  // Must not run while run() does (await it to the end first).
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Accepts and serves until stop(), then drains (see the file comment) and returns.
  // Must be awaited on a worker of a coring runtime, once.
  task<void> run();

  // Starts the shutdown. Any thread; idempotent; returns at once.
  void stop() noexcept;

  endpoint local_endpoint() const { return listener_.local_endpoint(); }

  // Snapshots, for tests and monitoring. Any thread.
  std::size_t open_connections() const noexcept;
  std::uint64_t accepted() const noexcept { return accepted_.load(std::memory_order_relaxed); }
  std::uint64_t requests() const noexcept { return requests_.load(std::memory_order_relaxed); }

 private:
  // A connection as the shutdown path sees it; lives in the connection's frame.
  struct entry {
    int fd = -1;
    // Waiting for the first byte of a request, with nothing buffered: such a connection
    // is closed by the shutdown. seq_cst, with draining_: see serve().
    std::atomic<bool> idle{false};
    entry* prev = nullptr;
    entry* next = nullptr;
  };
  class registration;
  class body_reservation;

  task<void> accept_loop();
  task<void> serve(tcp_stream conn, semaphore::permit slot);
  task<void> session(tcp_stream& conn, entry& self);
  task<void> reject(tcp_stream& conn, int status, std::string& out);
  // Writes all of `bytes`, within idle_timeout (else coring::timed_out).
  task<void> send(tcp_stream& conn, std::string_view bytes);
  task<void> join_connections();
  // Writes all of `out` (then clears it), then reads once into `buf`.
  task<std::size_t> write_then_read(tcp_stream& conn, std::string& out, std::span<std::byte> buf);
  void close_idle_connections() noexcept;

  tcp_listener listener_;
  server_options options_;
  semaphore slots_;
  event stop_requested_;
  std::atomic<bool> draining_{false};
  task_group connections_;
  mutable std::mutex registry_mutex_;  // guards the list below
  entry* registry_ = nullptr;
  std::size_t registered_ = 0;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::size_t> body_bytes_{0};  // reserved by body_reservation, <= max_body_memory
};

}  // namespace coring::http
