// Subprocesses: echo through cat, exit codes and signals, a missing program, cwd and
// environment, separate stderr, /dev/null, what the child inherits (descriptors, signal
// mask, SIGPIPE), timeout then kill, many at once with no zombie and no descriptor left,
// and what destroying an unreaped process does (kill or not, reaped either way).
//
// Zombie checks use waitid(P_ALL | P_PID, WNOWAIT): they concern only this process's own
// children (ctest runs other binaries beside this one) and observe without reaping.
// Every test ends with all its children reaped, so "no child at all" is the check.
#include "co_test.hpp"
#include "io_test.hpp"
#include "net_helpers.hpp"
#include "sanitizers.hpp"

#include <coring/io/pipe.hpp>
#include <coring/io/process.hpp>
#include <coring/io/timer.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

using coring::testing::open_fds;

// True when this process has no child at all, zombie or running (waitid: ECHILD).
bool no_children() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

// True once `pid` is no longer a child of ours (it has been reaped).
bool reaped(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

// Waits (polling each millisecond, at most 10 s) until the reaper has reaped `pid`.
coring::task<bool> eventually_reaped(pid_t pid) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!reaped(pid)) {
    if (std::chrono::steady_clock::now() > give_up) co_return false;
    co_await coring::sleep(1ms);
  }
  co_return true;
}

coring::task<std::string> read_all(const coring::pipe_reader& r) {
  std::string out;
  std::array<char, 4096> buf;
  while (const std::size_t n = co_await r.read(buf)) out.append(buf.data(), n);
  co_return out;
}

coring::task<void> write_and_close(coring::pipe_writer& w, const std::string& data) {
  co_await w.write_all(data);
  co_await w.close();
}

coring::process_options command(std::vector<std::string> argv) {
  coring::process_options o;
  o.argv = std::move(argv);
  return o;
}

// Runs argv with stdout piped; yields what it printed and how it ended.
struct ran {
  std::string out;
  coring::exit_status status = coring::exit_status::exited_with(-1);
};
coring::task<ran> run_capturing(coring::process_options o) {
  o.out = coring::stdio::pipe;
  coring::process p = coring::process::start(o);
  ran r;
  r.out = co_await read_all(p.out());
  r.status = co_await p.wait();
  co_return r;
}

std::string temp_dir() {
  std::string pattern = ::testing::TempDir() + "coring_process_XXXXXX";
  const char* made = ::mkdtemp(pattern.data());
  return made != nullptr ? std::string(made) : std::string();
}

}  // namespace

IO_TEST(process, echo_through_cat) {
  coring::process_options o = command({"cat"});
  o.in = coring::stdio::pipe;
  o.out = coring::stdio::pipe;
  coring::process p = coring::process::start(o);
  EXPECT_GT(p.pid(), 0);
  // Larger than both pipe buffers: cat stalls unless we read while we write.
  std::string data(512 * 1024, '\0');
  std::mt19937 rng(7);
  for (char& c : data) c = static_cast<char>(rng());
  auto [written, echoed] = co_await coring::gather(write_and_close(p.in(), data), read_all(p.out()));
  (void)written;
  EXPECT_EQ(echoed.size(), data.size());
  EXPECT_TRUE(echoed == data);
  const coring::exit_status s = co_await p.wait();
  EXPECT_TRUE(s.success()) << s.to_string();
  EXPECT_TRUE(no_children());
}

IO_TEST(process, exit_codes) {
  coring::process p = coring::process::start(command({"sh", "-c", "exit 3"}));
  const coring::exit_status s = co_await p.wait();
  EXPECT_TRUE(s.exited());
  EXPECT_FALSE(s.signaled());
  EXPECT_EQ(s.code(), 3);
  EXPECT_FALSE(s.success());
  EXPECT_EQ(s.to_string(), "exit 3");
  // Reaped: wait() and try_wait() yield the same status again, signals are ignored.
  EXPECT_EQ(co_await p.wait(), s);
  EXPECT_EQ(p.try_wait(), s);
  p.kill();
  EXPECT_TRUE(reaped(p.pid()) || p.pid() == 0);

  coring::process ok = coring::process::start(command({"true"}));
  EXPECT_TRUE((co_await ok.wait()).success());
  EXPECT_TRUE(no_children());
}

