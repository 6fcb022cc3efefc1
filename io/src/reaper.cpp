// The reaper thread. Boring on purpose: one thread, one epoll set of pidfds (a pidfd is
// readable once its process has ended), started the first time a process object is
// destroyed with its child still running, and never stopped (a child still running at
// exit is re-parented to init, which reaps it). epoll_ctl is thread-safe, so callers add
// their pidfd to the set directly: no queue, no wake-up. The thread blocks every signal,
// so it never takes a process-directed signal meant for the application.
#include "reaper.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <thread>

namespace coring::detail {

namespace {

// Reaps the child of `pidfd` if it has ended (or is not ours to wait for any more), then
// closes the pidfd; returns false while it still runs. `flags`: WNOHANG, or 0 to block.
bool reap(int pidfd, int flags) noexcept {
  siginfo_t info{};
  int r;
  do {
    r = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | flags);
  } while (r < 0 && errno == EINTR);
  if (r == 0 && info.si_pid == 0) return false;  // WNOHANG: still running
  ::close(pidfd);
  return true;
}

class reaper {
 public:
  // -1 when the thread could not be started.
  int epoll_fd() const noexcept { return epfd_; }

  // The one reaper, built on first use; nullptr if there was no memory for it.
  static reaper* instance() noexcept {
    // Never destroyed: the thread may be in epoll_wait while static destructors run.
    static reaper* const r = new (std::nothrow) reaper();
    return r;
  }

 private:
  reaper() noexcept {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return;
    // Block every signal in the new thread (it inherits the mask of its creator).
    sigset_t all, previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    try {
      std::thread([fd = epfd_] { run(fd); }).detach();
    } catch (...) {
      ::close(epfd_);
      epfd_ = -1;
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

  [[noreturn]] static void run(int epfd) noexcept {
    epoll_event events[64];
    for (;;) {
      const int n = ::epoll_wait(epfd, events, 64, -1);
      for (int i = 0; i < n; ++i) {
        const int pidfd = events[i].data.fd;
        // Remove before reap() closes it: a closed descriptor number may be reused by
        // the next reap_later() before we would get to delete it.
        ::epoll_ctl(epfd, EPOLL_CTL_DEL, pidfd, nullptr);
        if (!reap(pidfd, WNOHANG)) {
          // Readable but not reapable (cannot happen for a pidfd of a child that ended;
          // kept as a guard): watch it again.
          epoll_event again{};
          again.events = EPOLLIN;
          again.data.fd = pidfd;
          if (::epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &again) != 0) reap(pidfd, 0);
        }
      }
    }
  }

  int epfd_ = -1;
};

}  // namespace

void reap_later(int pidfd) noexcept {
  if (reap(pidfd, WNOHANG)) return;
  reaper* r = reaper::instance();
  if (r != nullptr && r->epoll_fd() >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = pidfd;
    if (::epoll_ctl(r->epoll_fd(), EPOLL_CTL_ADD, pidfd, &ev) == 0) return;
  }
  reap(pidfd, 0);
}

}  // namespace coring::detail
