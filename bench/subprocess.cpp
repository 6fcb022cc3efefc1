// subprocess: N concurrent children (`/bin/true`) started and reaped (issue 13 item 3).
//
// The figure is the wall time from the first start to the last reap; `wall_s` is the
// same in seconds (the target: 1,000 in ≤ 1 s), `ns_per_process` per child. After each
// job the answer is checked: every child exited 0, no child of this process is left
// (waitid(P_ALL, WNOHANG | WNOWAIT) reports ECHILD: no zombie, nothing running), and the
// process holds as many descriptors as before (`zombies` and `fds_leaked`, both 0).
//  - coring:     N tasks gathered on the shared runtime; each calls process::start
//                (posix_spawnp + pidfd_open) and co_awaits wait() (a poll of the pidfd
//                in its worker's ring, then waitid(P_PIDFD));
//  - std_thread: threads() threads take indices from a shared counter; each starts its
//                children with posix_spawn, then reaps them with blocking waitpid.
#include "harness.hpp"

#include <dirent.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

extern char** environ;

namespace {

namespace cb = coring::bench;

int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n - 1;  // the DIR's own descriptor
}

bool has_children() {
  siginfo_t info{};
  return !(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD);
}

coring::task<bool> coring_child() {
  coring::process_options o;
  o.argv = {"/bin/true"};
  coring::process p = coring::process::start(o);
  co_return (co_await p.wait()).success();
}

coring::task<std::uint64_t> coring_job(std::uint64_t n) {
  std::vector<coring::task<bool>> children;
  children.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) children.push_back(coring_child());
  const std::vector<bool> ok = co_await coring::gather(std::move(children));
  std::uint64_t succeeded = 0;
  for (bool b : ok) succeeded += b ? 1 : 0;
  co_return succeeded;
}

std::uint64_t threads_job(std::uint64_t n, unsigned thread_count) {
  char program[] = "/bin/true";
  char* argv[] = {program, nullptr};
  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> succeeded{0};
  auto body = [&] {
    std::vector<pid_t> mine;
    // relaxed: the counter only hands out distinct indices; join() publishes the sum.
    while (next.fetch_add(1, std::memory_order_relaxed) < n) {
      pid_t pid = 0;
      if (::posix_spawn(&pid, program, nullptr, nullptr, argv, environ) == 0) mine.push_back(pid);
    }
    for (pid_t pid : mine) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) succeeded.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < thread_count; ++t) pool.emplace_back(body);
  for (std::thread& t : pool) t.join();
  return succeeded.load(std::memory_order_relaxed);
}

template <class Job>
void add_contender(const char* contender, std::uint64_t n, unsigned thread_count, Job job) {
  cb::add("subprocess", contender, n, [n, thread_count, job](benchmark::State& state) {
    int zombies = 0;
    int leaked = 0;
    const auto result = cb::time_jobs(state, [&] {
      const int fds_before = open_fds();
      const std::uint64_t ok = job(n);
      zombies += has_children() ? 1 : 0;
      leaked += open_fds() - fds_before;
      return ok;
    });
    if (!result.ok) return;
    cb::verify(state, result.value, n, "children that exited 0");
    cb::verify(state, zombies, 0, "jobs that left a child unreaped");
    cb::verify(state, leaked, 0, "descriptors left open");
    cb::report_threads(state, thread_count);
    if (result.jobs > 0) state.counters["wall_s"] = benchmark::Counter(result.seconds / static_cast<double>(result.jobs));
    state.counters["zombies"] = benchmark::Counter(zombies);
    state.counters["fds_leaked"] = benchmark::Counter(leaked);
    cb::report_ns_per_item(state, "ns_per_process", result, static_cast<double>(n));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const unsigned t = threads();
  const std::uint64_t n = quick() ? 100 : 1'000;
  add_contender("coring", n, t, [](std::uint64_t k) { return shared_runtime().block_on(coring_job(k)); });
  add_contender("std_thread", n, t, [t](std::uint64_t k) { return threads_job(k, t); });
}
