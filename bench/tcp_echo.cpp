// tcp_echo: C connections × M messages of P bytes on loopback (DESIGN.md §5, issue 9
// item 7), one echo server per contender, all driven by the same load generator.
//
// Load: one client thread running an epoll loop over all C connections (TCP_NODELAY,
// blocking connect then non-blocking), one message outstanding per connection (a closed
// loop). Each message differs (fill_message) and every echoed byte is compared; after M
// messages a connection shuts its side down and closes. CPU budget: the generator is one
// thread, so it takes at most one of the machine's CPUs; a 2-thread server shares the
// CPUs with it as the kernel places them (nothing is pinned).
//
// Servers (every one reads into 16 KiB buffers and writes back what it read):
//  - coring:          accept loop + one task per connection on the harness's runtime
//                     (--workers N; 2 on this machine);
//  - coring_1worker:  the same on a dedicated one-worker runtime, at the same load (the
//                     target: p99 on 2 workers ≤ 1.2× p99 on 1 worker);
//  - raw_io_uring:    2 threads, each with its own ring (SINGLE_ISSUER | DEFER_TASKRUN where
//                     the kernel has them) and its own SO_REUSEPORT listener on the same
//                     port; multishot accept, multishot recv into a provided-buffer ring
//                     (io_uring_register_buf_ring: liburing 2.3 has no
//                     io_uring_setup_buf_ring, so the ring is mmap'ed here), the echo sent
//                     straight from the provided buffer (one send in flight per connection,
//                     the rest queued in order), buffers returned in one batch per pass,
//                     connections as direct descriptors (accepted into a fixed-file table),
//                     a registered ring fd, one io_uring_submit_and_wait per loop pass. The
//                     best loop we can write with liburing 2.3.
//  - thread_per_conn: one blocking std::thread per connection.
//
// Time (manual): from the first message sent to the last echo checked (connection set-up
// and teardown excluded). Counters: msgs_per_s (round trips/s), p50_us, p99_us, p999_us
// (per round trip, from the send to the last echoed byte), connections, messages,
// msg_bytes, threads (server threads). Name: tcp_echo/<contender>/<connections>/<bytes>.
#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <thread>
#include <stdexcept>
#include <system_error>

namespace {

namespace cb = coring::bench;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t server_buffer = 16 * 1024;
constexpr unsigned raw_threads = 2;

struct job_size {
  unsigned connections;
  unsigned messages;
  std::size_t bytes;
};

// The byte j of message k of connection i: every message differs, so an echo from the
// wrong connection or a stale buffer fails the check.
void fill_message(std::byte* out, std::size_t n, unsigned conn, unsigned msg) {
  for (std::size_t j = 0; j < n; ++j) out[j] = static_cast<std::byte>((conn * 131u + msg * 7u + j) & 0xffu);
}

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::system_category(), what); }

void set_nodelay(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) throw_errno("setsockopt(TCP_NODELAY)");
}

// A loopback listener; port 0 picks an ephemeral one. With `reuseport`, several listeners
// share one port and the kernel spreads new connections over them.
struct plain_listener {
  int fd = -1;
  sockaddr_in at{};
  explicit plain_listener(std::uint16_t port = 0, bool reuseport = false) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno("socket");
    const int one = 1;
    if (reuseport && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) throw_errno("SO_REUSEPORT");
    // Accepted sockets inherit TCP_NODELAY from the listener on Linux: the raw loop's
    // direct descriptors cannot be given a socket option one by one.
    set_nodelay(fd);
    at.sin_family = AF_INET;
    at.sin_port = htons(port);
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof at;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) < 0 || ::listen(fd, 4096) < 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len) < 0) {
      throw_errno("bind/listen");
    }
  }
  ~plain_listener() { ::close(fd); }
  plain_listener(const plain_listener&) = delete;
  plain_listener& operator=(const plain_listener&) = delete;
  std::uint16_t port() const noexcept { return ntohs(at.sin_port); }
};

// --- the load generator (shared by every contender) ---

struct load_result {
  std::uint64_t ok = 0;  // round trips whose echo matched byte for byte
  double seconds = 0;
  std::vector<std::uint32_t> latency_ns;
};

struct client_conn {
  int fd = -1;
  unsigned msg = 0;
  std::size_t have = 0;
  clock_type::time_point sent;
  std::vector<std::byte> out, in;
};

