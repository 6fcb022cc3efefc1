// The one place in coring that reads CORING_* environment variables (DESIGN.md §4; STYLE.md
// "Configuration is a plain struct at the edge"). Every variable is one row of `variables`:
// its name, how its value is checked, where it lands in runtime_config, its default, and
// whether its feature is in effect yet. The parsing rules are documented in config.hpp.
#include "coring/sched/config.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <fstream>
#include <iomanip>
#include <numeric>
#include <sstream>
#include <string_view>
#include <variant>

namespace coring {

config_error::config_error(std::string variable, std::string value, std::string accepted, std::string problem)
    : std::runtime_error(variable + "='" + value + "': " + problem + "; accepted: " + accepted),
      variable_(std::move(variable)),
      value_(std::move(value)),
      accepted_(std::move(accepted)),
      problem_(std::move(problem)) {}

namespace {

// ---- The table of variables ---------------------------------------------------------------

struct number_rule {
  std::optional<unsigned> runtime_options::*option;
  unsigned runtime_config::*field;
  unsigned min, max;
  bool power_of_two;
  unsigned (*fallback)(const runtime_config& resolved_so_far);  // rows above are resolved
};
struct flag_rule {
  std::optional<bool> runtime_options::*option;
  bool runtime_config::*field;
  bool fallback;
};
struct pin_rule {};  // CORING_PIN -> pin_cpus; default: not pinned

struct variable {
  std::string_view name;
  std::variant<number_rule, flag_rule, pin_rule> rule;
};

template <unsigned Value>
unsigned fixed(const runtime_config&) { return Value; }
unsigned all_available_cpus(const runtime_config&) { return available_cpus(); }
unsigned same_as_workers(const runtime_config& c) { return c.workers; }


using opt = runtime_options;
using cfg = runtime_config;
// In DESIGN.md §4 order. compute_threads defaults to workers, so it must come after it.
// CORING_SPIN_US's 50 µs is a starting point to tune with bench/: it outlasts one cross-vCPU
// wake (~25-40 µs, DESIGN.md §6), so work arriving that soon does not pay for a park.
constexpr std::array<variable, 12> variables{{
    {"CORING_WORKERS", number_rule{&opt::workers, &cfg::workers, 1, 1024, false, all_available_cpus}},
    {"CORING_BLOCKING_THREADS",
     number_rule{&opt::blocking_threads, &cfg::blocking_threads, 1, 65536, false, fixed<512>}},
    {"CORING_BLOCKING_IDLE_MS",
     number_rule{&opt::blocking_idle_ms, &cfg::blocking_idle_ms, 0, 86'400'000, false, fixed<10'000>}},
    {"CORING_COMPUTE_THREADS",
     number_rule{&opt::compute_threads, &cfg::compute_threads, 1, 1024, false, same_as_workers}},
    {"CORING_RING_ENTRIES", number_rule{&opt::ring_entries, &cfg::ring_entries, 2, 32768, true, fixed<256>}},
    {"CORING_SQPOLL", flag_rule{&opt::sqpoll, &cfg::sqpoll, false}},
    {"CORING_RECV_BUFFERS", number_rule{&opt::recv_buffers, &cfg::recv_buffers, 1, 32768, true, fixed<256>}},
    {"CORING_PIN", pin_rule{}},
    {"CORING_SPIN_US", number_rule{&opt::spin_us, &cfg::spin_us, 0, 1'000'000, false, fixed<50>}},
    {"CORING_LOCAL_QUEUE", number_rule{&opt::local_queue, &cfg::local_queue, 16, 65536, true, fixed<256>}},
    {"CORING_STATS", flag_rule{&opt::stats, &cfg::stats, false}},
    {"CORING_SLOW_TASK_MS", number_rule{&opt::slow_task_ms, &cfg::slow_task_ms, 0, 60'000, false, fixed<0>}},
}};

constexpr std::string_view prefix = "CORING_";

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

// "CORING_BLOCKING_THREADS" -> "runtime_options::blocking_threads"
std::string option_name(std::string_view name) {
  std::string out = "runtime_options::";
  for (char ch : name.substr(prefix.size())) out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// ---- Parsing and checking values ----------------------------------------------------------

using problem = std::optional<std::string>;  // what is wrong with a value, if anything

bool is_space(char ch) { return std::isspace(static_cast<unsigned char>(ch)) != 0; }

// The problems every kind of value shares.
problem malformed(std::string_view text) {
  if (text.empty()) return "empty";
  if (is_space(text.front()) || is_space(text.back())) return "leading or trailing whitespace";
  return std::nullopt;
}

// Plain decimal digits, nothing else. from_chars takes no sign, space or base prefix for an
// unsigned type, and reports overflow instead of wrapping.
problem parse_decimal(std::string_view text, std::uint64_t& out) {
  if (auto p = malformed(text)) return p;
  if (text.size() > 1 && text[0] == '-' && std::isdigit(static_cast<unsigned char>(text[1]))) return "negative";
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, out);
  if (stop != end || error == std::errc::invalid_argument) return "not a number";
  if (error == std::errc::result_out_of_range) return "out of range";
  return std::nullopt;
}

problem check(const number_rule& r, std::uint64_t value) {
  if (value < r.min || value > r.max) return "out of range";
  if (r.power_of_two && (value & (value - 1)) != 0) return "not a power of two";
  return std::nullopt;
}

std::string accepted(const number_rule& r) {
  return std::string(r.power_of_two ? "a power of two" : "an integer") + " in [" + std::to_string(r.min) + ", " +
         std::to_string(r.max) + "]";
}

// Appends one pinned CPU, which must be in the affinity `mask` and not already listed.
problem add_cpu(std::uint64_t cpu, const std::vector<unsigned>& mask, std::vector<unsigned>& out) {
  if (!std::binary_search(mask.begin(), mask.end(), cpu))
    return "CPU " + std::to_string(cpu) + " is not in this process's affinity mask";
  if (std::find(out.begin(), out.end(), cpu) != out.end()) return "CPU " + std::to_string(cpu) + " is listed twice";
  out.push_back(static_cast<unsigned>(cpu));
  return std::nullopt;
}

// "0-3,6" -> 0 1 2 3 6, in the order written.
problem parse_cpu_list(std::string_view text, const std::vector<unsigned>& mask, std::vector<unsigned>& out) {
  auto parse_cpu = [](std::string_view s, std::uint64_t& cpu) {
    auto [stop, error] = std::from_chars(s.data(), s.data() + s.size(), cpu);
    return !s.empty() && error == std::errc{} && stop == s.data() + s.size();
  };
  for (;;) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const std::size_t dash = item.find('-');
    std::uint64_t first = 0, last = 0;
    if (item.empty()) return "empty entry in the CPU list";
    if (!parse_cpu(item.substr(0, dash), first) || (dash != item.npos && !parse_cpu(item.substr(dash + 1), last)))
      return "'" + std::string(item) + "' is neither a CPU nor a range of CPUs";
    if (dash == item.npos) last = first;
    if (first > last) return "range " + std::string(item) + " is descending";
    // add_cpu fails at the first CPU outside the mask, so a huge range cannot run long.
    for (std::uint64_t cpu = first; cpu <= last; ++cpu)
      if (auto p = add_cpu(cpu, mask, out)) return p;
    if (comma == text.npos) return std::nullopt;
    text.remove_prefix(comma + 1);
  }
}

std::string pin_accepted(const std::vector<unsigned>& mask) {
  return "0 (no pinning), 1 (the affinity mask, in order) or a CPU list like 0-3,6 naming each CPU once, "
         "from the affinity mask " + cpu_list_string(mask);
}

// ---- Resolving one variable: option > environment > default -------------------------------

// Each apply() stores one variable's value in `out` and returns where it came from.
using env_value = std::optional<std::string_view>;

config_source apply(const number_rule& r, std::string_view name, const runtime_options& opts, env_value text,
                    const std::vector<unsigned>&, runtime_config& out) {
  if (const std::optional<unsigned> value = opts.*r.option) {
    if (auto p = check(r, *value)) throw config_error(option_name(name), std::to_string(*value), accepted(r), *p);
    out.*r.field = *value;
    return config_source::option;
  }
  if (text) {
    std::uint64_t value = 0;
    problem p = parse_decimal(*text, value);
    if (!p) p = check(r, value);
    if (p) throw config_error(std::string(name), std::string(*text), accepted(r), *p);
    out.*r.field = static_cast<unsigned>(value);
    return config_source::environment;
  }
  out.*r.field = r.fallback(out);
  return config_source::default_value;
}

config_source apply(const flag_rule& r, std::string_view name, const runtime_options& opts, env_value text,
                    const std::vector<unsigned>&, runtime_config& out) {
  if (const std::optional<bool> value = opts.*r.option) {
    out.*r.field = *value;
    return config_source::option;
  }
  if (text) {
    problem p = malformed(*text);
    if (!p && *text != "0" && *text != "1") p = "not 0 or 1";
    if (p) throw config_error(std::string(name), std::string(*text), "0 or 1", *p);
    out.*r.field = *text == "1";
    return config_source::environment;
  }
  out.*r.field = r.fallback;
  return config_source::default_value;
}

config_source apply(const pin_rule&, std::string_view name, const runtime_options& opts, env_value text,
                    const std::vector<unsigned>& mask, runtime_config& out) {
  out.pin_cpus.clear();
  if (opts.pin) {
    for (unsigned cpu : *opts.pin)
      if (auto p = add_cpu(cpu, mask, out.pin_cpus))
        throw config_error(option_name(name), cpu_list_string(*opts.pin),
                           "CPUs from the affinity mask " + cpu_list_string(mask) + ", each once; empty = no pinning", *p);
    return config_source::option;
  }
  if (text) {
    problem p = malformed(*text);
    if (!p && *text == "1") out.pin_cpus = mask;
    else if (!p && *text != "0") p = parse_cpu_list(*text, mask, out.pin_cpus);
    if (p) throw config_error(std::string(name), std::string(*text), pin_accepted(mask), *p);
    return config_source::environment;
  }
  return config_source::default_value;
}

// ---- Warnings -----------------------------------------------------------------------------

// Levenshtein distance, one row at a time.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];  // row above, column j - 1
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_warning(std::string_view name) {
  constexpr std::size_t max_distance = 3;  // further than this, a suggestion is more noise than help
  const std::string key = upper(name);
  const variable* nearest = nullptr;
  std::size_t best = max_distance + 1;
  for (const variable& v : variables)
    if (std::size_t d = edit_distance(key, v.name); d < best) best = d, nearest = &v;
  std::string out = "unknown variable " + std::string(name) + " ignored";
  if (nearest) out += "; did you mean " + std::string(nearest->name) + "?";
  return out;
}

const char* source_name(config_source s) {
  switch (s) {
    case config_source::option: return "option";
    case config_source::environment: return "environment";
    case config_source::default_value: return "default";
  }
  return "?";
}

// ---- cgroup CPU quota ---------------------------------------------------------------------

// The quota set in one cgroup directory, if any: v2 cpu.max, else v1 cpu.cfs_*.
std::optional<cpu_quota> quota_in(const std::string& dir) {
  if (std::ifstream max{dir + "/cpu.max"}) {  // "quota period" or "max period"
    std::string quota_text;
    std::uint64_t quota = 0, period = 0;
    if (!(max >> quota_text >> period) || quota_text == "max" || period == 0) return std::nullopt;
    if (parse_decimal(quota_text, quota) || quota == 0) return std::nullopt;
    return cpu_quota{quota, period, dir + "/cpu.max"};
  }
  std::ifstream quota_file{dir + "/cpu.cfs_quota_us"}, period_file{dir + "/cpu.cfs_period_us"};
  long long quota = -1, period = 0;  // quota -1 = no limit
  if (!(quota_file >> quota) || !(period_file >> period) || quota <= 0 || period <= 0) return std::nullopt;
  return cpu_quota{static_cast<std::uint64_t>(quota), static_cast<std::uint64_t>(period), dir + "/cpu.cfs_quota_us"};
}

double ratio(const cpu_quota& q) { return static_cast<double>(q.quota_us) / static_cast<double>(q.period_us); }

}  // namespace

// ---- Public functions ---------------------------------------------------------------------

runtime_config resolve_config(const runtime_options& options, const std::vector<std::string>& environment) {
  // CORING_* entries (prefix in any case, to catch "coring_workers"), the first of a name winning.
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  for (const std::string& entry : environment) {
    const std::size_t eq = entry.find('=');
    if (eq == entry.npos || upper(entry.substr(0, prefix.size())) != prefix) continue;
    const std::string_view name(entry.data(), eq);
    if (std::none_of(entries.begin(), entries.end(), [&](const auto& e) { return e.first == name; }))
      entries.emplace_back(name, std::string_view(entry).substr(eq + 1));
  }
  auto lookup = [&](std::string_view name) -> env_value {
    for (const auto& [n, value] : entries)
      if (n == name) return value;
    return std::nullopt;
  };

  runtime_config config;
  const std::vector<unsigned> mask = affinity_cpus();
  for (const variable& v : variables) {
    const env_value text = lookup(v.name);
    const config_source from =
        std::visit([&](const auto& rule) { return apply(rule, v.name, options, text, mask, config); }, v.rule);
    const bool is_set = from == config_source::option;
    config.sources.emplace_back(v.name, from);
    // An overridden variable is not parsed: the program's explicit choice makes it irrelevant.
    if (is_set && text)
      config.warnings.push_back(std::string(v.name) + "='" + std::string(*text) + "' ignored: " + option_name(v.name) +
                                " is set explicitly");
  }
  for (const auto& [name, value] : entries)
    if (std::none_of(variables.begin(), variables.end(), [&](const variable& v) { return v.name == name; }))
      config.warnings.push_back(unknown_warning(name));
  return config;
}

runtime_config resolve_config(const runtime_options& options) {
  std::vector<std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry)
    if (upper(std::string_view(*entry).substr(0, prefix.size())) == prefix) environment.emplace_back(*entry);
  return resolve_config(options, environment);
}

std::vector<unsigned> affinity_cpus() {
  // The kernel rejects a mask shorter than its CPU count (EINVAL), so grow until it fits.
  // Bit i of word i / bits is CPU i: cpu_set_t's layout, read without its macros' casts.
  constexpr std::size_t bits = sizeof(unsigned long) * CHAR_BIT;
  for (std::size_t cpus = 1024; cpus <= (std::size_t{1} << 22); cpus *= 2) {
    std::vector<unsigned long> words(cpus / bits);
    if (sched_getaffinity(0, words.size() * sizeof(unsigned long), reinterpret_cast<cpu_set_t*>(words.data())) != 0) {
      if (errno == EINVAL) continue;
      break;
    }
    std::vector<unsigned> out;
    for (std::size_t cpu = 0; cpu < cpus; ++cpu)
      if ((words[cpu / bits] >> (cpu % bits)) & 1UL) out.push_back(static_cast<unsigned>(cpu));
    return out;
  }
  // Cannot happen on Linux; fall back to the online CPUs rather than fail.
  std::vector<unsigned> out(static_cast<std::size_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN))));
  std::iota(out.begin(), out.end(), 0U);
  return out;
}

