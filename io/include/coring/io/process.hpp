// Subprocesses (asyncio.create_subprocess_exec): start a program with argv, environment,
// working directory and standard streams of your choice, talk to it through pipes, wait
// for it without blocking a thread.
//
//   coring::process_options o;
//   o.argv = {"uname", "-r"};
//   o.out = coring::stdio::pipe;
//   coring::process p = coring::process::start(o);
//   std::string text;
//   std::array<char, 4096> buf;
//   while (std::size_t n = co_await p.out().read(buf)) text.append(buf.data(), n);
//   coring::exit_status s = co_await p.wait();      // s.exited() && s.code() == 0
//
// How. start() calls posix_spawnp (glibc: clone(CLONE_VM | CLONE_VFORK), so the calling
// thread waits until the child has called exec, and an exec that fails comes back as the
// error of start() itself), then pidfd_open(2). wait() polls the pidfd through the ring
// (it becomes readable when the child ends) and reaps with waitid(P_PIDFD): no SIGCHLD
// handler, no thread per child, and no pid that another process could have been given in
// the meantime. Requirements: Linux 5.4 (pidfd_open 5.3, waitid(P_PIDFD) 5.4), glibc
// 2.34 (closefrom in posix_spawn), and SIGCHLD not set to SIG_IGN (the kernel then
// reaps children itself and wait() fails with ECHILD); nothing else in the process may
// reap children it did not start (waitpid(-1, ...)).
//
// Descriptors. Every descriptor coring makes is O_CLOEXEC; the child gets exactly its
// descriptors 0, 1 and 2 (posix_spawn closes every other one, including descriptors of
// the parent that lack O_CLOEXEC). Its signal mask is empty and SIGPIPE is at its
// default; other dispositions are inherited as exec leaves them (handlers become
// SIG_DFL, SIG_IGN stays).
//
// No zombies: a process is reaped by wait() or try_wait(), or, if neither saw its end,
// when the process object is destroyed: the destructor sends SIGKILL (unless
// process_options::kill_on_destroy is false) and, if the child has not ended yet, hands
// its pidfd to a reaper thread (started on first use, one per process, blocked on epoll
// over such pidfds) that reaps it when it ends.
//
// Errors follow coring/io/error.hpp: std::system_error naming the operation and its
// object ("coring::process::start: exec no-such-program: No such file or directory").
// A process object is used by one task at a time (one wait() at a time).
#pragma once

