// process: start (posix_spawnp + pidfd_open), wait (a poll of the pidfd through the ring,
// then waitid(P_PIDFD)), signals, and what a destroyed process object leaves to the
// reaper (reaper.cpp).
#include <coring/io/process.hpp>

#include "reaper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

extern char** environ;

namespace coring {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::system_category(), what);
}

int pidfd_open(pid_t pid) noexcept { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int signo) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signo, nullptr, 0));
}

// How the child of `pidfd` ended, if it has (reaping it); std::nullopt while it runs.
// Returns the errno of a failed waitid in `err` (0 on success).
std::optional<exit_status> reap_now(int pidfd, int& err) noexcept {
  siginfo_t info{};
  int r;
  do {
    r = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG);
  } while (r < 0 && errno == EINTR);
  err = r < 0 ? errno : 0;
  if (r < 0 || info.si_pid == 0) return std::nullopt;
  if (info.si_code == CLD_EXITED) return exit_status::exited_with(info.si_status);
  return exit_status::killed_by(info.si_status);  // CLD_KILLED or CLD_DUMPED
}

// NULL-terminated char* views of `strings` (which must outlive them), for posix_spawn.
std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// A pipe for one standard stream of the child: `child` becomes its descriptor `target`,
// `parent` is ours. Both ends O_CLOEXEC and above 2, so that no dup2 of another stream
// can land on one of them.
struct stdio_pipe {
  detail::owned_fd parent;
  detail::owned_fd child;
};

int above_stdio(int fd) {
  if (fd > STDERR_FILENO) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  const int err = errno;
  ::close(fd);
  if (moved < 0) throw_errno(err, "coring::process::start: pipe");
  return moved;
}

stdio_pipe make_stdio_pipe(int target) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "coring::process::start: pipe");
  detail::owned_fd read_end(fds[0]);
  detail::owned_fd write_end(fds[1]);
  read_end = detail::owned_fd(above_stdio(read_end.release()));
  write_end = detail::owned_fd(above_stdio(write_end.release()));
  // The child reads its stdin and writes its stdout and stderr.
  if (target == STDIN_FILENO) return {std::move(write_end), std::move(read_end)};
  return {std::move(read_end), std::move(write_end)};
}

// posix_spawn's file actions and attributes, destroyed with the object.
struct spawn_setup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;

  spawn_setup() {
    if (const int r = ::posix_spawn_file_actions_init(&actions); r != 0) {
      throw_errno(r, "coring::process::start: posix_spawn");
    }
    if (const int r = ::posix_spawnattr_init(&attr); r != 0) {
      ::posix_spawn_file_actions_destroy(&actions);
      throw_errno(r, "coring::process::start: posix_spawn");
    }
  }
  ~spawn_setup() {
    ::posix_spawnattr_destroy(&attr);
    ::posix_spawn_file_actions_destroy(&actions);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;

  static void check(int r) {
    if (r != 0) throw_errno(r, "coring::process::start: posix_spawn");
  }

  // Descriptor `target` of the child per `mode`; `p` is its pipe if mode is pipe.
  void connect(int target, stdio mode, const stdio_pipe& p) {
    if (mode == stdio::null) {
      check(::posix_spawn_file_actions_addopen(&actions, target, "/dev/null",
                                               target == STDIN_FILENO ? O_RDONLY : O_WRONLY, 0));
    } else if (mode == stdio::pipe) {
      // dup2 clears O_CLOEXEC on the copy; the original (above 2) goes with closefrom.
      check(::posix_spawn_file_actions_adddup2(&actions, p.child.get(), target));
    }
  }

  void finish(const std::string& cwd) {
    if (!cwd.empty()) check(::posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str()));
    // Descriptors of the parent opened without O_CLOEXEC (by code that is not ours) must
    // not reach the child either: it gets 0, 1 and 2 only.
    check(::posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1));
    // A mask the calling thread inherited (coring::block_signals) would otherwise stay
    // on in the child, and the SIG_IGN that pipe writers set for SIGPIPE with it.
    sigset_t none;
    sigemptyset(&none);
    check(::posix_spawnattr_setsigmask(&attr, &none));
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    check(::posix_spawnattr_setsigdefault(&attr, &defaults));
    check(::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
  }
};

}  // namespace

std::string exit_status::to_string() const {
  if (exited()) return "exit " + std::to_string(code_);
  const char* name = ::strsignal(signal_);
  return "signal " + std::to_string(signal_) + (name != nullptr ? std::string(" (") + name + ")" : std::string());
}

