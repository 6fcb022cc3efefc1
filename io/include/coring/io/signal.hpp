// signal: wait for a POSIX signal as an awaitable (asyncio's add_signal_handler).
//
//   co_await coring::signal(SIGINT);   // graceful shutdown on Ctrl-C
//
// How: the signal is blocked and read from a signalfd through the ring. A signal that is
// not blocked in EVERY thread may instead be delivered to a thread where it is not
// (default action: usually termination). So call coring::block_signals({SIGINT, ...})
// at the start of main, before any thread exists (threads inherit the mask); signal()
// blocks it only in the calling thread. Process-directed signals (kill, Ctrl-C) are
// seen; a signal sent with pthread_kill to another thread is not.
#pragma once

#include <coring/core/task.hpp>

#include <initializer_list>

namespace coring {

// Blocks `signals` in the calling thread's mask (pthread_sigmask). Throws
// std::system_error.
void block_signals(std::initializer_list<int> signals);

// Waits until `signo` is delivered to the process; yields it. Throws std::system_error
// ("coring::signal: ..."), coring::cancelled when cancelled. Resumes through the
// executor current at suspension.
task<int> signal(int signo);

}  // namespace coring
