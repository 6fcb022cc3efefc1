// tcp_echo: C connections × M messages of P bytes on loopback (DESIGN.md §5).
//
// Each client sends a message, reads its echo back, checks every byte, and sends the
// next; after M messages it shuts its side down and the server side ends on EOF. The
// figure is the wall time of the whole job, connection set-up included, and
// `msgs_per_s`, the round trips per second. All three contenders run the same protocol
// with the same buffers (P-byte messages, 16 KiB server reads), TCP_NODELAY everywhere:
//  - coring:          server (accept loop + one task per connection) and clients, all on
//                     the shared runtime;
//  - thread_per_conn: a std::thread per server connection and per client, blocking calls;
//  - raw_io_uring:    one thread, one ring (liburing directly), every socket of both
//                     sides in it: the floor of what an io_uring runtime can cost.
#include "harness.hpp"

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace {

namespace cb = coring::bench;

constexpr std::size_t server_buffer = 16 * 1024;

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

// A plain loopback listener on an ephemeral port, for the non-coring contenders.
struct plain_listener {
  int fd = -1;
  sockaddr_in at{};
  plain_listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno("socket");
    at.sin_family = AF_INET;
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

  int connect_client() const {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0) throw_errno("socket");
    if (::connect(c, reinterpret_cast<const sockaddr*>(&at), sizeof at) < 0) {
      ::close(c);
      throw_errno("connect");
    }
    set_nodelay(c);
    return c;
  }
  int accept_one() const {
    const int s = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0) throw_errno("accept");
    set_nodelay(s);
    return s;
  }
};

// --- coring ---

coring::task<void> coring_session(coring::tcp_stream s) {
  std::vector<std::byte> buf(server_buffer);
  for (;;) {
    const std::size_t n = co_await s.read(buf);
    if (n == 0) break;
    co_await s.write_all(std::span(buf).first(n));
  }
}

coring::task<void> coring_server(const coring::tcp_listener& l, unsigned connections) {
  std::vector<coring::join_handle<void>> sessions;
  sessions.reserve(connections);
  for (unsigned i = 0; i < connections; ++i) {
    coring::tcp_stream s = co_await l.accept();
    s.set_nodelay();
    sessions.push_back(coring::spawn(coring_session(std::move(s))));
  }
  for (auto& s : sessions) co_await s;
}

coring::task<std::uint64_t> coring_client(coring::endpoint at, unsigned conn, job_size size) {
  coring::tcp_stream c = co_await coring::tcp_stream::connect(at);
  c.set_nodelay();
  std::vector<std::byte> out(size.bytes), in(size.bytes);
  std::uint64_t ok = 0;
  for (unsigned k = 0; k < size.messages; ++k) {
    fill_message(out.data(), out.size(), conn, k);
    co_await c.write_all(out);
    co_await c.read_exact(in);
    ok += in == out ? 1 : 0;
  }
  co_await c.shutdown();
  co_return ok;
}

coring::task<std::uint64_t> coring_job(job_size size) {
  auto listener = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0), 4096);
  const coring::endpoint at = listener.local_endpoint();
  auto server = coring::spawn(coring_server(listener, size.connections));
  std::vector<coring::join_handle<std::uint64_t>> clients;
  clients.reserve(size.connections);
  for (unsigned i = 0; i < size.connections; ++i) clients.push_back(coring::spawn(coring_client(at, i, size)));
  std::uint64_t ok = 0;
  for (auto& c : clients) ok += co_await c;
  co_await server;
  co_return ok;
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

bool read_exact(int fd, std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::uint64_t threads_job(job_size size) {
  plain_listener listener;
  std::thread server([&] {
    std::vector<std::thread> sessions;
    sessions.reserve(size.connections);
    for (unsigned i = 0; i < size.connections; ++i) {
      const int s = listener.accept_one();
      sessions.emplace_back([s] {
        std::vector<std::byte> buf(server_buffer);
        for (;;) {
          const ssize_t n = ::recv(s, buf.data(), buf.size(), 0);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          write_all(s, buf.data(), static_cast<std::size_t>(n));
        }
        ::close(s);
      });
    }
    for (auto& t : sessions) t.join();
  });
  std::vector<std::uint64_t> ok(size.connections, 0);
  std::vector<std::thread> clients;
  clients.reserve(size.connections);
  for (unsigned i = 0; i < size.connections; ++i) {
    clients.emplace_back([&, i] {
      const int c = listener.connect_client();
      std::vector<std::byte> out(size.bytes), in(size.bytes);
      for (unsigned k = 0; k < size.messages; ++k) {
        fill_message(out.data(), out.size(), i, k);
        write_all(c, out.data(), out.size());
        if (!read_exact(c, in.data(), in.size())) break;
        ok[i] += in == out ? 1 : 0;
      }
      ::shutdown(c, SHUT_WR);
      ::close(c);
    });
  }
  for (auto& t : clients) t.join();
  server.join();
  std::uint64_t total = 0;
  for (std::uint64_t v : ok) total += v;
  return total;
}

// --- raw io_uring, one thread ---

// Operation kinds, in the low bits of user_data; the connection index above them.
enum raw_kind : std::uint64_t { client_send = 0, client_recv = 1, server_recv = 2, server_send = 3 };

struct raw_conn {
  int cfd = -1, sfd = -1;
  std::vector<std::byte> out, in, buf;
  std::size_t done = 0;        // client: bytes of the current message sent / received
  std::size_t echo_len = 0;    // server: bytes received, being echoed
  std::size_t echo_done = 0;
  unsigned msg = 0;
  std::uint64_t ok = 0;
};

class raw_loop {
 public:
  explicit raw_loop(unsigned entries) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int r = io_uring_queue_init_params(entries, &ring_, &p);
    if (r == -EINVAL) {
      p = io_uring_params{};
      r = io_uring_queue_init_params(entries, &ring_, &p);
    }
    if (r < 0) throw std::system_error(-r, std::system_category(), "io_uring_queue_init");
  }
  ~raw_loop() { io_uring_queue_exit(&ring_); }
  raw_loop(const raw_loop&) = delete;
  raw_loop& operator=(const raw_loop&) = delete;

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s == nullptr) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    if (s == nullptr) throw std::runtime_error("raw io_uring: SQ full");
    return s;
  }
  void send(int fd, const std::byte* p, std::size_t n, std::uint64_t tag) {
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, fd, p, n, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, tag);
  }
  void recv(int fd, std::byte* p, std::size_t n, std::uint64_t tag) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv(s, fd, p, n, 0);
    io_uring_sqe_set_data64(s, tag);
  }
  io_uring& ring() noexcept { return ring_; }

 private:
  io_uring ring_{};
};

