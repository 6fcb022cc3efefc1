// Sockets: endpoint, tcp_listener/tcp_stream, unix_listener/unix_stream, udp_socket.
//
//   auto listener = coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0));
//   coring::tcp_stream conn = co_await listener.accept();
//   std::size_t n = co_await conn.read(buf);        // 0: the peer closed
//   co_await conn.write_all(reply);
//
// Errors follow coring/io/error.hpp: std::system_error naming the operation
// ("coring::tcp_stream::read: Connection reset by peer"), coring::cancelled when the
// task is cancelled (the kernel operation is cancelled first; buffers stay valid until
// it has answered). Writes never raise SIGPIPE (MSG_NOSIGNAL): a closed peer is EPIPE or
// ECONNRESET. Every awaitable resumes through the executor current at suspension. Sockets
// are blocking descriptors driven by io_uring (never O_NONBLOCK: the kernel waits for
// readiness itself). Destructors close synchronously; close() closes through the ring.
#pragma once

#include <coring/core/task.hpp>
#include <coring/io/buffer.hpp>
#include <coring/io/detail/op.hpp>
#include <coring/io/detail/stream.hpp>
#include <coring/io/error.hpp>
#include <coring/io/received.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coring {

// A socket address: IPv4, IPv6 or a Unix path. A plain value.
class endpoint {
 public:
  endpoint() noexcept = default;
  // Numeric addresses only ("127.0.0.1", "::1", "0.0.0.0"); throws std::invalid_argument.
  static endpoint v4(std::string_view ip, std::uint16_t port);
  static endpoint v6(std::string_view ip, std::uint16_t port);
  // v4 or v6, whichever `ip` parses as; throws std::invalid_argument.
  static endpoint parse(std::string_view ip, std::uint16_t port);
  // A Unix socket path; throws std::invalid_argument if it does not fit sun_path.
  static endpoint unix_path(std::string_view path);
  static endpoint from(const sockaddr* sa, socklen_t len) noexcept;

  int family() const noexcept { return storage_.ss_family; }
  std::uint16_t port() const noexcept;  // 0 for Unix
  std::string to_string() const;        // "127.0.0.1:80", "[::1]:80", "unix:/path"

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }
  socklen_t* size_ptr() noexcept { return &len_; }

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

// A connected stream socket (TCP or Unix): what tcp_stream and unix_stream share.
class stream_socket {
 public:
  stream_socket() noexcept = default;
  explicit stream_socket(int fd) noexcept : fd_(fd) {}

  // Buffers: any contiguous range of char, unsigned char or std::byte converts
  // (coring/io/buffer.hpp); reads need a writable one, writes also take std::string_view.

  // Receives up to buf.size() bytes; yields the count, 0 when the peer has closed.
  // Throws std::system_error ("coring::stream::read: ..."), coring::cancelled.
  detail::checked_awaiter<std::size_t> read(mutable_buffer buf) const noexcept {
    return detail::stream_read(detail::io_opcode::recv, fd_.get(), buf, "coring::stream::read");
  }
  // Receives what has arrived (at most one pool buffer, 4 KiB by default) into a buffer
  // the kernel picks from the worker ring's receive pool when the data arrives, so the
  // wait itself holds no memory (coring/io/received.hpp). Yields an empty `received`
  // when the peer has closed. Throws std::system_error ("coring::stream::receive: ...")
  // or coring::cancelled; std::bad_alloc only when there is no pool and no memory for a
  // buffer of its own. Resumes like read().
  detail::receive_awaiter receive() const noexcept { return detail::receive_awaiter(fd_.get()); }
  // Sends up to buf.size() bytes; yields the count (may be short).
  // Throws std::system_error ("coring::stream::write: ..."), coring::cancelled.
  detail::checked_awaiter<std::size_t> write(const_buffer buf) const noexcept {
    return detail::stream_write(detail::io_opcode::send, fd_.get(), buf, "coring::stream::write");
  }
  // Fills buf completely, resubmitting after short reads (one awaiter, no coroutine
  // frame). Throws std::system_error ENODATA ("coring::stream::read_exact") if the peer
  // closes first, other errors likewise; coring::cancelled (what was read is lost).
  detail::transfer_awaiter read_exact(mutable_buffer buf) const noexcept {
    return detail::stream_read_exact(detail::io_opcode::recv, fd_.get(), buf, "coring::stream::read_exact");
  }
  // Sends all of buf, resubmitting after short writes (one awaiter, no coroutine frame).
  // Throws std::system_error ("coring::stream::write_all: ...": EPIPE, ECONNRESET...),
  // coring::cancelled (a prefix of buf may have been sent).
  detail::transfer_awaiter write_all(const_buffer buf) const noexcept {
    return detail::stream_write_all(detail::io_opcode::send, fd_.get(), buf, "coring::stream::write_all");
  }
  // shutdown(2): SHUT_WR (default: tells the peer we are done), SHUT_RD or SHUT_RDWR.
  detail::checked_awaiter<void> shutdown(int how = SHUT_WR) const noexcept {
    return {{detail::io_opcode::shutdown, fd_.get(), static_cast<std::uint32_t>(how), 0, nullptr, 0},
            "coring::stream::shutdown"};
  }
  // Closes through the ring; the object is closed even if this throws.
  task<void> close() { return fd_.close("coring::stream::close"); }

  endpoint local_endpoint() const;  // throws std::system_error
  endpoint peer_endpoint() const;   // throws std::system_error
  bool is_open() const noexcept { return fd_.get() >= 0; }
  int native_handle() const noexcept { return fd_.get(); }
  int release() noexcept { return fd_.release(); }