void send_all_nonblocking(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;  // a full socket buffer: rare, spin
      throw_errno("client send");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

load_result run_clients(std::uint16_t port, job_size size) {
  std::vector<client_conn> conns(size.connections);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) throw_errno("epoll_create1");
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(port);
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (std::size_t i = 0; i < conns.size(); ++i) {
    client_conn& c = conns[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) < 0) throw_errno("connect");
    set_nodelay(c.fd);
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) < 0) throw_errno("epoll_ctl");
    c.out.resize(size.bytes);
    c.in.resize(size.bytes);
  }
  load_result r;
  r.latency_ns.reserve(std::size_t{size.connections} * size.messages);
  const auto start = clock_type::now();
  for (std::size_t i = 0; i < conns.size(); ++i) {
    client_conn& c = conns[i];
    fill_message(c.out.data(), c.out.size(), static_cast<unsigned>(i), 0);
    c.sent = clock_type::now();
    send_all_nonblocking(c.fd, c.out.data(), c.out.size());
  }
  std::size_t open = conns.size();
  std::vector<epoll_event> events(512);
  auto last_progress = clock_type::now();
  while (open > 0) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
    if (n <= 0 && clock_type::now() - last_progress > std::chrono::seconds(10)) {
      throw std::runtime_error("echo server stalled for 10 s");
    }
    for (int k = 0; k < n; ++k) {
      const std::size_t i = events[static_cast<std::size_t>(k)].data.u64;
      client_conn& c = conns[i];
      const ssize_t got = ::recv(c.fd, c.in.data() + c.have, c.in.size() - c.have, 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) throw std::runtime_error("echo server closed a connection early");
      c.have += static_cast<std::size_t>(got);
      if (c.have < c.in.size()) continue;
      const auto now = clock_type::now();
      last_progress = now;
      r.latency_ns.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.sent).count(), UINT32_MAX)));
      r.ok += c.in == c.out ? 1 : 0;
      c.have = 0;
      if (++c.msg < size.messages) {
        fill_message(c.out.data(), c.out.size(), static_cast<unsigned>(i), c.msg);
        c.sent = now;
        send_all_nonblocking(c.fd, c.out.data(), c.out.size());
      } else {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        ::shutdown(c.fd, SHUT_WR);
        --open;
      }
    }
  }
  r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  for (client_conn& c : conns) ::close(c.fd);
  ::close(ep);
  return r;
}

// --- coring ---

coring::task<void> coring_session(coring::tcp_stream s) {
  std::vector<std::byte> buf(server_buffer);
  for (;;) {
    const std::size_t n = co_await s.read(buf);
    if (n == 0) break;
    co_await s.write_all(std::span(buf).first(n));
  }
}

coring::task<void> coring_server(coring::tcp_listener l, unsigned connections) {
  std::vector<coring::join_handle<void>> sessions;
  sessions.reserve(connections);
  for (unsigned i = 0; i < connections; ++i) {
    coring::tcp_stream s = co_await l.accept();
    s.set_nodelay();
    sessions.push_back(coring::spawn(coring_session(std::move(s))));
  }
  for (auto& s : sessions) co_await s;
}

load_result coring_job(coring::runtime& rt, job_size size) {
  auto listener = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0), 4096);
  const std::uint16_t port = listener.local_endpoint().port();
  auto server = rt.spawn(coring_server(std::move(listener), size.connections));
  load_result r;
  try {
    r = run_clients(port, size);
  } catch (...) {
    server.cancel();
    throw;
  }
  server.get();
  return r;
}

// --- thread per connection ---

