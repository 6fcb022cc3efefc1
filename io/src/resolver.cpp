// Name resolution on the blocking pool; see resolver.hpp.
#include "resolver.hpp"

#include <coring/io/blocking.hpp>

#include <netdb.h>

#include <cerrno>
#include <string>
#include <system_error>

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
                            "coring::resolve: " + host + ": " + ::gai_strerror(r));
  }
  std::vector<endpoint> out;
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) out.push_back(endpoint::from(a->ai_addr, a->ai_addrlen));
  ::freeaddrinfo(list);
  return out;
}

}  // namespace coring::detail

namespace coring {

task<std::vector<endpoint>> resolve(std::string host, std::uint16_t port) {
  std::vector<endpoint> out =
      co_await blocking([](const std::string& h, std::uint16_t p) { return detail::lookup(h, p); }, host, port);
  if (out.empty()) {
    throw std::system_error(EHOSTUNREACH, std::system_category(), "coring::resolve: " + host + ": no address");
  }
  co_return out;
}

}  // namespace coring
