#include "scheduler.hpp"

#include <coring/io/blocking.hpp>
#include <coring/sched/compute.hpp>
#include <coring/sched/runtime.hpp>

#include <cstdio>
#include <typeinfo>

namespace coring {

namespace detail {

constinit thread_local spawn_scope* tls_spawn_scope = nullptr;

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

void spawn_scope::drain() noexcept {
  shutdown_.request();
  // seq_cst: see task_finished(); together they form a Dekker pair so that the last
  // decrement either is seen by the load below or sees draining_ and notifies.
  draining_.store(true, std::memory_order_seq_cst);
  for (std::size_t n = live_.load(std::memory_order_seq_cst); n != 0; n = live_.load(std::memory_order_seq_cst)) {
    live_.wait(n, std::memory_order_seq_cst);
  }
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
void runtime::schedule(std::coroutine_handle<> h) noexcept { scheduler_->fork(h); }

int current_worker() noexcept {
  detail::worker* w = detail::tls_worker;
  return w != nullptr ? w->index : -1;
}

}  // namespace coring
