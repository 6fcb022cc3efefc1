// Name resolution for tcp_stream::connect(host, port). Private to io/.
//
// TEMPORARY: getaddrinfo blocks, so each resolution runs on a short-lived thread of its
// own and posts the awaiting coroutine back to its executor. This goes away when
// coring::blocking() (io/include/coring/io/blocking.hpp, the blocking pool) lands:
// resolve() then becomes `co_await coring::blocking([&] { return lookup(host, port); })`.
// Not cancellable while the lookup runs (the thread cannot be interrupted either way).
#pragma once

#include <coring/io/net.hpp>

#include <coroutine>
#include <exception>
#include <string>
#include <vector>

namespace coring::detail {

// getaddrinfo(host, port, SOCK_STREAM) as endpoints, in the resolver's order. Throws
// std::system_error (EHOSTUNREACH) carrying gai_strerror's message.
std::vector<endpoint> lookup(const std::string& host, std::uint16_t port);

class resolve_awaiter {
 public:
  resolve_awaiter(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {}
  bool await_ready() const noexcept { return false; }
  // Throws std::system_error if the thread cannot be started.
  void await_suspend(std::coroutine_handle<> h);
  std::vector<endpoint> await_resume();

 private:
  std::string host_;
  std::uint16_t port_;
  std::vector<endpoint> result_;
  std::exception_ptr error_;
};

inline resolve_awaiter resolve(std::string host, std::uint16_t port) { return {std::move(host), port}; }

}  // namespace coring::detail
