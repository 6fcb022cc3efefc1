// The shared main of the benchmark binaries: flags, the shared runtime and arena,
// registration under the naming contract, failure accounting, RSS probes.
#include "harness.hpp"

#include <sys/resource.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>

namespace coring::bench {

namespace {

bool g_quick = false;
unsigned g_threads = 0;
std::unique_ptr<coring::runtime> g_runtime;
std::unique_ptr<tbb::task_arena> g_arena;
// oneTBB caps its worker pool at the CPU count unless told otherwise, so an arena of
// --workers N > CPUs would silently get fewer threads than coring.
std::unique_ptr<tbb::global_control> g_tbb_limit;
std::atomic<int> g_failures{0};
// Name of the benchmark running now, for failure messages (1.7.1's State has no name()).
std::string g_current;

constexpr std::array<std::string_view, 17> families{
    "spawn_join", "fib",        "fib_spawn", "skynet",     "nqueens",   "ping_pong", "channel_mpmc",   "offload",
    "mutex_contended", "event_wake", "tcp_echo", "sleep_many", "file_read", "stall", "http_plaintext", "slow_task",
    "subprocess"};
// Variants of a contender carry a suffix: coring_1worker (a dedicated one-worker runtime),
// tbb_1worker (a one-slot arena), coring_detector (CORING_SLOW_TASK_MS on), coring_compute (compute() beside blocking()), std_atomic (threads that wait with
// std::atomic wait/notify instead of a condition variable).
// raw_io_uring (liburing driven by hand) and thread_per_conn are tcp_echo's baselines;
// nginx and nginx_1worker (an external nginx process) http_plaintext's.
constexpr std::array<std::string_view, 14> contenders{
    "coring", "coring_1worker", "coring_compute",  "coring_detector", "std_thread", "std_async", "std_atomic",
    "tbb",    "tbb_1worker",    "serial",          "raw_io_uring", "thread_per_conn", "nginx", "nginx_1worker"};

constexpr unsigned max_workers = 1024;  // coring's own bound for CORING_WORKERS

// A "kB" field of /proc/self/status, in bytes; 0 if absent.
std::size_t proc_status_bytes(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 && line[field.size()] == ':') {
      const char* first = line.data() + field.size() + 1;
      const char* last = line.data() + line.size();
      while (first != last && (*first == ' ' || *first == '\t')) ++first;
      std::size_t kib = 0;
      if (std::from_chars(first, last, kib).ec == std::errc{}) return kib * 1024;
      return 0;
    }
  }
  return 0;
}

bool parse_workers(std::string_view text, unsigned& out) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > max_workers) return false;
  out = value;
  return true;
}

void print_help() {
  std::printf(
      "coring benchmark harness flags:\n"
      "  --quick        small sizes: the whole suite runs in seconds\n"
      "  --workers N    threads for every parallel contender (default: coring's resolved\n"
      "                 worker count, i.e. CORING_WORKERS or the available CPUs)\n"
      "\n");
  benchmark::PrintDefaultHelp();
}

[[noreturn]] void usage_error(const char* argv0, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n(see --help)\n", argv0, message.c_str());
  std::exit(2);
}

}  // namespace

bool quick() noexcept { return g_quick; }
unsigned threads() noexcept { return g_threads; }
coring::runtime& shared_runtime() noexcept { return *g_runtime; }
tbb::task_arena& shared_arena() noexcept { return *g_arena; }

coring::runtime& one_worker_runtime() {
  static const std::unique_ptr<coring::runtime> rt = [] {
    coring::runtime_options options;
    options.workers = 1;
    return std::make_unique<coring::runtime>(options);
  }();
  return *rt;
}

tbb::task_arena& one_thread_arena() {
  static tbb::task_arena arena(1);
  return arena;
}

namespace {

benchmark::internal::Benchmark* register_checked(std::string_view family, std::string_view contender,
                                                 std::string_view size, std::function<void(benchmark::State&)> fn) {
  if (std::find(families.begin(), families.end(), family) == families.end() ||
      std::find(contenders.begin(), contenders.end(), contender) == contenders.end()) {
    std::fprintf(stderr, "bench: '%.*s/%.*s' breaks the naming contract (harness.hpp)\n",
                 static_cast<int>(family.size()), family.data(), static_cast<int>(contender.size()),
                 contender.data());
    std::abort();
  }
  std::string name = std::string(family) + "/" + std::string(contender) + "/" + std::string(size);
  auto* b = benchmark::RegisterBenchmark(name.c_str(), [name, fn = std::move(fn)](benchmark::State& state) {
    g_current = name;
    fn(state);
  });
  return b->Unit(benchmark::kMillisecond)->Iterations(1);
}

}  // namespace

