// endpoint and the socket types: creation, options and the multi-step operations
// (connect, accept with EMFILE back-off over the multishot acceptor or single-shot
// accepts, datagrams). Single operations (read, write, shutdown) are awaiters built
// inline in net.hpp.
#include <coring/io/net.hpp>
#include <coring/io/reactor.hpp>
#include <coring/io/timer.hpp>

#include "acceptor.hpp"
#include "resolver.hpp"

#include <liburing.h>

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <system_error>

namespace coring {

namespace {
[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::system_category(), what); }

detail::owned_fd make_socket(int family, int type, const char* what) {
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(what);
  return detail::owned_fd(fd);
}

endpoint name_of(int fd, bool peer, const char* what) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                     : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r < 0) throw_errno(what);
  return endpoint::from(reinterpret_cast<sockaddr*>(&ss), len);
}

void set_int_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) < 0) throw_errno(what);
}
}  // namespace

// --- endpoint ---

endpoint endpoint::v4(std::string_view ip, std::uint16_t port) {
  endpoint e;
  auto* sa = reinterpret_cast<sockaddr_in*>(&e.storage_);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  const std::string s(ip);
  if (::inet_pton(AF_INET, s.c_str(), &sa->sin_addr) != 1) throw std::invalid_argument("coring::endpoint: not an IPv4 address: " + s);
  e.len_ = sizeof(sockaddr_in);
  return e;
}

endpoint endpoint::v6(std::string_view ip, std::uint16_t port) {
  endpoint e;
  auto* sa = reinterpret_cast<sockaddr_in6*>(&e.storage_);
  sa->sin6_family = AF_INET6;
  sa->sin6_port = htons(port);
  const std::string s(ip);
  if (::inet_pton(AF_INET6, s.c_str(), &sa->sin6_addr) != 1) throw std::invalid_argument("coring::endpoint: not an IPv6 address: " + s);
  e.len_ = sizeof(sockaddr_in6);
  return e;
}

endpoint endpoint::parse(std::string_view ip, std::uint16_t port) {
  return ip.find(':') != std::string_view::npos ? v6(ip, port) : v4(ip, port);
}

endpoint endpoint::unix_path(std::string_view path) {
  endpoint e;
  auto* sa = reinterpret_cast<sockaddr_un*>(&e.storage_);
  if (path.size() >= sizeof sa->sun_path) throw std::invalid_argument("coring::endpoint: Unix path too long: " + std::string(path));
  sa->sun_family = AF_UNIX;
  std::memcpy(sa->sun_path, path.data(), path.size());
  e.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return e;
}

endpoint endpoint::from(const sockaddr* sa, socklen_t len) noexcept {
  endpoint e;
  len = std::min<socklen_t>(len, sizeof e.storage_);
  std::memcpy(&e.storage_, sa, len);
  e.len_ = len;
  return e;
}

std::uint16_t endpoint::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

std::string endpoint::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  if (family() == AF_UNIX) return std::string("unix:") + reinterpret_cast<const sockaddr_un*>(&storage_)->sun_path;
  return "(unspecified)";
}

// --- listener_base ---