void write_all(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno("send");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

load_result threads_job(job_size size) {
  plain_listener listener;
  std::thread server([&] {
    std::vector<std::thread> sessions;
    sessions.reserve(size.connections);
    for (unsigned i = 0; i < size.connections; ++i) {
      const int s = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (s < 0) break;
      set_nodelay(s);
      sessions.emplace_back([s] {
        std::vector<std::byte> buf(server_buffer);
        for (;;) {
          const ssize_t n = ::recv(s, buf.data(), buf.size(), 0);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          try {
            write_all(s, buf.data(), static_cast<std::size_t>(n));
          } catch (const std::system_error&) {
            break;
          }
        }
        ::close(s);
      });
    }
    for (auto& t : sessions) t.join();
  });
  load_result r;
  try {
    r = run_clients(listener.port(), size);
  } catch (...) {
    ::shutdown(listener.fd, SHUT_RDWR);
    server.join();
    throw;
  }
  server.join();
  return r;
}

// --- raw io_uring: a ring per thread, SO_REUSEPORT, multishot accept and recv ---

// Operation kinds, in the low 3 bits of user_data; the connection's direct descriptor
// (fixed-file slot) above them.
enum raw_kind : std::uint64_t { op_accept = 0, op_recv = 1, op_send = 2, op_stop = 3, op_close = 4 };

constexpr unsigned buffer_count = 1024;  // provided buffers per ring (a power of two)
constexpr std::uint16_t buffer_group = 0;
constexpr unsigned direct_slots = 4096;  // fixed-file table per ring (accepted connections)

struct raw_pending {
  std::uint16_t bid;
  std::uint32_t off, len;
};

struct raw_session {
  bool open = false;
  std::deque<raw_pending> sends;  // front: in flight; the rest wait their turn (TCP order)
};

class raw_server_thread {
 public:
  // The listener is bound here (so that the next thread can join its port); the ring is
  // set up by run() on the thread that drives it: with SINGLE_ISSUER the creating thread is
  // the only one allowed to submit.
  explicit raw_server_thread(std::uint16_t port) : listener_(port, true) {
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (stop_fd_ < 0) throw_errno("eventfd");
  }
  // Direct descriptors still open are released with the ring's file table.
  ~raw_server_thread() {
    if (ring_ready_) io_uring_queue_exit(&ring_);
    if (br_ != nullptr) ::munmap(br_, ring_bytes_);
    ::close(stop_fd_);
  }
  raw_server_thread(const raw_server_thread&) = delete;
  raw_server_thread& operator=(const raw_server_thread&) = delete;

  std::uint16_t port() const noexcept { return listener_.port(); }

  // Any thread: ends run() at its next pass.
  void stop() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t w = ::write(stop_fd_, &one, sizeof one);
  }

  // The loop; only the thread that calls it touches the ring (SINGLE_ISSUER).
  void run() {
    setup_ring();
    arm_accept();
    io_uring_prep_read(sqe(), stop_fd_, &stop_value_, sizeof stop_value_, 0);
    io_uring_sqe_set_data64(last_, op_stop);
    for (;;) {
      io_uring_cqe* first = nullptr;
      const int r = io_uring_submit_and_wait_timeout(&ring_, &first, 1, nullptr, nullptr);
      if (r < 0 && r != -EINTR && r != -ETIME) throw std::system_error(-r, std::system_category(), "submit_and_wait");
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      bool stopping = false;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        const auto kind = static_cast<raw_kind>(cqe->user_data & 7);
        const int fd = static_cast<int>(cqe->user_data >> 3);
        switch (kind) {
          case op_accept: on_accept(cqe); break;
          case op_recv: on_recv(fd, cqe); break;
          case op_send: on_send(fd, cqe->res); break;
          case op_stop: stopping = true; break;
          case op_close: break;
        }
      }
      io_uring_cq_advance(&ring_, seen);
      // The buffers the sends of this pass released, made visible to the kernel at once.
      if (returned_ > 0) io_uring_buf_ring_advance(br_, returned_);
      returned_ = 0;
      if (stopping) return;
    }
  }

 private:
  void setup_ring() {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    // Sized for 2000 connections' multishot recvs plus their sends: the CQ never
    // overflows in one pass.
    p.flags |= IORING_SETUP_CQSIZE;
    p.cq_entries = 8192;
    int r = io_uring_queue_init_params(1024, &ring_, &p);
    if (r == -EINVAL) {  // kernels before 6.1: no DEFER_TASKRUN
      p = io_uring_params{};
      p.flags = IORING_SETUP_CQSIZE;
      p.cq_entries = 8192;
      r = io_uring_queue_init_params(1024, &ring_, &p);
    }
    if (r < 0) throw std::system_error(-r, std::system_category(), "io_uring_queue_init");
    ring_ready_ = true;
    // A registered ring fd spares io_uring_enter its file lookup (ignored where refused).
    io_uring_register_ring_fd(&ring_);
    // Connections are direct descriptors (multishot accept into a sparse fixed-file table):
    // no fd lookup and reference count per recv and send.
    r = io_uring_register_files_sparse(&ring_, direct_slots);
    if (r < 0) throw std::system_error(-r, std::system_category(), "io_uring_register_files_sparse");
    // The provided-buffer ring: page-aligned shared memory the kernel reads buffer
    // addresses from (what io_uring_setup_buf_ring does in liburing >= 2.4).
    ring_bytes_ = buffer_count * sizeof(io_uring_buf);
    void* mem = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) throw_errno("mmap(buf ring)");
    br_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(br_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
    reg.ring_entries = buffer_count;
    reg.bgid = buffer_group;
    r = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (r < 0) throw std::system_error(-r, std::system_category(), "io_uring_register_buf_ring");
    buffers_.resize(std::size_t{buffer_count} * server_buffer);
    for (unsigned i = 0; i < buffer_count; ++i) {
      io_uring_buf_ring_add(br_, buffer(i), server_buffer, static_cast<std::uint16_t>(i),
                            io_uring_buf_ring_mask(buffer_count), static_cast<int>(i));
    }
    io_uring_buf_ring_advance(br_, buffer_count);
  }

  std::byte* buffer(unsigned bid) { return buffers_.data() + std::size_t{bid} * server_buffer; }

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s == nullptr) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    if (s == nullptr) throw std::runtime_error("raw io_uring: SQ full");
    last_ = s;
    return s;
  }

  void arm_accept() {
    io_uring_prep_multishot_accept_direct(sqe(), listener_.fd, nullptr, nullptr, 0);
    io_uring_sqe_set_data64(last_, op_accept);
  }
  void arm_recv(int fd) {
    io_uring_prep_recv_multishot(sqe(), fd, nullptr, 0, 0);
    last_->flags |= IOSQE_BUFFER_SELECT | IOSQE_FIXED_FILE;
    last_->buf_group = buffer_group;
    io_uring_sqe_set_data64(last_, (static_cast<std::uint64_t>(fd) << 3) | op_recv);
  }
  void submit_send(int fd, const raw_pending& p) {
    io_uring_prep_send(sqe(), fd, buffer(p.bid) + p.off, p.len, MSG_NOSIGNAL);
    last_->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(last_, (static_cast<std::uint64_t>(fd) << 3) | op_send);
  }
  void close_direct(int slot) {
    io_uring_prep_close_direct(sqe(), static_cast<unsigned>(slot));
    io_uring_sqe_set_data64(last_, op_close);
  }
  // Hands a buffer back to the kernel; made visible in one batch at the end of the pass.
  void give_back(std::uint16_t bid) {
    io_uring_buf_ring_add(br_, buffer(bid), server_buffer, bid, io_uring_buf_ring_mask(buffer_count), returned_++);
  }

  void on_accept(const io_uring_cqe* cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
    if (cqe->res < 0) return;  // e.g. ECONNABORTED: the client is gone
    const int fd = cqe->res;  // a slot of the fixed-file table
    if (sessions_.size() <= static_cast<std::size_t>(fd)) sessions_.resize(static_cast<std::size_t>(fd) + 1);
    sessions_[static_cast<std::size_t>(fd)].open = true;
    arm_recv(fd);
  }

  void on_recv(int fd, const io_uring_cqe* cqe) {
    raw_session& s = sessions_[static_cast<std::size_t>(fd)];
    const bool more = cqe->flags & IORING_CQE_F_MORE;
    if (cqe->res > 0) {
      const auto bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
      s.sends.push_back({bid, 0, static_cast<std::uint32_t>(cqe->res)});
      if (s.sends.size() == 1) submit_send(fd, s.sends.front());
      if (!more) arm_recv(fd);  // the kernel ended the multishot (e.g. a full CQ)
      return;
    }
    if (cqe->res == -ENOBUFS) {  // every buffer is in a send: re-armed until sends return some
      if (!more) arm_recv(fd);
      return;
    }
    // EOF or an error: the connection is done once its last send completes.
    if (!more) {
      s.open = false;
      if (s.sends.empty()) close_direct(fd);
    }
  }

  void on_send(int fd, int res) {
    raw_session& s = sessions_[static_cast<std::size_t>(fd)];
    raw_pending& p = s.sends.front();
    if (res > 0 && static_cast<std::uint32_t>(res) < p.len) {  // short send: the rest, in order
      p.off += static_cast<std::uint32_t>(res);
      p.len -= static_cast<std::uint32_t>(res);
      submit_send(fd, p);
      return;
    }
    give_back(p.bid);
    s.sends.pop_front();
    if (res < 0) {  // the peer is gone: drop what is queued
      for (const raw_pending& q : s.sends) give_back(q.bid);
      s.sends.clear();
      if (!s.open) close_direct(fd);
      return;
    }
    if (!s.sends.empty()) {
      submit_send(fd, s.sends.front());
    } else if (!s.open) {
      close_direct(fd);
    }
  }

  plain_listener listener_;
  io_uring ring_{};
  bool ring_ready_ = false;
  io_uring_sqe* last_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  std::size_t ring_bytes_ = 0;
  std::vector<std::byte> buffers_;
  std::vector<raw_session> sessions_;  // by fd
  int returned_ = 0;
  int stop_fd_ = -1;
  std::uint64_t stop_value_ = 0;
};

