// pipe(), the standard streams, and the process-wide SIGPIPE setting they rely on.
#include <coring/io/pipe.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace coring {

namespace detail {

void ignore_sigpipe() noexcept {
  // Once per process (a magic static): a user who sets SIGPIPE back to SIG_DFL later has
  // chosen to be killed by it. The current action is read first so that only SIG_DFL is
  // replaced, never a handler of the user's.
  static const bool done = [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) == 0 &&
        current.sa_handler == SIG_DFL) {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      ::sigaction(SIGPIPE, &ignore, nullptr);
    }
    return true;
  }();
  (void)done;
}

}  // namespace detail

pipe_pair pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category(), "coring::pipe");
  return pipe_pair{pipe_reader(fds[0]), pipe_writer(fds[1])};
}

pipe_reader standard_input() noexcept { return pipe_reader::borrow(STDIN_FILENO); }
pipe_writer standard_output() noexcept { return pipe_writer::borrow(STDOUT_FILENO); }
pipe_writer standard_error() noexcept { return pipe_writer::borrow(STDERR_FILENO); }

}  // namespace coring