namespace detail {

endpoint listener_base::local_endpoint() const { return name_of(fd_.get(), false, "coring::listener::local_endpoint"); }

listener_base& listener_base::operator=(listener_base&& other) noexcept {
  if (this != &other) {
    stop_accepting();
    fd_ = std::move(other.fd_);
    acceptor_ = std::move(other.acceptor_);
  }
  return *this;
}

// The acceptor stops first: its queued connections are closed and its multishot
// cancelled before the socket goes (the kernel's request holds the socket open until
// the cancellation lands; connections it yields meanwhile are closed on arrival).
listener_base::~listener_base() { stop_accepting(); }

task<void> listener_base::close() {
  stop_accepting();
  return fd_.close("coring::listener::close");
}

void listener_base::start_accepting(int backlog) {
  // The queue holds what the kernel's backlog would have held (listen() clamps the
  // backlog to net.core.somaxconn, 4096 by default: the same cap here).
  const std::size_t capacity = static_cast<std::size_t>(std::clamp(backlog, 1, 4096));
  acceptor_ = std::make_shared<acceptor>(fd_.get(), capacity);
}

void listener_base::stop_accepting() noexcept {
  if (acceptor_ != nullptr) acceptor_->stop();
}

task<int> listener_base::accept_fd(const char* what) const {
  // One message per process: a server out of descriptors would otherwise log per
  // connection attempt. relaxed: nothing is published through the flag.
  static std::atomic<bool> logged{false};
  std::chrono::milliseconds backoff(10);
  for (;;) {
    int r = 0;
    if (acceptor_ != nullptr && acceptor_->usable()) {
      r = co_await accept_waiter(acceptor_);
      if (r == -EAGAIN) continue;  // the multishot ended (or the kernel refused it): again
    } else {
      r = co_await kernel_awaiter({io_opcode::accept, fd_.get(), 0, SOCK_CLOEXEC, nullptr, 0});
    }
    if (r >= 0) co_return r;
    if (r == -EMFILE || r == -ENFILE) {
      if (!logged.exchange(true, std::memory_order_relaxed)) {
        std::fprintf(stderr, "coring: %s: %s; backing off and retrying (logged once)\n", what, std::strerror(-r));
      }
      co_await sleep(backoff);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(1));
      continue;
    }
    // The connection died between the handshake and accept: not the listener's fault.
    if (r == -ECONNABORTED) continue;
    throw_io_error(-r, what);
  }
}

}  // namespace detail

// --- streams ---

endpoint stream_socket::local_endpoint() const { return name_of(fd_.get(), false, "coring::stream::local_endpoint"); }
endpoint stream_socket::peer_endpoint() const { return name_of(fd_.get(), true, "coring::stream::peer_endpoint"); }

task<tcp_stream> tcp_stream::connect(endpoint to) {
  detail::owned_fd fd = make_socket(to.family(), SOCK_STREAM, "coring::tcp_stream::connect: socket");
  // `to` lives in this frame until the kernel has answered.
  const int r = co_await detail::kernel_awaiter(
      {detail::io_opcode::connect, fd.get(), 0, 0, const_cast<sockaddr*>(to.data()), to.size()});
  if (r < 0) {
    throw std::system_error(-r, std::system_category(), "coring::tcp_stream::connect: " + to.to_string());
  }
  co_return tcp_stream(fd.release());
}

task<tcp_stream> tcp_stream::connect(std::string host, std::uint16_t port) {
  std::vector<endpoint> candidates = co_await coring::resolve(host, port);
  std::exception_ptr last;
  for (const endpoint& e : candidates) {
    try {
      co_return co_await connect(e);
    } catch (const std::system_error&) {
      last = std::current_exception();
    }
  }
  if (last) std::rethrow_exception(last);
  throw std::system_error(EHOSTUNREACH, std::system_category(), "coring::tcp_stream::connect: no address for " + host);
}

void tcp_stream::set_nodelay(bool on) {
  set_int_option(fd_.get(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "coring::tcp_stream::set_nodelay");
}

task<unix_stream> unix_stream::connect(std::string path) {
  const endpoint to = endpoint::unix_path(path);
  detail::owned_fd fd = make_socket(AF_UNIX, SOCK_STREAM, "coring::unix_stream::connect: socket");
  const int r = co_await detail::kernel_awaiter(
      {detail::io_opcode::connect, fd.get(), 0, 0, const_cast<sockaddr*>(to.data()), to.size()});
  if (r < 0) throw std::system_error(-r, std::system_category(), "coring::unix_stream::connect: " + path);
  co_return unix_stream(fd.release());
}

std::pair<unix_stream, unix_stream> unix_stream::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) throw_errno("coring::unix_stream::pair");
  return {unix_stream(fds[0]), unix_stream(fds[1])};
}

// --- listeners ---