unsigned cpu_quota::cpus() const noexcept {
  if (period_us == 0) return 1;
  const std::uint64_t n = quota_us / period_us + (quota_us % period_us != 0 ? 1 : 0);
  return static_cast<unsigned>(std::clamp<std::uint64_t>(n, 1, UINT_MAX));
}

std::optional<cpu_quota> detail::cgroup_cpu_quota(const std::string& proc_self_cgroup, const std::string& cgroup_root) {
  std::optional<cpu_quota> tightest;
  std::ifstream in{proc_self_cgroup};
  for (std::string line; std::getline(in, line);) {
    // "hierarchy:controllers:path"; "0::path" is cgroup v2, v1 lines list their controllers.
    const std::size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1);
    if (c1 == line.npos || c2 == line.npos) continue;
    const std::string controllers = "," + line.substr(c1 + 1, c2 - c1 - 1) + ",";
    std::vector<std::string> mounts;
    if (line.compare(0, c2 + 1, "0::") == 0) mounts = {cgroup_root, cgroup_root + "/unified"};
    else if (controllers.find(",cpu,") != controllers.npos)
      mounts = {cgroup_root + "/cpu", cgroup_root + "/cpu,cpuacct", cgroup_root + "/cpuacct,cpu"};
    // A quota on an ancestor binds too, so walk from the process's cgroup up to the root.
    for (const std::string& mount : mounts) {
      for (std::string path = line.substr(c2 + 1);;) {
        auto q = quota_in(mount + path);
        if (q && (!tightest || ratio(*q) < ratio(*tightest))) tightest = std::move(q);
        const std::size_t slash = path.rfind('/');
        if (path.empty() || path == "/" || slash == path.npos) break;
        path.erase(slash);
      }
    }
  }
  return tightest;
}