#include <coring/core/task.hpp>
#include <coring/io/pipe.hpp>

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coring {

// What a child's standard stream is connected to.
enum class stdio : std::uint8_t {
  inherit,  // the parent's descriptor of the same number
  null,     // /dev/null (reads see the end at once, writes are discarded)
  pipe,     // a new pipe whose other end is process::in(), out() or err()
};

// What to start, and how. A plain struct: fill in the fields you need.
struct process_options {
  // argv[0] is the program: a name without '/' is looked up in the parent's PATH (as
  // execvp does; the default path when PATH is unset), a name with '/' is used as it is
  // (relative to `cwd` if that is set). Must not be empty.
  std::vector<std::string> argv;
  // "NAME=value" entries that replace the environment; std::nullopt: the parent's.
  std::optional<std::vector<std::string>> env;
  // The child's working directory; empty: the parent's.
  std::string cwd;
  stdio in = stdio::inherit;
  stdio out = stdio::inherit;
  stdio err = stdio::inherit;
  // What destroying a process object that has not been reaped does to a child still
  // running: true, SIGKILL; false, nothing (it runs on, and is reaped when it ends).
  bool kill_on_destroy = true;
};

// How a child ended: exited with a code, or killed by a signal.
class exit_status {
 public:
  static exit_status exited_with(int code) noexcept { return exit_status(code, 0); }
  static exit_status killed_by(int signo) noexcept { return exit_status(-1, signo); }

  bool exited() const noexcept { return signal_ == 0; }
  // The exit code (0..255) if exited(), else -1.
  int code() const noexcept { return code_; }
  bool signaled() const noexcept { return signal_ != 0; }
  // The signal that killed it if signaled(), else 0.
  int signal() const noexcept { return signal_; }
  // Exited with code 0.
  bool success() const noexcept { return exited() && code_ == 0; }
  // "exit 3", "signal 9 (Killed)".
  std::string to_string() const;

  friend bool operator==(const exit_status&, const exit_status&) = default;

 private:
  exit_status(int code, int signo) noexcept : code_(code), signal_(signo) {}
  int code_;
  int signal_;
};

// A child process started by coring. Move-only; see the top of this file for what the
// destructor does to a child that has not been reaped.
class process {
 public:
  process() noexcept = default;
  process(process&& other) noexcept;
  process& operator=(process&& other) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  // Reaps the child if it has ended; else kills it (kill_on_destroy) and leaves it to the
  // reaper thread. Closes the pipe ends (synchronously). Never blocks on the child.
  ~process();

  // Starts `options.argv` as a child process. Synchronous: the calling thread waits until
  // the child has called exec, not longer (for /bin/true a median of 0.4 ms, p90 0.8-1.2
  // ms, on a loaded 2-vCPU machine; no coroutine suspends).
  // Throws std::invalid_argument for an empty argv, and std::system_error:
  // "coring::process::start: exec <program>: ..." when the program cannot be run (ENOENT
  // not found, EACCES not executable, ...), "coring::process::start: chdir <cwd>: ..."
  // when `cwd` is not a directory it can enter, "coring::process::start: pipe" /
  // "posix_spawn" / "pidfd_open" for other failures. Nothing is left behind on failure
  // (no child, no descriptor).
  static process start(const process_options& options);

  // The child's process id (0 for an empty object). Valid until the child is reaped.
  pid_t pid() const noexcept { return pid_; }

  // The parent's ends of the pipes asked for with stdio::pipe (closed objects
  // otherwise). Close in() (`co_await p.in().close()`) to send the child end-of-file;
  // move a stream out to keep it beyond the process object.
  pipe_writer& in() noexcept { return in_; }
  pipe_reader& out() noexcept { return out_; }
  pipe_reader& err() noexcept { return err_; }

  // Waits until the child ends and reaps it; yields how it ended. Once reaped, yields
  // the same status again at once. Throws coring::cancelled if the task is cancelled
  // (the poll is cancelled in the kernel and the child stays unreaped: wait() again
  // later, or let the destructor handle it), so coring::timeout(d, p.wait()) throws
  // coring::timed_out and leaves the process waitable. Throws std::system_error
  // ("coring::process::wait: ...", ECHILD if something else reaped the child) and
  // std::logic_error for an empty object. Resumes through the executor current at
  // suspension, or without suspending if the child has already ended.
  task<exit_status> wait();

  // Reaps the child if it has ended (waitid WNOHANG) and yields how it ended, the same
  // status again once reaped; std::nullopt while it runs. Never blocks. Throws
  // std::system_error ("coring::process::try_wait: ...") and std::logic_error as wait().
  std::optional<exit_status> try_wait();

  // Sends `signo` to the child (pidfd_send_signal: never to a process that reused its
  // pid). Does nothing once the child has been reaped. Throws std::system_error
  // ("coring::process::send_signal: ...", EINVAL for a bad signal number) and
  // std::logic_error for an empty object.
  void send_signal(int signo);
  // send_signal(SIGTERM).
  void terminate() { send_signal(SIGTERM); }
  // send_signal(SIGKILL).
  void kill() { send_signal(SIGKILL); }

 private:
  void require_child(const char* what) const;
  // try_wait() with errors naming `what`.
  std::optional<exit_status> reap_if_ended(const char* what);
  // The destructor's policy, also used when a process object is assigned over.
  void abandon() noexcept;

  pid_t pid_ = 0;
  int pidfd_ = -1;  // -1: empty object, or reaped (then status_ is set)
  std::optional<exit_status> status_;
  bool kill_on_destroy_ = true;
  pipe_writer in_;
  pipe_reader out_;
  pipe_reader err_;
};

}  // namespace coring