tcp_listener tcp_listener::bind(const endpoint& at, int backlog, bool reuseport) {
  tcp_listener l;
  l.fd_ = make_socket(at.family(), SOCK_STREAM, "coring::tcp_listener::bind: socket");
  const int fd = l.fd_.get();
  set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "coring::tcp_listener::bind: SO_REUSEADDR");
  if (reuseport) set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "coring::tcp_listener::bind: SO_REUSEPORT");
  if (at.family() == AF_INET6) {
    // Dual-stack where allowed; failure just leaves the system default.
    const int off = 0;
    (void)::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (::bind(fd, at.data(), at.size()) < 0) {
    throw std::system_error(errno, std::system_category(), "coring::tcp_listener::bind: " + at.to_string());
  }
  if (::listen(fd, backlog) < 0) throw_errno("coring::tcp_listener::bind: listen");
  l.start_accepting(backlog);
  return l;
}

tcp_listener tcp_listener::bind(std::string_view host, std::uint16_t port, int backlog, bool reuseport) {
  if (host.empty() || host == "*") return bind(endpoint::v6("::", port), backlog, reuseport);
  if (host == "localhost") return bind(endpoint::v4("127.0.0.1", port), backlog, reuseport);
  return bind(endpoint::parse(host, port), backlog, reuseport);
}

task<tcp_stream> tcp_listener::accept() const { co_return tcp_stream(co_await accept_fd("coring::tcp_listener::accept")); }

unix_listener unix_listener::bind(const std::string& path, int backlog) {
  const endpoint at = endpoint::unix_path(path);
  unix_listener l;
  l.fd_ = make_socket(AF_UNIX, SOCK_STREAM, "coring::unix_listener::bind: socket");
  ::unlink(path.c_str());  // a stale socket file from an earlier run
  if (::bind(l.fd_.get(), at.data(), at.size()) < 0) {
    throw std::system_error(errno, std::system_category(), "coring::unix_listener::bind: " + path);
  }
  if (::listen(l.fd_.get(), backlog) < 0) throw_errno("coring::unix_listener::bind: listen");
  l.start_accepting(backlog);
  return l;
}

task<unix_stream> unix_listener::accept() const {
  co_return unix_stream(co_await accept_fd("coring::unix_listener::accept"));
}

// --- udp ---

udp_socket udp_socket::open(int family) {
  udp_socket s;
  s.fd_ = make_socket(family, SOCK_DGRAM, "coring::udp_socket::open");
  return s;
}

udp_socket udp_socket::bind(const endpoint& at) {
  udp_socket s = open(at.family());
  if (::bind(s.fd_.get(), at.data(), at.size()) < 0) {
    throw std::system_error(errno, std::system_category(), "coring::udp_socket::bind: " + at.to_string());
  }
  return s;
}

endpoint udp_socket::local_endpoint() const { return name_of(fd_.get(), false, "coring::udp_socket::local_endpoint"); }

task<std::size_t> udp_socket::send_to(const_buffer buf, endpoint to) const {
  // msghdr, iovec and address live in this frame until the kernel has answered.
  iovec iov{const_cast<std::byte*>(buf.data()), buf.size()};
  msghdr msg{};
  msg.msg_name = to.data();
  msg.msg_namelen = to.size();
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const int r = co_await detail::kernel_awaiter({detail::io_opcode::sendmsg, fd_.get(), 0, 0, &msg, 0});
  if (r < 0) detail::throw_io_error(-r, "coring::udp_socket::send_to");
  co_return static_cast<std::size_t>(r);
}

task<std::pair<std::size_t, endpoint>> udp_socket::recv_from(mutable_buffer buf) const {
  endpoint from;
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_name = from.data();
  msg.msg_namelen = sizeof(sockaddr_storage);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const int r = co_await detail::kernel_awaiter({detail::io_opcode::recvmsg, fd_.get(), 0, 0, &msg, 0});
  if (r < 0) detail::throw_io_error(-r, "coring::udp_socket::recv_from");
  co_return std::pair<std::size_t, endpoint>(static_cast<std::size_t>(r), endpoint::from(from.data(), msg.msg_namelen));
}

}  // namespace coring