process process::start(const process_options& options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    throw std::invalid_argument("coring::process::start: argv is empty (argv[0] names the program)");
  }
  const stdio modes[3] = {options.in, options.out, options.err};
  stdio_pipe pipes[3];
  for (int fd = 0; fd < 3; ++fd) {
    if (modes[fd] == stdio::pipe) pipes[fd] = make_stdio_pipe(fd);
  }
  spawn_setup setup;
  for (int fd = 0; fd < 3; ++fd) setup.connect(fd, modes[fd], pipes[fd]);
  setup.finish(options.cwd);

  std::vector<char*> argv = c_strings(options.argv);
  std::vector<char*> envp;
  if (options.env) envp = c_strings(*options.env);
  pid_t pid = 0;
  // posix_spawnp reports a failed exec (and a failed file action: chdir, open) as its
  // result, having reaped the child that failed.
  const int r = ::posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(),
                               options.env ? envp.data() : environ);
  if (r != 0) {
    // The child's chdir and its exec fail with the same errnos (ENOENT, EACCES...): name
    // the directory if it is the one that cannot be entered.
    if (!options.cwd.empty() && ::access(options.cwd.c_str(), X_OK) != 0) {
      throw_errno(r, "coring::process::start: chdir " + options.cwd);
    }
    throw_errno(r, "coring::process::start: exec " + options.argv[0]);
  }

  process p;
  p.pid_ = pid;
  p.kill_on_destroy_ = options.kill_on_destroy;
  // The child is ours and unreaped, so its pid cannot have been reused yet.
  p.pidfd_ = pidfd_open(pid);
  if (p.pidfd_ < 0) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    p.pid_ = 0;
    throw_errno(err, "coring::process::start: pidfd_open");
  }
  if (modes[0] == stdio::pipe) p.in_ = pipe_writer(pipes[0].parent.release());
  if (modes[1] == stdio::pipe) p.out_ = pipe_reader(pipes[1].parent.release());
  if (modes[2] == stdio::pipe) p.err_ = pipe_reader(pipes[2].parent.release());
  return p;  // the child ends of the pipes close here
}

process::process(process&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      status_(std::exchange(other.status_, std::nullopt)),
      kill_on_destroy_(other.kill_on_destroy_),
      in_(std::move(other.in_)),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)) {}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    abandon();
    pid_ = std::exchange(other.pid_, 0);
    pidfd_ = std::exchange(other.pidfd_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
    kill_on_destroy_ = other.kill_on_destroy_;
    in_ = std::move(other.in_);
    out_ = std::move(other.out_);
    err_ = std::move(other.err_);
  }
  return *this;
}

process::~process() { abandon(); }

void process::abandon() noexcept {
  if (pidfd_ < 0) return;
  const int pidfd = std::exchange(pidfd_, -1);
  pid_ = 0;
  if (kill_on_destroy_) pidfd_send_signal(pidfd, SIGKILL);
  // reap_later reaps at once if the child has ended, else hands it to the reaper.
  detail::reap_later(pidfd);
}

void process::require_child(const char* what) const {
  if (pidfd_ < 0 && !status_) throw std::logic_error(std::string(what) + ": no process (empty or moved-from object)");
}

std::optional<exit_status> process::reap_if_ended(const char* what) {
  if (status_) return status_;
  require_child(what);
  int err = 0;
  std::optional<exit_status> s = reap_now(pidfd_, err);
  if (err != 0) throw_errno(err, what);
  if (s) {
    status_ = s;
    ::close(std::exchange(pidfd_, -1));
  }
  return s;
}

std::optional<exit_status> process::try_wait() { return reap_if_ended("coring::process::try_wait"); }

task<exit_status> process::wait() {
  for (;;) {
    if (std::optional<exit_status> s = reap_if_ended("coring::process::wait")) co_return *s;
    // POLLIN on a pidfd: the process has ended. One-shot and level-triggered, so a child
    // that ended between try_wait() and here completes it at once. Cancellation
    // cancels the poll in the kernel and throws coring::cancelled from the co_await.
    const int r = co_await detail::kernel_awaiter({detail::io_opcode::poll_in, pidfd_, 0, 0, nullptr, 0});
    if (r < 0) detail::throw_io_error(-r, "coring::process::wait");
  }
}

void process::send_signal(int signo) {
  if (status_) return;
  require_child("coring::process::send_signal");
  if (pidfd_send_signal(pidfd_, signo) != 0) {
    // ESRCH: it has ended and been reaped, which only we do (and then status_ is set),
    // so it cannot happen; a zombie takes the signal without complaint.
    throw_errno(errno, "coring::process::send_signal");
  }
}

}  // namespace coring
