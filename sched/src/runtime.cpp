#include "scheduler.hpp"

#include <coring/io/blocking.hpp>
#include <coring/sched/compute.hpp>
#include <coring/sched/runtime.hpp>

#include <chrono>
#include <cstdio>
#include <thread>
#include <typeinfo>

namespace coring {

namespace detail {


namespace {
// relaxed: a statistic; nothing is published through it.
std::atomic<std::size_t> unobserved{0};
}  // namespace

void report_unobserved_failure(std::exception_ptr error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const cancelled&) {
    return;  // the expected end of a cancelled task
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coring: a task nobody joined failed: %s: %s\n", typeid(e).name(), e.what());
  } catch (...) {
    std::fprintf(stderr, "coring: a task nobody joined failed with a non-standard exception\n");
  }
  unobserved.fetch_add(1, std::memory_order_relaxed);
}

constinit thread_local spawn_slot* tls_spawn_slot = nullptr;

spawn_scope::spawn_scope(executor& ex, std::size_t workers)
    : executor_(ex), workers_(workers), slots_(std::make_unique<spawn_slot[]>(workers + 1)) {
  for (std::size_t i = 0; i <= workers; ++i) slots_[i].owner = this;
}

// Reads every slot's `finished` before any `started` (see spawn_slot): each task whose
// finish is counted has its start counted, and so has every task it spawned, so the
// difference is never below the tasks live at the time of the reads; a task the reads
// miss entirely was spawned by a task still live, or by a thread that spawns while
// shutdown runs (which runtime's contract rules out). So 0 means none is live.
std::size_t spawn_scope::live() const noexcept {
  std::uint64_t finished = 0;
  std::uint64_t started = 0;
  for (std::size_t i = 0; i <= workers_; ++i) finished += slots_[i].finished.load(std::memory_order_acquire);
  for (std::size_t i = 0; i <= workers_; ++i) started += slots_[i].started.load(std::memory_order_acquire);
  return static_cast<std::size_t>(started - finished);
}

void spawn_scope::finish_outside() noexcept {
  // seq_cst on the increment: drain() counts this finish only after it (the release
  // below and drain's acquire of `finished` order it), so drain sees the guard raised.
  outside_finishing_.fetch_add(1, std::memory_order_seq_cst);
  slots_[workers_].finished.fetch_add(1, std::memory_order_release);  // release: see spawn_slot
  if (draining_.load(std::memory_order_relaxed)) wake_drain();
  // release: our last touches of the scope happen before drain's acquire load of zero.
  outside_finishing_.fetch_sub(1, std::memory_order_release);
}

void spawn_scope::wake_drain() noexcept {
  // Under the lock: drain() checks live() under it, so it either sees our count or is
  // already waiting when we notify.
  std::lock_guard lock(drain_mutex_);
  drain_cv_.notify_all();
}

// Finishers wake the drain without a fence (they read draining_ relaxed), so one that
// reads a stale false does not notify; the timed wait bounds that delay to a
// millisecond, and shutdown is the only path that pays it.
void spawn_scope::drain() noexcept {
  for (std::size_t i = 0; i <= workers_; ++i) slots_[i].shutdown.request();
  draining_.store(true, std::memory_order_seq_cst);
  {
    std::unique_lock lock(drain_mutex_);
    while (live() != 0) drain_cv_.wait_for(lock, std::chrono::milliseconds(1));
  }
  while (outside_finishing_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

}  // namespace detail

std::size_t unobserved_failures() noexcept { return detail::unobserved.load(std::memory_order_relaxed); }

runtime::runtime(const runtime_options& options) : config_(resolve_config(options)) {
  for (const std::string& warning : config_.warnings) std::fprintf(stderr, "coring: warning: %s\n", warning.c_str());
  // The offload pools are process-wide: the newest runtime's configuration applies to
  // calls made after it (compute's arena is sized once, by the first runtime or call).
  blocking_pool_options blocking;
  blocking.max_threads = config_.blocking_threads;
  blocking.idle_timeout = std::chrono::milliseconds(config_.blocking_idle_ms);
  blocking_pool::global().configure(blocking);
  (void)configure_compute(config_.compute_threads);
  scheduler_ = std::make_unique<detail::scheduler>(config_);
}

runtime::~runtime() {
  scheduler_->scope().drain();
  scheduler_.reset();
}

const runtime_config& runtime::config() const noexcept { return config_; }
std::size_t runtime::workers() const noexcept { return scheduler_->size(); }
std::size_t runtime::live_tasks() const noexcept { return scope().live(); }
detail::spawn_scope& runtime::scope() noexcept { return scheduler_->scope(); }
const detail::spawn_scope& runtime::scope() const noexcept { return scheduler_->scope(); }
void runtime::schedule(std::coroutine_handle<> h) noexcept { scheduler_->spawn(h); }

int current_worker() noexcept {
  detail::worker* w = detail::tls_worker;
  return w != nullptr ? w->index : -1;
}

}  // namespace coring