std::optional<cpu_quota> cgroup_cpu_quota() { return detail::cgroup_cpu_quota("/proc/self/cgroup", "/sys/fs/cgroup"); }

unsigned available_cpus() {
  auto n = static_cast<unsigned>(affinity_cpus().size());
  if (auto quota = cgroup_cpu_quota()) n = std::min(n, quota->cpus());
  return std::max(n, 1U);
}

std::string cpu_list_string(const std::vector<unsigned>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(cpus[i]);
    if (j > i) out += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

std::string describe(const runtime_config& config) {
  std::ostringstream out;
  for (const variable& v : variables) {
    auto it = std::find_if(config.sources.begin(), config.sources.end(),
                           [&](const auto& source) { return source.first == v.name; });
    const config_source from = it == config.sources.end() ? config_source::default_value : it->second;
    std::string value;
    if (auto* n = std::get_if<number_rule>(&v.rule)) value = std::to_string(config.*n->field);
    else if (auto* f = std::get_if<flag_rule>(&v.rule)) value = config.*f->field ? "1" : "0";
    else if (config.pin_cpus.empty()) value = "0";
    else if (value = cpu_list_string(config.pin_cpus); value == "0" || value == "1")
      value += "-" + value;  // reads back through CORING_PIN, where a lone 0 or 1 is a mode
    out << std::left << std::setw(25) << v.name << ' ' << std::setw(10) << value << ' ' << source_name(from);
    out << '\n';
  }
  return out.str();
}

}  // namespace coring
