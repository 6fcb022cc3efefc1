// Name resolution behind coring::resolve and tcp_stream::connect(host, port).
//
// getaddrinfo blocks, so the lookup runs on the blocking pool (coring::blocking) and the
// awaiting coroutine resumes on its executor. A lookup that has started cannot be
// interrupted; cancelling the task discards its result when it returns.
#pragma once

#include <coring/core/task.hpp>
#include <coring/io/net.hpp>

#include <string>
#include <vector>

namespace coring::detail {

// getaddrinfo(host, port, SOCK_STREAM) as endpoints, in the resolver's order. Throws
// std::system_error (EHOSTUNREACH) carrying gai_strerror's message. Blocks. The public
// coring::resolve (net.hpp) runs it on the blocking pool.
std::vector<endpoint> lookup(const std::string& host, std::uint16_t port);

}  // namespace coring::detail
