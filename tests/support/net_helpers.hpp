// Socket helpers shared by the io and sched tests.
#pragma once

#include <coring/core/task.hpp>
#include <coring/io/net.hpp>

#include <dirent.h>

#include <cstddef>

namespace coring::testing {

// Open descriptors of this process (for leak checks).
inline int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n - 1;  // the DIR's own descriptor
}

// One accept loop for `n` connections; each carries one byte each way, so a descriptor
// handed to the wrong place shows. Returns how many were answered.
inline task<int> accept_and_answer(const tcp_listener& l, int n) {
  int served = 0;
  for (int i = 0; i < n; ++i) {
    tcp_stream s = co_await l.accept();
    std::byte b[1];
    if (co_await s.read(b) == 1) {
      co_await s.write_all(b);
      ++served;
    }
  }
  co_return served;
}

// Connects to `at`, sends byte `i`, and checks the same byte comes back.
inline task<bool> connect_and_ask(endpoint at, int i) {
  auto c = co_await tcp_stream::connect(at);
  std::byte out[1] = {static_cast<std::byte>(i)};
  std::byte in[1] = {};
  co_await c.write_all(out);
  co_await c.read_exact(in);
  co_return in[0] == out[0];
}

}  // namespace coring::testing
