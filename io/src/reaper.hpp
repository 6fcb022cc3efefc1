// The reaper: where children go whose process object was destroyed before they ended.
#pragma once

namespace coring::detail {

// Takes ownership of `pidfd`, a pidfd of an unreaped child of this process: reaps the
// child when it ends (waitid(P_PIDFD)) and closes the pidfd. Any thread; never blocks
// on the child. The first call starts the reaper thread, which lives until the process
// exits. If that thread or its epoll set cannot be had (out of threads, descriptors or
// memory), reaps here, blocking until the child ends: a zombie would be worse.
void reap_later(int pidfd) noexcept;

}  // namespace coring::detail
