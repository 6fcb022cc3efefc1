// Runtime configuration: explicit options, CORING_* environment variables, defaults.
//
// This is the edge of coring's configuration (DESIGN.md §4): resolve_config() is the only
// code in the tree that reads the environment, and it turns it into a plain runtime_config
// that the scheduler, reactor and pools take by value. Precedence, per variable:
// an engaged runtime_options field > the CORING_* variable > the default.
//
// Parsing is strict, so a typo fails loudly at start-up instead of silently running with a
// default:
//  - numbers are plain decimal digits: no sign, no "0x", no suffix, no surrounding
//    whitespace (rejected, not trimmed: a stray space is usually a quoting bug), nothing
//    that overflows; leading zeros are allowed and still mean decimal ("010" is 10);
//  - booleans are exactly "0" or "1" (not "true"/"yes": the documented contract is 0/1);
//  - CORING_PIN is "0" (no pinning), "1" (worker i -> i-th CPU of the affinity mask) or a
//    CPU list such as "0-3,6" (worker i -> i-th listed CPU, wrapping). "0" and "1" are the
//    modes, so a list of the single CPU 0 or 1 is written "0-0" or "1-1". Listed CPUs must
//    be in the process's affinity mask and appear once.
// An unknown CORING_* name (compared case-insensitively) is not an error but a warning,
// with the nearest known name suggested.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace coring {

// A bad CORING_* value or runtime_options field. what() reads
// "CORING_WORKERS='abc': not a number; accepted: an integer in [1, 1024]"; for an option
// the variable is named like "runtime_options::workers".
class config_error : public std::runtime_error {
 public:
  config_error(std::string variable, std::string value, std::string accepted, std::string problem);

  const std::string& variable() const noexcept { return variable_; }
  const std::string& value() const noexcept { return value_; }
  const std::string& accepted() const noexcept { return accepted_; }
  const std::string& problem() const noexcept { return problem_; }

 private:
  std::string variable_;
  std::string value_;
  std::string accepted_;
  std::string problem_;
};

// Explicit settings. An engaged field beats the environment and is validated the same way.
struct runtime_options {
  std::optional<unsigned> workers{};           // CORING_WORKERS [1, 1024]; default available_cpus()
  std::optional<unsigned> blocking_threads{};  // CORING_BLOCKING_THREADS [1, 65536]; default 512
  std::optional<unsigned> blocking_idle_ms{};  // CORING_BLOCKING_IDLE_MS [0, 86400000]; default 10000
  std::optional<unsigned> compute_threads{};   // CORING_COMPUTE_THREADS [1, 1024]; default = workers
  std::optional<unsigned> ring_entries{};      // CORING_RING_ENTRIES power of two in [2, 32768]; default 256
  std::optional<bool> sqpoll{};                // CORING_SQPOLL 0|1; default 0
  std::optional<unsigned> recv_buffers{};      // CORING_RECV_BUFFERS power of two in [1, 32768]; default 256
  std::optional<std::vector<unsigned>> pin{};  // CORING_PIN (see above); empty vector = no pinning; default none
  std::optional<unsigned> spin_us{};           // CORING_SPIN_US [0, 1000000]; default 50
  std::optional<unsigned> local_queue{};       // CORING_LOCAL_QUEUE power of two in [16, 65536]; default 256
  std::optional<bool> stats{};                 // CORING_STATS 0|1; default 0
  std::optional<unsigned> slow_task_ms{};      // CORING_SLOW_TASK_MS [0, 60000]; 0 (default) = detector off
};

enum class config_source { option, environment, default_value };

// Every value resolved. Obtain one from resolve_config(): the defaults live in its table,
// not here, so a value-initialised runtime_config is not a valid configuration.
struct runtime_config {
  unsigned workers{};
  unsigned blocking_threads{};
  unsigned blocking_idle_ms{};
  unsigned compute_threads{};
  unsigned ring_entries{};
  bool sqpoll{};
  unsigned recv_buffers{};  // 4 KiB receive buffers in each worker ring's pool
  std::vector<unsigned> pin_cpus;  // worker i runs on pin_cpus[i % size]; empty = not pinned
  unsigned spin_us{};
  unsigned local_queue{};
  bool stats{};
  unsigned slow_task_ms{};  // report a worker inside one resumption this long; 0 = off
  // Where each variable's value came from, by CORING_* name, in the order of DESIGN.md §4.
  std::vector<std::pair<std::string, config_source>> sources;
  // Not errors, but worth printing: unknown CORING_* names (with a suggestion), variables
  // overridden by an option, variables recognised whose feature has not landed yet.
  std::vector<std::string> warnings;
};

// Resolves options > process environment > defaults. Reads `environ`: the only reader of the
// environment in coring. Not safe against a concurrent setenv() on another thread (nothing
// that reads the environment is). Throws config_error.
runtime_config resolve_config(const runtime_options& options = {});

// Same, with the environment given as NAME=VALUE entries (for tests and tools). As with
// getenv(), the first entry of a name wins; entries without '=' are ignored.
runtime_config resolve_config(const runtime_options& options, const std::vector<std::string>& environment);

// CPUs this process may use: the affinity mask's size, further limited by the cgroup CPU
// quota (ceil(quota / period)). At least 1.
unsigned available_cpus();

// CPU ids in this process's affinity mask (sched_getaffinity), ascending.
std::vector<unsigned> affinity_cpus();

// A cgroup CPU bandwidth limit: `quota_us` of CPU time per `period_us` of wall time.
struct cpu_quota {
  std::uint64_t quota_us = 0;
  std::uint64_t period_us = 0;
  std::string file;  // where it was read, e.g. "/sys/fs/cgroup/cpu.max"
  // ceil(quota / period), at least 1: the number of CPUs that can be kept busy.
  unsigned cpus() const noexcept;
};

// The tightest CPU quota on this process's cgroup or its ancestors: cgroup v2 `cpu.max`
// ("quota period"; "max" = none) or v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us` (-1 = none).
// Empty when no quota applies or cgroupfs is unreadable.
std::optional<cpu_quota> cgroup_cpu_quota();

// "0-3,6": ascending runs collapsed to ranges, otherwise in the given order.
std::string cpu_list_string(const std::vector<unsigned>& cpus);

// Human-readable dump, one line per variable: name, value, source (and a note for variables
// whose feature has not landed yet).
std::string describe(const runtime_config& config);

namespace detail {
// cgroup_cpu_quota() with its inputs named, for tests: `proc_self_cgroup` is a file in the
// format of /proc/self/cgroup, `cgroup_root` the directory cgroupfs is mounted on.
std::optional<cpu_quota> cgroup_cpu_quota(const std::string& proc_self_cgroup, const std::string& cgroup_root);
}  // namespace detail

}  // namespace coring