 protected:
  detail::owned_fd fd_;
};

class tcp_stream : public stream_socket {
 public:
  using stream_socket::stream_socket;
  // Connects to `to`. Throws std::system_error ("coring::tcp_stream::connect: ...").
  static task<tcp_stream> connect(endpoint to);
  // Resolves `host` (getaddrinfo, off the reactor thread) and connects to the first
  // address that accepts. Throws std::system_error (resolution failures carry EHOSTUNREACH
  // and getaddrinfo's message).
  static task<tcp_stream> connect(std::string host, std::uint16_t port);
  // TCP_NODELAY on/off (synchronous). Throws std::system_error.
  void set_nodelay(bool on = true);
};

class unix_stream : public stream_socket {
 public:
  using stream_socket::stream_socket;
  static task<unix_stream> connect(std::string path);
  // A connected pair (socketpair), both ends usable at once.
  static std::pair<unix_stream, unix_stream> pair();
};

namespace detail {
// The listener's multishot accept and its queue of accepted connections (net.cpp).
struct acceptor;

// What tcp_listener and unix_listener share: a listening socket and an accept that
// survives descriptor exhaustion.
//
// Where the kernel has it (Linux 5.19, reactor_info::multishot_accept), one multishot
// accept SQE serves every accept(): it lives in the ring of the thread whose accept()
// armed it, and each connection it yields goes to the longest-waiting accept() (resumed
// through that caller's executor, so callers on any sched worker share one listener) or,
// when none waits, into a queue bounded by the backlog; a full queue stops the multishot
// until accept() drains it. Connections still queued when the listener closes are
// closed. Elsewhere, and for accept() outside an executor, each accept() is a
// single-shot accept.
class listener_base {
 public:
  listener_base() noexcept = default;
  listener_base(listener_base&&) noexcept = default;
  listener_base& operator=(listener_base&& other) noexcept;
  // Stops the multishot accept (its cancellation reaches the kernel through the ring
  // that holds it) and closes the queued connections, then the socket.
  ~listener_base();

  endpoint local_endpoint() const;
  int native_handle() const noexcept { return fd_.get(); }
  // Stops accepting as the destructor does; accept()s still waiting throw
  // std::system_error (EBADF). Closes the socket through the ring.
  task<void> close();

 protected:
  // Accepts one connection. On EMFILE/ENFILE (out of descriptors) it backs off (10 ms
  // doubling to 1 s) and retries instead of failing; the first occurrence in the
  // process is logged to stderr. Other errors throw; cancellation throws cancelled.
  task<int> accept_fd(const char* what) const;
  // After listen(): sets up the accept queue (`backlog` bounds it).
  void start_accepting(int backlog);
  void stop_accepting() noexcept;

  owned_fd fd_;
  std::shared_ptr<acceptor> acceptor_;
};
}  // namespace detail

class tcp_listener : public detail::listener_base {
 public:
  // socket + SO_REUSEADDR (+ SO_REUSEPORT) + bind + listen, synchronously. An IPv6
  // endpoint is dual-stack unless the system forbids it. Throws std::system_error.
  static tcp_listener bind(const endpoint& at, int backlog = 1024, bool reuseport = false);
  // `host`: a numeric address, "" or "*" (any, IPv6 dual-stack), or "localhost".
  static tcp_listener bind(std::string_view host, std::uint16_t port, int backlog = 1024, bool reuseport = false);
  // Awaitable: the next connection. See listener_base::accept_fd for EMFILE handling.
  task<tcp_stream> accept() const;
};

class unix_listener : public detail::listener_base {
 public:
  // Binds a Unix stream socket at `path` (an existing socket file there is replaced).
  static unix_listener bind(const std::string& path, int backlog = 1024);
  task<unix_stream> accept() const;
};

// Resolves `host` (a name or a numeric address) and `port` to stream-socket endpoints
// with getaddrinfo (AF_UNSPEC, AI_ADDRCONFIG), in the resolver's preferred order (what
// tcp_stream::connect(host, port) tries one after another). getaddrinfo blocks, so it
// runs on the blocking pool (coring/io/blocking.hpp) and the caller resumes through the
// executor current at suspension. Never empty: a name with no address throws. Throws
// std::system_error ("coring::resolve: <host>: <gai_strerror>", code EHOSTUNREACH, or
// the errno of a system failure); coring::cancelled if the task is cancelled (a lookup
// that has started runs to its end and its result is dropped).
task<std::vector<endpoint>> resolve(std::string host, std::uint16_t port);

class udp_socket {
 public:
  udp_socket() noexcept = default;
  // An unbound datagram socket of `family` (AF_INET or AF_INET6).
  static udp_socket open(int family = AF_INET);
  // A datagram socket bound to `at` (port 0: any free port). Throws std::system_error.
  static udp_socket bind(const endpoint& at);

  // Sends one datagram to `to`; yields the bytes sent.
  task<std::size_t> send_to(const_buffer buf, endpoint to) const;
  // Receives one datagram (truncated to buf.size()); yields its size and sender.
  task<std::pair<std::size_t, endpoint>> recv_from(mutable_buffer buf) const;

  endpoint local_endpoint() const;
  int native_handle() const noexcept { return fd_.get(); }
  task<void> close() { return fd_.close("coring::udp_socket::close"); }

 private:
  detail::owned_fd fd_;
};

}  // namespace coring
