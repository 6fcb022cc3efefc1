// The slow-task detector (CORING_SLOW_TASK_MS, issue 12): asyncio's "don't block the event
// loop" warning for a pool of workers.
//
// A watchdog thread looks at every worker each limit/4 (at least 1 ms). A worker whose
// `resuming` flag is set and whose progress count has not moved since the watchdog first
// saw it is inside one resumption: one task's code that has not reached a co_await, or a
// chain of them handing on without a loop pass. Once that has lasted `limit`, the
// watchdog prints, once for that resumption, the worker, how long so far, and the worker
// thread's own stack, taken on the worker by a signal (SIGURG) whose handler calls
// backtrace(); when the worker moves on, one more line gives the total. Costs nothing
// when off (no thread; the loop's branch on the configuration is all), two relaxed
// stores per resumption when on.
//
// Function names in the stack come from the dynamic symbol table: a program linked with
// -rdynamic (CMake: ENABLE_EXPORTS) shows its own functions by name, others show
// binary+offset, which addr2line or llvm-symbolizer turn into file:line.
#include "scheduler.hpp"

#include <coring/sched/runtime.hpp>

#include <execinfo.h>
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace coring {

namespace detail {
namespace {

// relaxed: a statistic; nothing is published through it.
std::atomic<std::size_t> slow_reports{0};

constexpr int stack_signal = SIGURG;  // ignored by default: harmless if it ever arrives late

// On the worker that the watchdog signalled: its own stack, for the watchdog to print.
void on_stack_request(int) {
  const int saved = errno;
  if (worker* w = tls_worker) {
    const int depth = ::backtrace(w->stack, static_cast<int>(std::size(w->stack)));
    w->stack_depth.store(depth, std::memory_order_release);  // release: the frames above
  }
  errno = saved;
}

// Installs the handler once per process, unless the program has a SIGURG handler of its
// own (then reports carry no stack, and say why). True if ours is in place.
bool install_stack_handler() {
  static const bool installed = [] {
    struct sigaction old {};
    if (::sigaction(stack_signal, nullptr, &old) != 0) return false;
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) return false;
    struct sigaction sa {};
    sa.sa_handler = on_stack_request;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return ::sigaction(stack_signal, &sa, nullptr) == 0;
  }();
  return installed;
}

}  // namespace

void scheduler::report_slow(worker& w, std::chrono::milliseconds so_far) {
  struct count_when_done {  // counted once the report is out, stack and all
    ~count_when_done() { slow_reports.fetch_add(1, std::memory_order_relaxed); }
  } counted;
  std::fprintf(stderr,
               "coring: slow task: worker %d has been inside one task for %lld ms without reaching a co_await "
               "(CORING_SLOW_TASK_MS=%u); move blocking calls to coring::blocking() and long computations to "
               "coring::compute()\n",
               w.index, static_cast<long long>(so_far.count()), config_.slow_task_ms);
  if (!install_stack_handler()) {
    std::fprintf(stderr, "coring: slow task: no stack: the program handles SIGURG itself\n");
    return;
  }
  w.stack_depth.store(-1, std::memory_order_relaxed);
  if (const int err = ::pthread_kill(w.thread.native_handle(), stack_signal); err != 0) {
    std::fprintf(stderr, "coring: slow task: no stack: pthread_kill: %s\n", std::strerror(err));
    return;
  }
  // The handler runs as soon as the worker's thread is scheduled; give it 100 ms.
  int depth = -1;
  for (int i = 0; i < 100 && (depth = w.stack_depth.load(std::memory_order_acquire)) < 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (depth < 0) {
    std::fprintf(stderr, "coring: slow task: no stack: worker %d did not answer within 100 ms\n", w.index);
    return;
  }
  std::fprintf(stderr, "coring: slow task: stack of worker %d (innermost first):\n", w.index);
  std::fflush(stderr);
  ::backtrace_symbols_fd(w.stack, depth, STDERR_FILENO);
}

void scheduler::run_watchdog() {
  using clock = std::chrono::steady_clock;
  const std::chrono::milliseconds limit(config_.slow_task_ms);
  const std::chrono::milliseconds period = std::max(std::chrono::milliseconds(1), limit / 4);
  struct sample {
    std::uint32_t progress = 0;
    bool busy = false;
    bool reported = false;
    clock::time_point since{};
  };
  std::vector<sample> last(workers_.size());
  void* warm[1];
  (void)::backtrace(warm, 1);  // loads the unwinder now, not inside the signal handler
  const auto print_end = [](const worker& w, const sample& s, clock::time_point now) {
    std::fprintf(stderr, "coring: slow task: worker %d is running again; that task held it for about %lld ms\n",
                 w.index,
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(now - s.since).count()));
  };
  std::unique_lock lock(watchdog_mutex_);
  while (!watchdog_cv_.wait_for(lock, period, [&] { return watchdog_stop_; })) {
    const clock::time_point now = clock::now();
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      worker& w = *workers_[i];
      sample& s = last[i];
      const bool busy = w.resuming.load(std::memory_order_relaxed);
      const std::uint32_t progress = w.progress.load(std::memory_order_relaxed);
      if (!busy || progress != s.progress || !s.busy) {
        if (s.reported) print_end(w, s, now);
        s = sample{progress, busy, false, now};
        continue;
      }
      const auto so_far = std::chrono::duration_cast<std::chrono::milliseconds>(now - s.since);
      if (!s.reported && so_far >= limit) {
        s.reported = true;
        lock.unlock();  // ~scheduler may wait for us meanwhile; it only sets the flag
        report_slow(w, so_far);
        lock.lock();
      }
    }
  }
  // Stopping: the runtime has drained, so a reported resumption has ended meanwhile.
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    if (last[i].reported) print_end(*workers_[i], last[i], clock::now());
  }
}

}  // namespace detail

std::size_t slow_task_reports() noexcept { return detail::slow_reports.load(std::memory_order_relaxed); }

}  // namespace coring
