// The compute pool: one process-wide oneTBB task_arena for coring::compute().
//
// Built lazily on the first compute() (or compute_concurrency()), with the thread count
// from configure_compute() or else CORING_COMPUTE_THREADS via resolve_config(). Jobs are
// enqueued (tbb::task_arena::enqueue: fire-and-forget, no thread waits for them); the
// arena thread that runs one posts the awaiting coroutine back to its executor.
#include <coring/sched/compute.hpp>
#include <coring/sched/config.hpp>

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <memory>
#include <mutex>

namespace coring {

namespace {

struct compute_arena {
  explicit compute_arena(unsigned threads)
      // oneTBB sizes its thread pool to the CPU count unless a global_control raises the
      // limit; an arena asked for more slots would silently get fewer threads.
      // max_allowed_parallelism counts the external thread too, hence + 1. (If several
      // global_controls are alive, oneTBB applies the smallest.)
      : limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads) + 1),
        // No slot reserved for an external thread: nobody joins, every slot is a worker.
        arena(static_cast<int>(threads), 0),
        concurrency(threads) {
    arena.initialize();
  }
  tbb::global_control limit;
  tbb::task_arena arena;
  unsigned concurrency;
};

std::mutex config_mutex;
unsigned configured_threads = 0;  // 0: resolve from the environment; guarded by config_mutex
bool built = false;               // guarded by config_mutex

compute_arena& arena() {
  // A function-local static: built once, thread-safe. Reading the configuration under the
  // mutex and flagging `built` makes configure_compute() either apply or report false.
  static compute_arena instance([] {
    std::lock_guard lock(config_mutex);
    built = true;
    return configured_threads != 0 ? configured_threads : resolve_config().compute_threads;
  }());
  return instance;
}

}  // namespace

bool configure_compute(unsigned threads) {
  if (threads == 0) throw std::invalid_argument("coring::configure_compute: threads must be at least 1");
  std::lock_guard lock(config_mutex);
  if (built) return false;
  configured_threads = threads;
  return true;
}

unsigned compute_concurrency() { return arena().concurrency; }

namespace detail {

namespace {

// Jobs go through this FIFO rather than through the captures of the enqueued functor:
// the functor is built in oneTBB's headers and read by oneTBB's (uninstrumented)
// library, so ThreadSanitizer cannot see their hand-over; a mutex it can see. One
// enqueued functor runs one job, whichever is oldest. A compute() call is coarse work,
// so a mutex per submission costs nothing measurable.
std::mutex jobs_mutex;
compute_job* jobs_head = nullptr;  // guarded by jobs_mutex
compute_job* jobs_tail = nullptr;

compute_job* pop_job() noexcept {
  std::lock_guard lock(jobs_mutex);
  compute_job* job = jobs_head;
  jobs_head = job->next_job;
  if (jobs_head == nullptr) jobs_tail = nullptr;
  return job;
}

// Runs on an arena thread: one job, unless its task was cancelled before it started.
void run_one() noexcept {
  compute_job* j = pop_job();
  unsigned char s = compute_job::pending;
  // acq_rel: claims the job against a concurrent on_cancel (pending -> cancelled_early).
  if (j->state.compare_exchange_strong(s, compute_job::running, std::memory_order_acq_rel)) {
    j->invoke(*j);
    s = compute_job::running;
    // Fails if a cancellation arrived while it ran (running -> cancelled_running): the
    // state stays cancelled and the awaiter discards the result.
    j->state.compare_exchange_strong(s, compute_job::finished, std::memory_order_acq_rel);
  }
  // Only this thread resumes the job: post it and touch nothing afterwards. The post
  // happens under jobs_mutex, which the awaiter takes before it goes on (settle_compute):
  // otherwise the resumed task could finish, and its runtime be destroyed, while this
  // thread is still inside that runtime's executor::post.
  std::lock_guard lock(jobs_mutex);
  executor* ex = j->exec;
  ex->post(j->handle);
}

// ThreadSanitizer and oneTBB (issue 11). The enqueued functor lives in a task object that
// oneTBB's headers build in our code (instrumented) with memory from its small-object
// allocator, and that its library (not instrumented) hands to an arena thread, runs,
// destroys through a virtual call and recycles to the next enqueue. tsan sees neither
// hand-over, so it reported the vptr write of one task's constructor against the virtual
// destructor call of the task that used the memory before. These annotations state the
// two edges oneTBB's own synchronisation provides, on one token, at the points of our
// code that bracket them:
//  - the functor's move constructor runs inside the task's constructor after its vptr
//    is written (release), its call runs on the arena thread before oneTBB's virtual
//    destructor call (acquire): construction happens before use;
//  - its destructor runs inside that destructor, after the vptr was read and before the
//    memory returns to the allocator (release); submit_compute acquires before the next
//    task is built: the last use of recycled memory happens before its reuse.
// Both are compiled only under tsan.
#if defined(__SANITIZE_THREAD__)
#define CORING_COMPUTE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CORING_COMPUTE_TSAN 1
#endif
#endif
#ifdef CORING_COMPUTE_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
char tbb_handoff;  // the token: only its address is used
void tbb_release() noexcept { __tsan_release(&tbb_handoff); }
void tbb_acquire() noexcept { __tsan_acquire(&tbb_handoff); }
#else
void tbb_release() noexcept {}
void tbb_acquire() noexcept {}
#endif

// What a.enqueue() takes: runs one job (see jobs_mutex for why it carries none).
struct run_one_functor {
  run_one_functor() = default;
  run_one_functor(run_one_functor&&) noexcept { tbb_release(); }
  run_one_functor& operator=(run_one_functor&&) = delete;
  ~run_one_functor() { tbb_release(); }
  void operator()() const noexcept {
    tbb_acquire();
    run_one();
  }
};

}  // namespace

void settle_compute() noexcept {
  std::lock_guard lock(jobs_mutex);  // empty: waits for a poster to leave run_one
}

void submit_compute(compute_job& job) {
  tbb::task_arena& a = arena().arena;  // may throw (building the arena): nothing queued yet
  {
    std::lock_guard lock(jobs_mutex);
    job.next_job = nullptr;
    if (jobs_tail != nullptr) {
      jobs_tail->next_job = &job;
    } else {
      jobs_head = &job;
    }
    jobs_tail = &job;
  }
  // No captures: see jobs_mutex. After this the job may already have run and resumed.
  tbb_acquire();  // see run_one_functor
  a.enqueue(run_one_functor{});
}

}  // namespace detail
}  // namespace coring
