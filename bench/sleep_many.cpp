// sleep_many: N concurrent sleepers (DESIGN.md §5).
//
// Every sleeper records that it started, then sleeps for D; the job ends when all have
// woken. The figure is the wall time of the job; `start_ms` is the time until the last
// sleeper had started (what "faster to start" compares), `wall_s` the job's wall time in
// seconds (for the 1M target), `peak_rss_mib` the memory
// (bench::rss_probe; coring is registered first, see harness.hpp).
//  - coring:     N tasks gathered on the shared runtime (children forked onto the
//                workers, each parks one timer in its worker's ring);
//  - std_thread: N threads, each std::this_thread::sleep_for(D). At 1M it is not run: a
//                million threads exceed the process and memory limits of any ordinary
//                machine (8 MiB stacks, threads-max), which is the point of the family.
#include "harness.hpp"

#include <algorithm>

namespace {

namespace cb = coring::bench;

using clock_type = std::chrono::steady_clock;

struct job_size {
  std::uint64_t sleepers;
  std::chrono::milliseconds duration;
};

// What a job measured: sleepers that woke, and when the last one started.
struct outcome {
  std::uint64_t woke = 0;
  double start_seconds = 0;
};

// Counts started sleepers; the last one stamps the time.
class start_line {
 public:
  explicit start_line(std::uint64_t n) : remaining_(n), begin_(clock_type::now()) {}
  void arrive() noexcept {
    // acq_rel: the last arriver's stamp is read after the job joined everything anyway;
    // the RMW only has to count each arrival once.
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) last_ = clock_type::now();
  }
  // relaxed: the job's join (gather, thread::join) publishes the count.
  void wake() noexcept { woke_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t woke() const noexcept { return woke_.load(std::memory_order_relaxed); }
  double seconds() const noexcept { return std::chrono::duration<double>(last_ - begin_).count(); }

 private:
  std::atomic<std::uint64_t> remaining_;
  std::atomic<std::uint64_t> woke_{0};
  clock_type::time_point begin_;
  clock_type::time_point last_{};
};

// task<void>, counted through the start line's own atomic: the benchmark adds nothing
// per sleeper beyond the frame and the vector slot holding it.
coring::task<void> coring_sleeper(start_line& line, std::chrono::milliseconds d) {
  line.arrive();
  co_await coring::sleep(d);
  line.wake();
}

coring::task<outcome> coring_job(job_size size) {
  start_line line(size.sleepers);
  std::vector<coring::task<void>> sleepers;
  sleepers.reserve(size.sleepers);
  for (std::uint64_t i = 0; i < size.sleepers; ++i) sleepers.push_back(coring_sleeper(line, size.duration));
  co_await coring::gather(std::move(sleepers));
  co_return outcome{line.woke(), line.seconds()};
}

outcome threads_job(job_size size) {
  start_line line(size.sleepers);
  std::vector<std::thread> sleepers;
  sleepers.reserve(size.sleepers);
  for (std::uint64_t i = 0; i < size.sleepers; ++i) {
    sleepers.emplace_back([&] {
      line.arrive();
      std::this_thread::sleep_for(size.duration);
      line.wake();
    });
  }
  for (std::thread& t : sleepers) t.join();
  return {line.woke(), line.seconds()};
}

template <class Job>
void add_contender(const char* contender, job_size size, unsigned thread_count, Job job) {
  cb::add("sleep_many", contender, size.sleepers, [size, thread_count, job](benchmark::State& state) {
    const cb::rss_probe memory;
    double start_total = 0;
    const auto result = cb::time_jobs(state, [&] {
      const outcome o = job(size);
      start_total += o.start_seconds;
      return o.woke;
    });
    if (!result.ok) return;
    memory.report(state);
    cb::verify(state, result.value, size.sleepers, "sleepers woken");
    cb::report_threads(state, thread_count);
    if (result.jobs > 0) {
      const auto jobs = static_cast<double>(result.jobs);
      state.counters["start_ms"] = benchmark::Counter(start_total * 1e3 / jobs);
      state.counters["wall_s"] = benchmark::Counter(result.seconds / jobs);
    }
    state.counters["sleep_ms"] = benchmark::Counter(static_cast<double>(size.duration.count()));
    cb::report_ns_per_item(state, "ns_per_sleeper", result, static_cast<double>(size.sleepers));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  using namespace std::chrono_literals;
  const unsigned t = threads();
  const job_size small{quick() ? 1'000u : 10'000u, 10ms};
  const job_size large{quick() ? 20'000u : 1'000'000u, 100ms};

  // coring first: see the note on peak memory at the top.
  add_contender("coring", small, t, [](job_size z) { return shared_runtime().block_on(coring_job(z)); });
  add_contender("coring", large, t, [](job_size z) { return shared_runtime().block_on(coring_job(z)); });
  add_contender("std_thread", small, static_cast<unsigned>(small.sleepers), [](job_size z) { return threads_job(z); });
  // The std_thread row at the large size says why it is missing (tools/bench prints it).
  cb::add("sleep_many", "std_thread", large.sleepers, [large](benchmark::State& state) {
    state.SkipWithError(("not run: " + std::to_string(large.sleepers) +
                         " threads exceed the thread and memory limits of the machine (8 MiB stack each)")
                            .c_str());
  });
}