IO_TEST(process, killed_by_signal) {
  coring::process p = coring::process::start(command({"sleep", "10"}));
  EXPECT_EQ(p.try_wait(), std::nullopt);  // still running
  p.terminate();
  const coring::exit_status s = co_await p.wait();
  EXPECT_TRUE(s.signaled());
  EXPECT_EQ(s.signal(), SIGTERM);
  EXPECT_EQ(s.code(), -1);
  EXPECT_NE(s.to_string().find("signal 15"), std::string::npos) << s.to_string();

  coring::process self = coring::process::start(command({"sh", "-c", "kill -KILL $$"}));
  EXPECT_EQ(co_await self.wait(), coring::exit_status::killed_by(SIGKILL));
  EXPECT_TRUE(no_children());
}

IO_TEST(process, missing_program_is_a_clear_error) {
  const int fds_before = open_fds();
  try {
    coring::process p = coring::process::start(command({"coring-no-such-program", "x"}));
    ADD_FAILURE() << "started a program that does not exist";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(std::string(e.what()), "coring::process::start: exec coring-no-such-program: No such file or directory");
  }
  try {
    coring::process p = coring::process::start(command({"/nonexistent/dir/prog"}));
    ADD_FAILURE() << "started a program that does not exist";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("exec /nonexistent/dir/prog"), std::string::npos) << e.what();
  }
  const std::string dir = temp_dir();
  CO_ASSERT_TRUE(!dir.empty());
  const std::string data = dir + "/data";
  std::ofstream(data) << "not a program\n";
  CO_ASSERT_TRUE(::chmod(data.c_str(), 0644) == 0);
  try {
    coring::process p = coring::process::start(command({data}));
    ADD_FAILURE() << "executed a data file";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::permission_denied);
    EXPECT_EQ(std::string(e.what()), "coring::process::start: exec " + data + ": Permission denied");
  }
  ::unlink(data.c_str());
  ::rmdir(dir.c_str());
  coring::process_options bad_cwd = command({"true"});
  bad_cwd.cwd = "/nonexistent/coring-dir";
  bad_cwd.out = coring::stdio::pipe;
  try {
    coring::process p = coring::process::start(bad_cwd);
    ADD_FAILURE() << "started in a directory that does not exist";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(std::string(e.what()),
              "coring::process::start: chdir /nonexistent/coring-dir: No such file or directory");
  }
  EXPECT_THROW(coring::process::start(coring::process_options{}), std::invalid_argument);
  // Nothing left behind: no child, no descriptor (pipes asked for included).
  EXPECT_TRUE(no_children());
  EXPECT_EQ(open_fds(), fds_before);
  co_return;
}

IO_TEST(process, cwd_is_honoured) {
  const std::string dir = temp_dir();
  CO_ASSERT_TRUE(!dir.empty());
  char real[PATH_MAX];
  CO_ASSERT_TRUE(::realpath(dir.c_str(), real) != nullptr);
  coring::process_options o = command({"pwd", "-P"});
  o.cwd = dir;
  const ran r = co_await run_capturing(std::move(o));
  EXPECT_EQ(r.out, std::string(real) + "\n");
  EXPECT_TRUE(r.status.success());
  // A relative program path is taken from the new directory.
  {
    std::ofstream script(dir + "/hello.sh");
    script << "#!/bin/sh\necho hello from $0\n";
  }
  CO_ASSERT_TRUE(::chmod((dir + "/hello.sh").c_str(), 0755) == 0);
  coring::process_options rel = command({"./hello.sh"});
  rel.cwd = dir;
  const ran r2 = co_await run_capturing(std::move(rel));
  EXPECT_EQ(r2.out, "hello from ./hello.sh\n");
  ::unlink((dir + "/hello.sh").c_str());
  ::rmdir(dir.c_str());
}

IO_TEST(process, environment_replaced_or_inherited) {
  coring::process_options o = command({"env"});
  o.env = std::vector<std::string>{"FOO=bar", "EMPTY="};
  const ran replaced = co_await run_capturing(std::move(o));
  EXPECT_EQ(replaced.out, "FOO=bar\nEMPTY=\n");  // nothing of ours leaked in
  EXPECT_TRUE(replaced.status.success());

  ::setenv("CORING_PROCESS_TEST", "inherited", 1);
  // Built first, not inside the co_await (g++ 12, README "Known issue").
  coring::process_options echo = command({"sh", "-c", "echo \"$CORING_PROCESS_TEST\""});
  const ran inherited = co_await run_capturing(std::move(echo));
  ::unsetenv("CORING_PROCESS_TEST");
  EXPECT_EQ(inherited.out, "inherited\n");
}

