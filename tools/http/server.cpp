// The HTTP/1.1 server: routes, the per-connection loop, the accept loop and the drain.
// See server.hpp for the behaviour; the comments here say why it is built this way.
#include "server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>

namespace coring::http {

using namespace std::chrono_literals;

namespace {

constexpr std::string_view hello_body = "Hello, World!";

// A connection reads at least this much at a time: a request head fits with room for
// several pipelined ones, and 200 idle keep-alive connections cost under 1 MiB.
constexpr std::size_t read_chunk = 4096;
// Responses of pipelined requests are gathered into one write, flushed at this size so
// that a client pipelining thousands of requests does not make us buffer all answers.
constexpr std::size_t flush_at = 64 * 1024;
// After answering an error, the server reads and discards what the client still sends
// for at most this long / this much before closing (see reject()).
constexpr auto linger_time = 1000ms;
constexpr std::size_t linger_bytes = 256 * 1024;
// /delay bounds, so that a debug route cannot pin a connection or memory for long.
constexpr std::size_t max_delay_ms = 60'000;
constexpr std::size_t max_delay_size = 16 * 1024 * 1024;

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

// The value of `key` in a query string "a=1&b=2", as a number; nullopt if absent or not
// a plain decimal number.
std::optional<std::size_t> query_number(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=') {
      const std::string_view digits = pair.substr(key.size() + 1);
      std::size_t value = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
      return value;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

void append_simple(std::string& out, int status, bool keep_alive, int minor_version,
                   std::string_view extra_fields = {}) {
  const std::string_view reason = reason_phrase(status);
  append_head(out, status, "text/plain", reason.size() + 1, keep_alive, minor_version, extra_fields);
  out += reason;
  out += '\n';
}

std::span<const std::byte> bytes_of(std::string_view s) noexcept { return std::as_bytes(std::span(s)); }

}  // namespace

namespace detail {

// Received bytes in [begin_, end_) of one heap block, which grows only as a request
// needs (the parser bounds that: head <= 8 KiB, body <= the cap). Unlike std::string it
// never zero-fills the space a read is about to overwrite.
class byte_buffer {
 public:
  explicit byte_buffer(std::size_t capacity) : data_(new char[capacity]), capacity_(capacity) {}