load_result raw_job(job_size size) {
  // The first listener picks the port, the others join it with SO_REUSEPORT.
  std::vector<std::unique_ptr<raw_server_thread>> servers;
  servers.push_back(std::make_unique<raw_server_thread>(0));
  const std::uint16_t port = servers[0]->port();
  for (unsigned t = 1; t < raw_threads; ++t) servers.push_back(std::make_unique<raw_server_thread>(port));
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(raw_threads);
  for (unsigned t = 0; t < raw_threads; ++t) {
    threads.emplace_back([&, t] {
      try {
        servers[t]->run();
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  load_result r;
  std::exception_ptr client_error;
  try {
    r = run_clients(port, size);
  } catch (...) {
    client_error = std::current_exception();
  }
  for (auto& s : servers) s->stop();
  for (auto& t : threads) t.join();
  if (client_error) std::rethrow_exception(client_error);
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return r;
}

// --- registration ---

double percentile_us(std::vector<std::uint32_t>& v, double q) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

template <class Job>
void add_contender(const char* contender, job_size size, unsigned server_threads, Job job) {
  const std::string label = std::to_string(size.connections) + "/" + std::to_string(size.bytes);
  cb::add_manual("tcp_echo", contender, label, [size, server_threads, job](benchmark::State& state) {
    load_result last;
    for (auto _ : state) {
      try {
        last = job(size);
      } catch (const std::exception& e) {
        cb::fail(state, std::string("the job threw: ") + e.what());
        return;
      }
      state.SetIterationTime(last.seconds);
    }
    const std::uint64_t messages = std::uint64_t{size.connections} * size.messages;
    if (!cb::verify(state, last.ok, messages, "messages echoed byte-exact")) return;
    cb::report_threads(state, server_threads);
    state.counters["msgs_per_s"] = benchmark::Counter(static_cast<double>(messages) / last.seconds);
    state.counters["p50_us"] = benchmark::Counter(percentile_us(last.latency_ns, 0.50));
    state.counters["p99_us"] = benchmark::Counter(percentile_us(last.latency_ns, 0.99));
    state.counters["p999_us"] = benchmark::Counter(percentile_us(last.latency_ns, 0.999));
    state.counters["connections"] = benchmark::Counter(size.connections);
    state.counters["messages"] = benchmark::Counter(static_cast<double>(messages));
    state.counters["msg_bytes"] = benchmark::Counter(static_cast<double>(size.bytes));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const unsigned t = threads();
  std::vector<job_size> sizes;
  if (quick()) {
    sizes = {{16, 100, 64}};
  } else {
    // About 256k round trips per job (a few seconds at this machine's rates).
    sizes = {{64, 4000, 64}, {512, 500, 64}, {2000, 128, 64}, {64, 4000, 4096}};
  }
  for (const job_size& s : sizes) {
    add_contender("coring", s, t, [](job_size z) { return coring_job(shared_runtime(), z); });
    add_contender("coring_1worker", s, 1, [](job_size z) { return coring_job(one_worker_runtime(), z); });
    add_contender("raw_io_uring", s, raw_threads, [](job_size z) { return raw_job(z); });
    add_contender("thread_per_conn", s, s.connections + 1, [](job_size z) { return threads_job(z); });
  }
}