IO_TEST(process, stderr_is_separate) {
  coring::process_options o = command({"sh", "-c", "echo out; echo err >&2; echo out2; exit 5"});
  o.out = coring::stdio::pipe;
  o.err = coring::stdio::pipe;
  coring::process p = coring::process::start(o);
  auto [out, err] = co_await coring::gather(read_all(p.out()), read_all(p.err()));
  EXPECT_EQ(out, "out\nout2\n");
  EXPECT_EQ(err, "err\n");
  EXPECT_EQ((co_await p.wait()).code(), 5);
}

IO_TEST(process, null_streams) {
  // stdin from /dev/null: cat sees the end at once.
  coring::process_options o = command({"sh", "-c", "cat; echo end"});
  o.in = coring::stdio::null;
  const ran r = co_await run_capturing(std::move(o));
  EXPECT_EQ(r.out, "end\n");
  // stdout to /dev/null, stderr piped.
  coring::process_options q = command({"sh", "-c", "echo gone; echo kept >&2"});
  q.out = coring::stdio::null;
  q.err = coring::stdio::pipe;
  coring::process p = coring::process::start(q);
  EXPECT_FALSE(p.out().is_open());
  EXPECT_FALSE(p.in().is_open());
  EXPECT_EQ(co_await read_all(p.err()), "kept\n");
  EXPECT_TRUE((co_await p.wait()).success());
}

IO_TEST(process, child_gets_only_stdio_an_empty_mask_and_default_sigpipe) {
  // A descriptor of ours without O_CLOEXEC, a blocked signal, and SIGPIPE ignored (what
  // the first pipe writer does): none of them may reach the child.
  const int leaky = ::open("/dev/null", O_RDONLY);
  CO_ASSERT_TRUE(leaky > 2);
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &usr1, &old);
  { auto ends = coring::pipe(); }
  struct sigaction pipe_action {};
  ::sigaction(SIGPIPE, nullptr, &pipe_action);
  EXPECT_EQ(pipe_action.sa_handler, SIG_IGN);

  // The shell lists its own descriptors (ls is its child).
  coring::process_options o = command({"sh", "-c", "ls /proc/$$/fd"});
  o.in = coring::stdio::pipe;  // a pipe of each kind, so their descriptors exist too
  o.err = coring::stdio::pipe;
  o.out = coring::stdio::pipe;
  coring::process p = coring::process::start(o);
  const std::string fds = co_await read_all(p.out());
  EXPECT_EQ(fds, "0\n1\n2\n");
  EXPECT_TRUE((co_await p.wait()).success());
  // grep, started directly (a shell would clear its mask itself), reads its own status.
  coring::process_options q = command({"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"});
  q.out = coring::stdio::pipe;
  coring::process g = coring::process::start(q);
  const std::string status = co_await read_all(g.out());
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(leaky);
  std::istringstream lines(status);
  std::string blocked, ignored;
  std::getline(lines, blocked);
  std::getline(lines, ignored);
  EXPECT_EQ(blocked, "SigBlk:\t0000000000000000") << status;
  // SIGPIPE is signal 13: bit 12 of the mask, 0x1000.
  const unsigned long long ign = std::strtoull(ignored.substr(ignored.find('\t') + 1).c_str(), nullptr, 16);
  EXPECT_EQ(ign & 0x1000ULL, 0ULL) << status;
  EXPECT_TRUE((co_await g.wait()).success());
}

