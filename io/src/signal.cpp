// signal(): signalfd read through the ring.
#include <coring/io/detail/op.hpp>
#include <coring/io/signal.hpp>

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace coring {

void block_signals(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  const int r = ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (r != 0) throw std::system_error(r, std::system_category(), "coring::block_signals");
}

task<int> signal(int signo) {
  block_signals({signo});
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  const int fd = ::signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "coring::signal: signalfd");
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  signalfd_siginfo info{};
  for (;;) {
    const int r = co_await detail::kernel_awaiter({detail::io_opcode::read, fd, sizeof info, 0, &info, ~0ull});
    if (r == static_cast<int>(sizeof info)) co_return static_cast<int>(info.ssi_signo);
    if (r < 0) detail::throw_io_error(-r, "coring::signal");
  }
}

}  // namespace coring