namespace coring {

void received::reset() noexcept {
  if (pool_ != nullptr) pool_->recycle_recv_buffer(id_);
  pool_ = nullptr;
  own_.reset();
  data_ = {};
}

namespace detail {

bool receive_awaiter::use_own_buffer() noexcept {
  // The pool is empty (ENOBUFS) or absent: read into a buffer of our own instead.
  if (!own_) {
    own_.reset(new (std::nothrow) std::byte[own_size_]);
    if (!own_) return false;
  }
  request = {io_opcode::recv, fd_, own_size_, 0, own_.get(), 0};
  phase_ = phase::own;
  return true;
}

bool receive_awaiter::begin(std::coroutine_handle<> h, const cancel_source* source) {
  reactor* r = current_reactor();
  if (r == nullptr) {
    throw std::logic_error(
        "coring: this thread drives no reactor (await I/O and timers inside coring::io_context::run)");
  }
  const int group = r->recv_buffer_group();
  own_size_ = group >= 0 ? static_cast<std::uint32_t>(r->recv_buffer(0).size()) : 4096;
  group_ = group;
  if (group >= 0) {
    phase_ = phase::pooled;
    request = {io_opcode::recv_pool, fd_, 0, 0, nullptr, static_cast<std::uint64_t>(group)};
  } else if (!use_own_buffer()) {
    throw std::bad_alloc();
  }
  if (begin_wait(*this, w_, h, source) == nullptr) return false;
  owner->submit(*this);
  return true;
}

void receive_awaiter::complete(reactor_op& op, int res) noexcept {
  auto& self = static_cast<receive_awaiter&>(op);
  const bool cancelling = self.w_.source != nullptr && self.w_.source->requested();
  if (!cancelling) {
    if (res == -ENOBUFS && self.phase_ == phase::pooled) {
      // The kernel picks the buffer before it looks for data, so an empty pool fails even
      // a receive that would have waited. Wait for data without a buffer, then try the
      // pool again: an idle connection still holds none.
      self.phase_ = phase::polling;
      self.request = {io_opcode::poll_in, self.fd_, 0, 0, nullptr, 0};
      self.owner->submit(self);
      return;
    }
    if (self.phase_ == phase::polling && res >= 0) {
      self.phase_ = phase::pooled_after_poll;
      self.request = {io_opcode::recv_pool, self.fd_, 0, 0, nullptr, static_cast<std::uint64_t>(self.group_)};
      self.owner->submit(self);
      return;
    }
    if (res == -ENOBUFS) {
      // Data waits and the pool is still empty: read it into a buffer of our own.
      if (self.use_own_buffer()) {
        self.owner->submit(self);
        return;
      }
      res = -ENOMEM;
    }
  }
  if ((res == -EAGAIN || res == -EINTR) && !cancelling) {
    self.owner->submit(self);
    return;
  }
  if (res < 0 && (self.cqe_flags & IORING_CQE_F_BUFFER) != 0) {
    // A failed receive that still took a buffer gives it straight back.
    self.owner->recycle_recv_buffer(static_cast<std::uint16_t>(self.cqe_flags >> IORING_CQE_BUFFER_SHIFT));
    self.cqe_flags = 0;
  }
  finish_wait(op, self.w_, res == -EAGAIN || res == -EINTR ? -ECANCELED : res);
}

received receive_awaiter::await_resume() {
  received out;
  // Take the buffer first, so that a throw below still gives it back.
  if ((cqe_flags & IORING_CQE_F_BUFFER) != 0) {
    const auto id = static_cast<std::uint16_t>(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
    out.pool_ = owner;
    out.id_ = id;
    if (w_.result > 0) out.data_ = owner->recv_buffer(id).first(static_cast<std::size_t>(w_.result));
  } else if (w_.result > 0 && request.opcode == io_opcode::recv) {
    out.own_ = std::move(own_);
    out.data_ = std::span<const std::byte>(out.own_.get(), static_cast<std::size_t>(w_.result));
  }
  check_cancelled(w_);
  if (w_.result < 0) throw_io_error(-w_.result, "coring::stream::receive");
  return out;
}

}  // namespace detail
}  // namespace coring