IO_TEST(process, timeout_then_kill_reaps_it) {
  const auto start = std::chrono::steady_clock::now();
  coring::process p = coring::process::start(command({"sleep", "10"}));
  bool timed_out = false;
  try {
    (void)co_await coring::timeout(50ms, p.wait());
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  // The cancelled wait left the child unreaped and waitable.
  EXPECT_FALSE(reaped(p.pid()));
  EXPECT_EQ(p.try_wait(), std::nullopt);
  p.kill();
  EXPECT_EQ(co_await p.wait(), coring::exit_status::killed_by(SIGKILL));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(no_children());

  // A wait that the deadline does not reach keeps its result.
  coring::process quick = coring::process::start(command({"true"}));
  EXPECT_TRUE((co_await coring::timeout(10s, quick.wait())).success());
}

#ifdef CORING_SANITIZED
constexpr int concurrent = 50;
#else
constexpr int concurrent = 200;
#endif

coring::task<bool> run_true() {
  coring::process p = coring::process::start(command({"/bin/true"}));
  co_return (co_await p.wait()).success();
}

IO_TEST(process, many_at_once_leave_no_zombie_and_no_descriptor) {
  const int fds_before = open_fds();
  std::vector<coring::task<bool>> all;
  for (int i = 0; i < concurrent; ++i) all.push_back(run_true());
  const std::vector<bool> ok = co_await coring::gather(std::move(all));
  int succeeded = 0;
  for (bool b : ok) succeeded += b ? 1 : 0;
  EXPECT_EQ(succeeded, concurrent);
  EXPECT_TRUE(no_children());
  EXPECT_EQ(open_fds(), fds_before);
}

// The same on the scheduler: workers start and wait concurrently, and a wait resumes on
// whichever worker reaped its poll.
CO_TEST(process_sched, many_at_once_on_two_workers) {
  const int fds_before = open_fds();
  std::vector<coring::join_handle<bool>> handles;
  for (int i = 0; i < concurrent; ++i) handles.push_back(coring::spawn(run_true()));
  int succeeded = 0;
  for (auto& h : handles) succeeded += (co_await h) ? 1 : 0;
  EXPECT_EQ(succeeded, concurrent);
  EXPECT_TRUE(no_children());
  EXPECT_EQ(open_fds(), fds_before);
}

IO_TEST(process, destroyed_unreaped_is_killed_and_reaped) {
  pid_t pid = 0;
  {
    // The first child left to the reaper starts it (and its epoll descriptor, kept for
    // good), so count descriptors after that. This one is sure to be running when the
    // destructor looks: it ends only when its stdin closes, after that look.
    coring::process_options o = command({"sh", "-c", "read x"});
    o.in = coring::stdio::pipe;
    o.kill_on_destroy = false;
    coring::process first = coring::process::start(o);
    pid = first.pid();
  }
  EXPECT_TRUE(co_await eventually_reaped(pid));
  const int fds_before = open_fds();
  const std::string dir = temp_dir();
  CO_ASSERT_TRUE(!dir.empty());
  const std::string marker = dir + "/finished";
  // The child reads two lines and then leaves a file. We send the first and destroy the
  // object: destruction kills the child before its stdin closes, so it never sees the
  // end of the second line and never writes the file.
  coring::process_options o = command({"sh", "-c", "read a; read b; echo \"$a$b\" > \"$0\"", marker});
  o.in = coring::stdio::pipe;
  {
    coring::process p = coring::process::start(o);
    pid = p.pid();
    co_await p.in().write_all(std::string_view("x\n"));
  }
  EXPECT_TRUE(co_await eventually_reaped(pid));
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);

  // kill_on_destroy = false: it runs on, sees the end of stdin, writes the file, and is
  // reaped when it ends.
  o.kill_on_destroy = false;
  {
    coring::process p = coring::process::start(o);
    pid = p.pid();
    co_await p.in().write_all(std::string_view("x\n"));
  }
  EXPECT_TRUE(co_await eventually_reaped(pid));
  std::string line;
  std::getline(std::ifstream(marker), line);
  EXPECT_EQ(line, "x");
  ::unlink(marker.c_str());
  ::rmdir(dir.c_str());

  // Assigned over: the old child gets the destructor's treatment.
  coring::process a = coring::process::start(command({"sleep", "10"}));
  pid = a.pid();
  a = coring::process::start(command({"true"}));
  EXPECT_TRUE(co_await eventually_reaped(pid));
  EXPECT_TRUE((co_await a.wait()).success());
  EXPECT_TRUE(no_children());
  EXPECT_EQ(open_fds(), fds_before);
}

IO_TEST(process, empty_object_misuse) {
  coring::process empty;
  EXPECT_EQ(empty.pid(), 0);
  EXPECT_THROW(empty.try_wait(), std::logic_error);
  EXPECT_THROW(empty.kill(), std::logic_error);
  bool threw = false;
  try {
    (void)co_await empty.wait();
  } catch (const std::logic_error&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  coring::process p = coring::process::start(command({"sh", "-c", "exit 0"}));
  coring::process moved = std::move(p);
  EXPECT_THROW(p.try_wait(), std::logic_error);  // NOLINT(bugprone-use-after-move): the point
  EXPECT_TRUE((co_await moved.wait()).success());
  moved.send_signal(SIGTERM);  // reaped: nothing to signal, not an error

  coring::process running = coring::process::start(command({"sleep", "10"}));
  try {
    running.send_signal(12345);
    ADD_FAILURE() << "sent signal 12345";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("coring::process::send_signal"), std::string::npos) << e.what();
  }
  running.kill();
  EXPECT_TRUE((co_await running.wait()).signaled());
  EXPECT_TRUE(no_children());
}