benchmark::internal::Benchmark* add(std::string_view family, std::string_view contender, std::uint64_t size,
                                    std::function<void(benchmark::State&)> fn) {
  return register_checked(family, contender, std::to_string(size), std::move(fn))->UseRealTime();
}

benchmark::internal::Benchmark* add_manual(std::string_view family, std::string_view contender, std::string_view size,
                                           std::function<void(benchmark::State&)> fn) {
  return register_checked(family, contender, size, std::move(fn))->UseManualTime();
}

std::size_t peak_rss_bytes() {
  if (std::size_t hwm = proc_status_bytes("VmHWM")) return hwm;
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::size_t current_rss_bytes() { return proc_status_bytes("VmRSS"); }

bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  if (!clear) return false;
  clear << "5\n";
  clear.flush();
  return static_cast<bool>(clear);
}

void rss_probe::report(benchmark::State& state) const {
  constexpr double mib = 1024.0 * 1024.0;
  const std::size_t peak = peak_rss_bytes();
  state.counters["peak_rss_mib"] = benchmark::Counter(static_cast<double>(peak) / mib);
  state.counters["rss_growth_mib"] =
      benchmark::Counter(peak > before_ ? static_cast<double>(peak - before_) / mib : 0.0);
  state.counters["rss_reset"] = benchmark::Counter(reset_ ? 1 : 0);
}

void fail(benchmark::State& state, std::string_view what) {
  static std::mutex mutex;  // keeps the lines of concurrent failures whole
  {
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "BENCH FAILURE in %s: %.*s\n", g_current.c_str(), static_cast<int>(what.size()),
                 what.data());
  }
  g_failures.fetch_add(1, std::memory_order_relaxed);
  state.SkipWithError(std::string(what).c_str());  // the message is copied
}

}  // namespace coring::bench

int main(int argc, char** argv) {
  namespace cb = coring::bench;

  // Take our flags out of argv; everything else is Google Benchmark's.
  bool workers_given = false;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--quick") {
      cb::g_quick = true;
    } else if (arg == "--workers" || arg.starts_with("--workers=")) {
      std::string_view value;
      if (arg == "--workers") {
        if (i + 1 >= argc) cb::usage_error(argv[0], "--workers needs a value");
        value = argv[++i];
      } else {
        value = arg.substr(std::string_view("--workers=").size());
      }
      if (!cb::parse_workers(value, cb::g_threads)) {
        cb::usage_error(argv[0], "--workers '" + std::string(value) + "': expected an integer in [1, " +
                                     std::to_string(cb::max_workers) + "]");
      }
      workers_given = true;
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  rest.push_back(nullptr);

  benchmark::Initialize(&rest_argc, rest.data(), cb::print_help);
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 2;

  try {
    if (!workers_given) cb::g_threads = coring::resolve_config().workers;
    coring::runtime_options options;  // the rest from CORING_* / defaults, as for users
    options.workers = cb::g_threads;
    cb::g_runtime = std::make_unique<coring::runtime>(options);
  } catch (const coring::config_error& e) {
    std::fprintf(stderr, "%s: coring: %s\n", argv[0], e.what());
    return 2;
  }
  cb::g_tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                          std::size_t{cb::g_threads});
  cb::g_arena = std::make_unique<tbb::task_arena>(static_cast<int>(cb::g_threads));

  benchmark::AddCustomContext("coring_threads", std::to_string(cb::g_threads));
  benchmark::AddCustomContext("coring_quick", cb::g_quick ? "1" : "0");

  cb::register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  cb::g_arena.reset();
  cb::g_tbb_limit.reset();
  cb::g_runtime.reset();

  if (const int failures = cb::g_failures.load()) {
    std::fprintf(stderr, "%s: %d benchmark(s) FAILED (wrong answer or exception), see above\n", argv[0], failures);
    return 1;
  }
  return 0;
}