  std::string_view readable() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
  bool empty() const noexcept { return begin_ == end_; }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;  // the common case: no bytes to move later
  }
  // Free space for at least `min_free` bytes after the data: moves the data to the front
  // or grows the block. The span is valid until the next call.
  std::span<std::byte> prepare(std::size_t min_free) {
    if (capacity_ - end_ < min_free && begin_ != 0) {
      std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (capacity_ - end_ < min_free) {
      const std::size_t capacity = std::max(capacity_ * 2, end_ + min_free);
      std::unique_ptr<char[]> grown(new char[capacity]);
      std::memcpy(grown.get(), data_.get(), end_);
      data_ = std::move(grown);
      capacity_ = capacity;
    }
    return std::as_writable_bytes(std::span(data_.get() + end_, capacity_ - end_));
  }
  void commit(std::size_t n) noexcept { end_ += n; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace detail

void append_head(std::string& out, int status, std::string_view content_type, std::size_t content_length,
                 bool keep_alive, int minor_version, std::string_view extra_fields) {
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::size_t>(status));
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  if (!content_type.empty()) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  out += "Content-Length: ";
  append_number(out, content_length);
  out += "\r\n";
  // Only what differs from the version's default, to keep the common answer short.
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (minor_version == 0) {
    out += "Connection: keep-alive\r\n";
  }
  out += extra_fields;
  out += "\r\n";
}

void append_error(std::string& out, int status) { append_simple(out, status, false, 1); }

namespace {
// The path and the query of a request target.
std::pair<std::string_view, std::string_view> split_target(std::string_view target) noexcept {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}
}  // namespace

std::chrono::milliseconds delay_of(const request& req, bool debug_routes) {
  if (!debug_routes || req.method != "GET") return 0ms;
  const auto [path, query] = split_target(req.target);
  if (path != "/delay") return 0ms;
  return std::chrono::milliseconds(std::min(query_number(query, "ms").value_or(0), max_delay_ms));
}

void respond(const request& req, bool keep_alive, bool debug_routes, std::string& out) {
  const auto [path, query] = split_target(req.target);
  const int minor = req.minor_version;

  if (path == "/") {
    if (req.method == "GET" || req.method == "HEAD") {
      append_head(out, 200, "text/plain", hello_body.size(), keep_alive, minor);
      if (req.method == "GET") out += hello_body;
    } else {
      append_simple(out, 405, keep_alive, minor, "Allow: GET, HEAD\r\n");
    }
    return;
  }
  if (path == "/echo") {
    if (req.method == "POST") {
      append_head(out, 200, "application/octet-stream", req.body.size(), keep_alive, minor);
      out += req.body;
    } else {
      append_simple(out, 405, keep_alive, minor, "Allow: POST\r\n");
    }
    return;
  }
  if (debug_routes && path == "/stop-after" && req.method == "GET") {  // see session()
    append_head(out, 200, "text/plain", hello_body.size(), keep_alive, minor);
    out += hello_body;
    return;
  }
  if (debug_routes && path == "/delay") {
    if (req.method != "GET") {
      append_simple(out, 405, keep_alive, minor, "Allow: GET\r\n");
      return;
    }
    const std::size_t ms = std::min(query_number(query, "ms").value_or(0), max_delay_ms);
    const std::size_t size = std::min(query_number(query, "size").value_or(32), max_delay_size);
    append_head(out, 200, "text/plain", size, keep_alive, minor);
    // A recognisable body: "delay 300 ms\n" repeated and cut at `size`.
    std::string line = "delay ";
    append_number(line, ms);
    line += " ms\n";
    for (std::size_t left = size; left != 0;) {
      const std::size_t n = std::min(left, line.size());
      out.append(line, 0, n);
      left -= n;
    }
    return;
  }
  append_simple(out, 404, keep_alive, minor);
}

// Links a connection's entry into the server's registry for as long as it exists; its
// destructor runs before the connection's descriptor is closed, so the shutdown path
// never touches a descriptor number that may already have been reused.
class server::registration {
 public:
  registration(server& s, entry& e) : s_(s), e_(e) {
    std::lock_guard hold(s_.registry_mutex_);
    e_.next = s_.registry_;
    if (s_.registry_ != nullptr) s_.registry_->prev = &e_;
    s_.registry_ = &e_;
    ++s_.registered_;
  }
  ~registration() {
    std::lock_guard hold(s_.registry_mutex_);
    if (e_.prev != nullptr) {
      e_.prev->next = e_.next;
    } else {
      s_.registry_ = e_.next;
    }
    if (e_.next != nullptr) e_.next->prev = e_.prev;
    --s_.registered_;
  }
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;

 private:
  server& s_;
  entry& e_;
};

// The share of max_body_memory one request holds while its body arrives. Released when
// the request is answered or the connection ends.
class server::body_reservation {
 public:
  explicit body_reservation(server& s) : s_(s) {}
  ~body_reservation() { release(); }
  body_reservation(const body_reservation&) = delete;
  body_reservation& operator=(const body_reservation&) = delete;

  bool held() const noexcept { return n_ != 0; }
  // Reserves `n` bytes; false (nothing reserved) if they do not fit the budget.
  bool reserve(std::size_t n) noexcept {
    // relaxed: the counter guards no other data, only its own bound; the RMW is atomic,
    // so two connections cannot both take the last bytes.
    std::size_t used = s_.body_bytes_.load(std::memory_order_relaxed);
    do {
      if (n > s_.options_.max_body_memory || used > s_.options_.max_body_memory - n) return false;
    } while (!s_.body_bytes_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    n_ = n;
    return true;
  }
  void release() noexcept {
    if (n_ != 0) s_.body_bytes_.fetch_sub(std::exchange(n_, 0), std::memory_order_relaxed);
  }

 private:
  server& s_;
  std::size_t n_ = 0;
};

server::server(tcp_listener listener, server_options options)
    : listener_(std::move(listener)), options_(options), slots_(std::max<std::size_t>(options.max_connections, 1)) {}

server::~server() = default;

std::size_t server::open_connections() const noexcept {
  std::lock_guard hold(registry_mutex_);
  return registered_;
}

void server::stop() noexcept {
  // seq_cst: pairs with a connection's store to entry::idle (see session()).
  draining_.store(true, std::memory_order_seq_cst);
  stop_requested_.set();
}

task<void> server::run() {
  auto acceptor = coring::spawn(accept_loop());
  co_await stop_requested_.wait();

  // 1. Stop accepting: cancel the accept (the kernel operation is cancelled), then close
  //    the listener so that new clients are refused instead of queueing in the backlog.
  acceptor.cancel();
  try {
    co_await acceptor;
  } catch (const cancelled&) {
  }
  co_await listener_.close();

  // 2. Close the connections that wait between requests; the others see draining_
  //    once their current request is answered, and close.
  close_idle_connections();

  // 3. Wait for them, at most shutdown_timeout. When the timeout cancels the joining
  //    task, task_group::join cancels every connection and still waits for all of them,
  //    so nothing outlives this function.
  try {
    co_await coring::timeout(options_.shutdown_timeout, join_connections());
  } catch (const timed_out&) {
    std::fprintf(stderr, "coring-http: shutdown timeout: remaining connections were cancelled\n");
  }
}

void server::close_idle_connections() noexcept {
  std::lock_guard hold(registry_mutex_);
  for (entry* e = registry_; e != nullptr; e = e->next) {
    // SHUT_RD wakes the pending receive, which then returns 0: the connection ends
    // through its ordinary end-of-stream path. Bytes already received are still read
    // first, so a request that arrived in the meantime is answered.
    if (e->idle.load(std::memory_order_seq_cst)) ::shutdown(e->fd, SHUT_RD);
  }
}

task<void> server::accept_loop() {
  for (;;) {
    // The slot is taken before accepting: at max_connections the loop waits here and
    // further clients wait in the kernel's listen backlog, costing us nothing.
    semaphore::permit slot = co_await slots_.acquire_guard();
    tcp_stream conn;
    bool failed = false;
    try {
      conn = co_await listener_.accept();
    } catch (const std::system_error& e) {
      // ECONNABORTED and the like: that client is gone, the next one is not affected.
      // (Descriptor exhaustion is retried with a back-off inside accept.)
      std::fprintf(stderr, "coring-http: accept: %s\n", e.what());
      failed = true;
    }
    if (failed) {
      co_await coring::sleep(10ms);  // do not spin if the error repeats
      continue;
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    try {
      // Nagle would hold back a response written after a 100 Continue until the
      // client's delayed ACK (~40 ms).
      conn.set_nodelay();
    } catch (const std::system_error&) {
      continue;  // the peer reset the connection already
    }
    connections_.spawn(serve(std::move(conn), std::move(slot)));
  }
}

task<void> server::serve(tcp_stream conn, semaphore::permit slot) {
  entry self;
  self.fd = conn.native_handle();
  {
    registration reg(*this, self);
    try {
      co_await session(conn, self);
    } catch (const cancelled&) {
      // the shutdown timeout cancelled this connection
    } catch (const timed_out&) {
      // a write that did not finish within idle_timeout
    } catch (const std::exception&) {
      // a peer that reset or went away, or an allocation failure: this connection
      // ends, the server goes on
    }
  }  // unregistered here, before `conn` closes its descriptor
  slot.release();
}

task<void> server::session(tcp_stream& conn, entry& self) {
  using clock = std::chrono::steady_clock;
  detail::byte_buffer in(read_chunk);
  std::string out;
  request req;
  // The head of the connection's first request is timed from the accept.
  bool head_started = true;
  clock::time_point head_deadline = clock::now() + options_.header_timeout;
  bool continue_sent = false;
  // The body of the request in progress: its deadline (from the end of its head) and
  // its share of max_body_memory, both set once its head has been parsed.
  body_reservation body(*this);
  bool body_started = false;
  clock::time_point body_deadline{};

  for (;;) {
    std::size_t wanted = 0;  // once the head of the request in progress is parsed: its total size
    bool close_after = false;
    // Answer every complete request in the buffer (pipelining).
    for (;;) {
      const parse_result r = parse_request(in.readable(), options_.limits, req);
      if (r.status == parse_status::error) {
        co_await reject(conn, r.error, out);
        co_return;
      }
      if (r.status == parse_status::incomplete) {
        if (r.head_bytes != 0) {
          wanted = r.head_bytes + req.content_length;
          if (!body_started) {
            body_started = true;
            body_deadline = clock::now() + options_.body_timeout;
            if (!body.reserve(req.content_length)) {
              co_await reject(conn, 503, out);
              co_return;
            }
          }
          if (req.expect_continue && !continue_sent) {
            out += "HTTP/1.1 100 Continue\r\n\r\n";
            continue_sent = true;
          }
        }
        break;
      }
      requests_.fetch_add(1, std::memory_order_relaxed);
      body_started = false;
      if (const auto delay = delay_of(req, options_.debug_routes); delay > 0ms) co_await coring::sleep(delay);
      // During a drain every response says the connection closes.
      const bool keep_alive = req.keep_alive && !draining_.load(std::memory_order_relaxed);
      respond(req, keep_alive, options_.debug_routes, out);
      // Debug route: the shutdown starts right after this answer was built, as when a
      // SIGTERM lands between building and writing it (tests: the answer must still go out).
      if (options_.debug_routes && req.method == "GET" && req.target == "/stop-after") stop();
      in.consume(r.consumed);  // `req` points into `in`: only after responding
      body.release();
      continue_sent = false;
      head_started = false;
      if (!keep_alive) {
        close_after = true;
        break;
      }
      if (out.size() >= flush_at) {
        co_await send(conn, out);
        out.clear();
      }
    }
    if (close_after) {
      co_await send(conn, out);
      // FIN after the last response; the descriptor closes when the task ends.
      co_await conn.shutdown(SHUT_WR);
      co_return;
    }

    const bool between_requests = in.empty();
    if (between_requests) {
      // Dekker-style with stop(): we publish idle, then read draining_; stop() writes
      // draining_, then reads idle. With seq_cst on all four, at least one side sees the
      // other, so an idle connection is either closed by close_idle_connections() or
      // sees the drain here, never neither.
      self.idle.store(true, std::memory_order_seq_cst);
      if (draining_.load(std::memory_order_seq_cst)) {
        // The drain began after these answers were built (they may say keep-alive):
        // write them all before closing, so no parsed request goes unanswered.
        if (!out.empty()) co_await send(conn, out);
        co_await conn.shutdown(SHUT_WR);
        co_return;
      }
    } else if (!head_started && wanted == 0) {
      // Bytes of the next pipelined request are here: its head timer starts now.
      head_started = true;
      head_deadline = clock::now() + options_.header_timeout;
    }

    // The answers gathered above are written and the next bytes read under one timeout
    // (one timer per request, not two). How long that may take: a body or the wait
    // between requests is bounded by idle_timeout; an unfinished head by what is left
    // of its header_timeout.
    std::chrono::nanoseconds limit = options_.idle_timeout;
    const bool reading_head = wanted == 0 && head_started;
    if (reading_head) {
      limit = head_deadline - clock::now();
    } else if (wanted != 0) {
      limit = std::min<std::chrono::nanoseconds>(limit, body_deadline - clock::now());
    }
    const std::size_t min_free = wanted > in.readable().size() ? wanted - in.readable().size() : read_chunk;

    std::size_t n = 0;
    bool expired = limit <= limit.zero();
    if (!expired) {
      try {
        n = co_await coring::timeout(limit,
                                     write_then_read(conn, out, in.prepare(std::min<std::size_t>(min_free, 1 << 20))));
      } catch (const timed_out&) {
        expired = true;
      }
    }
    if (expired) {
      // A client that does not read our answers, or a quiet keep-alive connection, is
      // just closed; a request left half-sent gets 408.
      if (!out.empty()) co_return;
      if (!reading_head && between_requests) co_return;
      co_await reject(conn, 408, out);
      co_return;
    }
    self.idle.store(false, std::memory_order_relaxed);
    if (n == 0) {
      // The client closed, or the drain shut our reading side (close_idle_connections).
      // In the second case a request the client sent meanwhile may be in the socket:
      // Linux still queues bytes that arrive after SHUT_RD, and the pending receive
      // returned 0 without them. Take what is there, without waiting, and answer it
      // (with `Connection: close`) instead of closing on a request already received.
      if (between_requests && draining_.load(std::memory_order_relaxed)) {
        const std::span<std::byte> room = in.prepare(read_chunk);
        const ssize_t late = ::recv(self.fd, room.data(), room.size(), MSG_DONTWAIT);
        if (late > 0) {
          in.commit(static_cast<std::size_t>(late));
          head_started = true;
          head_deadline = clock::now() + options_.header_timeout;
          continue;
        }
      }
      co_return;
    }
    in.commit(n);
    if (between_requests && !head_started) {
      head_started = true;
      head_deadline = clock::now() + options_.header_timeout;
    }
  }
}

task<void> server::join_connections() { co_await connections_.join(); }

task<std::size_t> server::write_then_read(tcp_stream& conn, std::string& out, std::span<std::byte> buf) {
  // write() rather than write_all(): no task frame for the common single, complete send.
  for (std::string_view left = out; !left.empty();) left.remove_prefix(co_await conn.write(bytes_of(left)));
  out.clear();
  co_return co_await conn.read(buf);
}

task<void> server::send(tcp_stream& conn, std::string_view bytes) {
  co_await coring::timeout(options_.idle_timeout, conn.write_all(bytes_of(bytes)));
}

task<void> server::reject(tcp_stream& conn, int status, std::string& out) {
  // Responses to earlier pipelined requests go first, in order.
  append_error(out, status);
  co_await send(conn, out);
  out.clear();
  // Lingering close: stop writing, then read and discard what the client still sends
  // (the rest of an oversized body, say) until it closes, for a bounded time. Closing
  // with unread bytes would make the kernel send a reset, and a reset can destroy the
  // response in the client's receive queue before it was read.
  co_await conn.shutdown(SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + linger_time;
  std::array<std::byte, 4096> sink;
  for (std::size_t drained = 0; drained < linger_bytes;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= left.zero()) break;
    std::size_t n = 0;
    try {
      n = co_await coring::timeout(left, conn.read(sink));
    } catch (const timed_out&) {
      break;
    }
    if (n == 0) break;
    drained += n;
  }
}

}  // namespace coring::http