std::uint64_t raw_job(job_size size) {
  plain_listener listener;
  std::vector<raw_conn> conns(size.connections);
  for (raw_conn& c : conns) {
    c.cfd = listener.connect_client();  // completes into the backlog
    c.sfd = listener.accept_one();
    c.out.resize(size.bytes);
    c.in.resize(size.bytes);
    c.buf.resize(server_buffer);
  }
  raw_loop loop(4096);
  auto tag = [](std::size_t i, raw_kind k) { return (static_cast<std::uint64_t>(i) << 2) | k; };
  for (std::size_t i = 0; i < conns.size(); ++i) {
    raw_conn& c = conns[i];
    fill_message(c.out.data(), c.out.size(), static_cast<unsigned>(i), 0);
    loop.send(c.cfd, c.out.data(), c.out.size(), tag(i, client_send));
    loop.recv(c.sfd, c.buf.data(), c.buf.size(), tag(i, server_recv));
  }
  std::size_t open_sides = 2 * conns.size();  // client sides and server sides still going
  while (open_sides > 0) {
    io_uring_cqe* first = nullptr;
    const int r = io_uring_submit_and_wait_timeout(&loop.ring(), &first, 1, nullptr, nullptr);
    if (r < 0 && r != -EINTR && r != -ETIME) throw std::system_error(-r, std::system_category(), "io_uring_submit_and_wait");
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&loop.ring(), head, cqe) {
      ++seen;
      const std::uint64_t ud = cqe->user_data;
      const int res = cqe->res;
      const std::size_t i = ud >> 2;
      raw_conn& c = conns[i];
      if (res < 0) throw std::system_error(-res, std::system_category(), "raw io_uring op");
      const auto n = static_cast<std::size_t>(res);
      switch (static_cast<raw_kind>(ud & 3)) {
        case client_send:
          c.done += n;
          if (c.done < c.out.size()) {
            loop.send(c.cfd, c.out.data() + c.done, c.out.size() - c.done, ud);
          } else {
            c.done = 0;
            loop.recv(c.cfd, c.in.data(), c.in.size(), tag(i, client_recv));
          }
          break;
        case client_recv:
          if (n == 0) throw std::runtime_error("raw io_uring: server closed early");
          c.done += n;
          if (c.done < c.in.size()) {
            loop.recv(c.cfd, c.in.data() + c.done, c.in.size() - c.done, ud);
            break;
          }
          c.done = 0;
          c.ok += c.in == c.out ? 1 : 0;
          if (++c.msg < size.messages) {
            fill_message(c.out.data(), c.out.size(), static_cast<unsigned>(i), c.msg);
            loop.send(c.cfd, c.out.data(), c.out.size(), tag(i, client_send));
          } else {
            ::shutdown(c.cfd, SHUT_WR);
            --open_sides;
          }
          break;
        case server_recv:
          if (n == 0) {
            --open_sides;
            break;
          }
          c.echo_len = n;
          c.echo_done = 0;
          loop.send(c.sfd, c.buf.data(), n, tag(i, server_send));
          break;
        case server_send:
          c.echo_done += n;
          if (c.echo_done < c.echo_len) {
            loop.send(c.sfd, c.buf.data() + c.echo_done, c.echo_len - c.echo_done, ud);
          } else {
            loop.recv(c.sfd, c.buf.data(), c.buf.size(), tag(i, server_recv));
          }
          break;
      }
    }
    io_uring_cq_advance(&loop.ring(), seen);
  }
  std::uint64_t total = 0;
  for (raw_conn& c : conns) {
    total += c.ok;
    ::close(c.cfd);
    ::close(c.sfd);
  }
  return total;
}

template <class Job>
void add_contender(const char* contender, job_size size, unsigned thread_count, Job job) {
  cb::add("tcp_echo", contender, size.connections, [size, thread_count, job](benchmark::State& state) {
    const auto result = cb::time_jobs(state, [&] { return job(size); });
    if (!result.ok) return;
    const std::uint64_t messages = std::uint64_t{size.connections} * size.messages;
    cb::verify(state, result.value, messages, "messages echoed byte-exact");
    cb::report_threads(state, thread_count);
    if (result.seconds > 0) {
      state.counters["msgs_per_s"] =
          benchmark::Counter(static_cast<double>(messages) * static_cast<double>(result.jobs) / result.seconds);
    }
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
    sizes = {{64, 1000, 64}, {512, 1000, 64}};
  }
  for (const job_size& s : sizes) {
    add_contender("coring", s, t, [](job_size z) { return shared_runtime().block_on(coring_job(z)); });
    add_contender("raw_io_uring", s, 1, [](job_size z) { return raw_job(z); });
    // Threads: one per server connection and one per client.
    add_contender("thread_per_conn", s, 2 * s.connections + 1, [](job_size z) { return threads_job(z); });
  }
}
