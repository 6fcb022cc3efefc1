// TEMPORARY resolver thread; see resolver.hpp.
#include "resolver.hpp"

#include <netdb.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <thread>

namespace coring::detail {

std::vector<endpoint> lookup(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  const int r = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (r != 0) {
    throw std::system_error(r == EAI_SYSTEM ? errno : EHOSTUNREACH, std::system_category(),
                            "coring::tcp_stream::connect: resolving " + host + ": " + ::gai_strerror(r));
  }
  std::vector<endpoint> out;
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) out.push_back(endpoint::from(a->ai_addr, a->ai_addrlen));
  ::freeaddrinfo(list);
  return out;
}

void resolve_awaiter::await_suspend(std::coroutine_handle<> h) {
  executor* ex = current_executor();
  if (ex == nullptr) throw std::logic_error("coring::tcp_stream::connect: no executor to resume on");
  // The thread owns nothing but references into this awaiter, which lives in the
  // suspended frame until post() hands the coroutine back: everything it writes
  // happens before the post (the executor's queue synchronizes).
  std::thread([this, h, ex] {
    try {
      result_ = lookup(host_, port_);
    } catch (...) {
      error_ = std::current_exception();
    }
    ex->post(h);
  }).detach();
}

std::vector<endpoint> resolve_awaiter::await_resume() {
  if (error_) std::rethrow_exception(error_);
  return std::move(result_);
}

}  // namespace coring::detail
