// Tests for the configuration layer: parsing of every CORING_* variable, validation of
// runtime_options, precedence, warnings, and the CPU/cgroup queries. All but one test pass the
// environment explicitly, so they neither read nor disturb the process environment.
#include "coring/sched/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

using coring::config_error;
using coring::config_source;
using coring::resolve_config;
using coring::runtime_config;
using coring::runtime_options;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

runtime_config resolve_env(const std::vector<std::string>& environment, const runtime_options& options = {}) {
  return resolve_config(options, environment);
}

// The config_error resolving `options` with `environment` throws, checked for the parts every
// message must carry: the variable, the value and the accepted set.
config_error error_of(const std::vector<std::string>& environment, const runtime_options& options = {}) {
  try {
    resolve_config(options, environment);
  } catch (const config_error& e) {
    EXPECT_TRUE(contains(e.what(), e.variable())) << e.what();
    EXPECT_TRUE(contains(e.what(), "'" + e.value() + "'")) << e.what();
    EXPECT_TRUE(contains(e.what(), "accepted: " + e.accepted())) << e.what();
    return e;
  }
  ADD_FAILURE() << "no config_error";
  return config_error("", "", "", "");
}

void expect_env_rejected(const std::string& name, const std::string& value, const std::string& problem) {
  SCOPED_TRACE(name + "='" + value + "'");
  const config_error e = error_of({name + "=" + value});
  EXPECT_EQ(e.variable(), name);
  EXPECT_EQ(e.value(), value);
  EXPECT_TRUE(contains(e.problem(), problem)) << e.what();
}

config_source source_of(const runtime_config& config, const std::string& name) {
  for (const auto& [n, source] : config.sources)
    if (n == name) return source;
  ADD_FAILURE() << "no source for " << name;
  return config_source::default_value;
}

struct number_case {
  std::string name;
  std::optional<unsigned> runtime_options::*option;
  unsigned runtime_config::*field;
  unsigned min, max;
  bool power_of_two;
};

const std::vector<number_case> numbers = {
    {"CORING_WORKERS", &runtime_options::workers, &runtime_config::workers, 1, 1024, false},
    {"CORING_BLOCKING_THREADS", &runtime_options::blocking_threads, &runtime_config::blocking_threads, 1, 65536, false},
    {"CORING_BLOCKING_IDLE_MS", &runtime_options::blocking_idle_ms, &runtime_config::blocking_idle_ms, 0, 86400000, false},
    {"CORING_COMPUTE_THREADS", &runtime_options::compute_threads, &runtime_config::compute_threads, 1, 1024, false},
    {"CORING_RING_ENTRIES", &runtime_options::ring_entries, &runtime_config::ring_entries, 2, 32768, true},
    {"CORING_SPIN_US", &runtime_options::spin_us, &runtime_config::spin_us, 0, 1000000, false},
    {"CORING_RECV_BUFFERS", &runtime_options::recv_buffers, &runtime_config::recv_buffers, 1, 32768, true},
    {"CORING_LOCAL_QUEUE", &runtime_options::local_queue, &runtime_config::local_queue, 16, 65536, true},
    {"CORING_SLOW_TASK_MS", &runtime_options::slow_task_ms, &runtime_config::slow_task_ms, 0, 60000, false},
};

std::string option_name(const std::string& env_name) {
  std::string out = "runtime_options::";
  for (char ch : env_name.substr(7)) out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

TEST(Config, DefaultsWithEmptyEnvironment) {
  const runtime_config c = resolve_env({});
  EXPECT_EQ(c.workers, coring::available_cpus());
  EXPECT_EQ(c.blocking_threads, 512U);
  EXPECT_EQ(c.blocking_idle_ms, 10000U);
  EXPECT_EQ(c.compute_threads, c.workers);
  EXPECT_EQ(c.ring_entries, 256U);
  EXPECT_FALSE(c.sqpoll);
  EXPECT_TRUE(c.pin_cpus.empty());
  EXPECT_EQ(c.spin_us, 50U);
  EXPECT_EQ(c.local_queue, 256U);
  EXPECT_FALSE(c.stats);
  EXPECT_EQ(c.recv_buffers, 256U);
  EXPECT_EQ(c.slow_task_ms, 0U);  // the slow-task detector is off
  ASSERT_EQ(c.sources.size(), 12U);
  for (const auto& [name, source] : c.sources) EXPECT_EQ(source, config_source::default_value) << name;
  EXPECT_TRUE(c.warnings.empty());
}

TEST(Config, NumbersAcceptTheirBounds) {
  for (const number_case& n : numbers) {
    SCOPED_TRACE(n.name);
    for (unsigned value : {n.min, n.max, n.power_of_two ? 2 * n.min : n.min + 1}) {
      const runtime_config c = resolve_env({n.name + "=" + std::to_string(value)});
      EXPECT_EQ(c.*n.field, value);
      EXPECT_EQ(source_of(c, n.name), config_source::environment);
    }
    EXPECT_EQ(resolve_env({n.name + "=000" + std::to_string(n.max)}).*n.field, n.max);  // leading zeros: decimal
  }
}

TEST(Config, NumbersRejectMalformedText) {
  for (const number_case& n : numbers) {
    expect_env_rejected(n.name, "abc", "not a number");
    expect_env_rejected(n.name, "12abc", "not a number");
    expect_env_rejected(n.name, "0x10", "not a number");
    expect_env_rejected(n.name, "+16", "not a number");
    expect_env_rejected(n.name, "1.5", "not a number");
    expect_env_rejected(n.name, "1e3", "not a number");
    expect_env_rejected(n.name, "", "empty");
    expect_env_rejected(n.name, " 16", "whitespace");
    expect_env_rejected(n.name, "16\n", "whitespace");
    expect_env_rejected(n.name, "-1", "negative");
    expect_env_rejected(n.name, "99999999999999999999", "out of range");  // overflows 64 bits
    expect_env_rejected(n.name, "4294967296", "out of range");            // overflows unsigned
  }
}

TEST(Config, NumbersRejectOutOfRange) {
  for (const number_case& n : numbers) {
    if (n.min > 0) expect_env_rejected(n.name, std::to_string(n.min - 1), "out of range");
    expect_env_rejected(n.name, std::to_string(n.max + 1), "out of range");
    expect_env_rejected(n.name, std::to_string(2ULL * n.max), "out of range");
  }
  expect_env_rejected("CORING_WORKERS", "0", "out of range");
  expect_env_rejected("CORING_BLOCKING_THREADS", "0", "out of range");
  expect_env_rejected("CORING_COMPUTE_THREADS", "0", "out of range");
  EXPECT_EQ(resolve_env({"CORING_BLOCKING_IDLE_MS=0"}).blocking_idle_ms, 0U);
  EXPECT_EQ(resolve_env({"CORING_SPIN_US=0"}).spin_us, 0U);
}

TEST(Config, PowersOfTwo) {
  for (const char* value : {"3", "100", "1000", "24"}) {
    expect_env_rejected("CORING_RING_ENTRIES", value, "not a power of two");
  }
  for (const char* value : {"17", "100", "1000", "24"}) {
    expect_env_rejected("CORING_LOCAL_QUEUE", value, "not a power of two");
  }
  expect_env_rejected("CORING_LOCAL_QUEUE", "8", "out of range");
  EXPECT_EQ(resolve_env({"CORING_RING_ENTRIES=1024"}).ring_entries, 1024U);
  EXPECT_EQ(resolve_env({"CORING_LOCAL_QUEUE=4096"}).local_queue, 4096U);
}

TEST(Config, Flags) {
  for (const std::string name : {"CORING_SQPOLL", "CORING_STATS"}) {
    SCOPED_TRACE(name);
    const runtime_config on = resolve_env({name + "=1"});
    const runtime_config off = resolve_env({name + "=0"});
    EXPECT_TRUE(name == "CORING_SQPOLL" ? on.sqpoll : on.stats);
    EXPECT_FALSE(name == "CORING_SQPOLL" ? off.sqpoll : off.stats);
    for (const char* bad : {"true", "false", "yes", "on", "2", "01", "-1"}) {
      expect_env_rejected(name, bad, "not 0 or 1");
      EXPECT_EQ(error_of({name + "=" + bad}).accepted(), "0 or 1");
    }
    expect_env_rejected(name, "", "empty");
    expect_env_rejected(name, " 1", "whitespace");
  }
}

TEST(Config, PinModesAndLists) {
  const std::vector<unsigned> mask = coring::affinity_cpus();
  ASSERT_FALSE(mask.empty());
  const std::string first = std::to_string(mask.front());

  EXPECT_TRUE(resolve_env({"CORING_PIN=0"}).pin_cpus.empty());
  EXPECT_EQ(resolve_env({"CORING_PIN=1"}).pin_cpus, mask);
  EXPECT_EQ(source_of(resolve_env({"CORING_PIN=1"}), "CORING_PIN"), config_source::environment);
  EXPECT_EQ(resolve_env({"CORING_PIN=" + first + "-" + first}).pin_cpus, std::vector<unsigned>{mask.front()});
  if (mask.size() > 1 || mask.front() > 1) {  // a lone CPU 0 or 1 would read as a mode
    EXPECT_EQ(resolve_env({"CORING_PIN=" + coring::cpu_list_string(mask)}).pin_cpus, mask);
  }
  if (mask.size() >= 2) {  // listed order is kept: worker 0 -> the first CPU written
    const std::string second = std::to_string(mask[1]);
    EXPECT_EQ(resolve_env({"CORING_PIN=" + second + "," + first}).pin_cpus, (std::vector<unsigned>{mask[1], mask[0]}));
  }
}

TEST(Config, PinRejectsBadLists) {
  const std::vector<unsigned> mask = coring::affinity_cpus();
  const std::string first = std::to_string(mask.front());
  const std::string outside = std::to_string(std::max(mask.back() + 1, 2U));  // "1" would be a mode
  expect_env_rejected("CORING_PIN", "3-1", "descending");
  expect_env_rejected("CORING_PIN", "a", "neither a CPU nor a range");
  expect_env_rejected("CORING_PIN", "0-", "neither a CPU nor a range");
  expect_env_rejected("CORING_PIN", "-1", "neither a CPU nor a range");
  expect_env_rejected("CORING_PIN", "0x1", "neither a CPU nor a range");
  expect_env_rejected("CORING_PIN", first + ",,", "empty entry");
  expect_env_rejected("CORING_PIN", "," + first, "empty entry");
  expect_env_rejected("CORING_PIN", first + ",", "empty entry");
  expect_env_rejected("CORING_PIN", "", "empty");
  expect_env_rejected("CORING_PIN", " 1", "whitespace");
  expect_env_rejected("CORING_PIN", outside, "CPU " + outside + " is not in this process's affinity mask");
  expect_env_rejected("CORING_PIN", first + "-" + outside, "not in this process's affinity mask");
  expect_env_rejected("CORING_PIN", "0-4000000000", "not in this process's affinity mask");  // fails fast
  expect_env_rejected("CORING_PIN", first + "," + first, "listed twice");
  EXPECT_TRUE(contains(error_of({"CORING_PIN=a"}).accepted(), coring::cpu_list_string(mask)));
}

TEST(Config, OptionsAreValidatedLikeTheEnvironment) {
  for (const number_case& n : numbers) {
    SCOPED_TRACE(n.name);
    runtime_options options;
    options.*n.option = n.max;
    EXPECT_EQ(resolve_env({}, options).*n.field, n.max);
    options.*n.option = n.max + 1;
    config_error e = error_of({}, options);
    EXPECT_EQ(e.variable(), option_name(n.name));
    EXPECT_EQ(e.value(), std::to_string(n.max + 1));
    EXPECT_EQ(e.problem(), "out of range");
    if (n.min > 0) {
      options.*n.option = n.min - 1;
      EXPECT_EQ(error_of({}, options).problem(), "out of range");
    }
    if (n.power_of_two) {
      unsigned not_power = n.min + 1;
      if ((not_power & (not_power - 1)) == 0) ++not_power;  // min 1: 2 is a power of two
      options.*n.option = not_power;
      EXPECT_EQ(error_of({}, options).problem(), "not a power of two");
    }
  }
  runtime_options zero;
  zero.workers = 0;
  EXPECT_EQ(std::string(error_of({}, zero).what()),
            "runtime_options::workers='0': out of range; accepted: an integer in [1, 1024]");
}

TEST(Config, PinOption) {
  const std::vector<unsigned> mask = coring::affinity_cpus();
  runtime_options options;
  options.pin = std::vector<unsigned>{};
  runtime_config c = resolve_env({"CORING_PIN=1"}, options);
  EXPECT_TRUE(c.pin_cpus.empty());
  EXPECT_EQ(source_of(c, "CORING_PIN"), config_source::option);
  options.pin = std::vector<unsigned>{mask.back()};
  EXPECT_EQ(resolve_env({}, options).pin_cpus, std::vector<unsigned>{mask.back()});

  options.pin = std::vector<unsigned>{mask.back() + 1};
  config_error e = error_of({}, options);
  EXPECT_EQ(e.variable(), "runtime_options::pin");
  EXPECT_EQ(e.value(), std::to_string(mask.back() + 1));
  EXPECT_TRUE(contains(e.problem(), "not in this process's affinity mask"));
  options.pin = std::vector<unsigned>{mask.front(), mask.front()};
  EXPECT_TRUE(contains(error_of({}, options).problem(), "listed twice"));
}

TEST(Config, PrecedenceOptionThenEnvironmentThenDefault) {
  runtime_options options;
  options.workers = 2;
  options.stats = true;
  const runtime_config c = resolve_env({"CORING_WORKERS=3", "CORING_SPIN_US=7", "CORING_STATS=0"}, options);
  EXPECT_EQ(c.workers, 2U);
  EXPECT_EQ(source_of(c, "CORING_WORKERS"), config_source::option);
  EXPECT_TRUE(c.stats);
  EXPECT_EQ(source_of(c, "CORING_STATS"), config_source::option);
  EXPECT_EQ(c.spin_us, 7U);
  EXPECT_EQ(source_of(c, "CORING_SPIN_US"), config_source::environment);
  EXPECT_EQ(c.local_queue, 256U);
  EXPECT_EQ(source_of(c, "CORING_LOCAL_QUEUE"), config_source::default_value);
  EXPECT_EQ(c.warnings, (std::vector<std::string>{
                            "CORING_WORKERS='3' ignored: runtime_options::workers is set explicitly",
                            "CORING_STATS='0' ignored: runtime_options::stats is set explicitly"}));
  // An overridden variable is not parsed, so a bad value there is not an error.
  EXPECT_EQ(resolve_env({"CORING_WORKERS=abc"}, options).workers, 2U);
}

TEST(Config, ComputeThreadsDefaultToWorkers) {
  EXPECT_EQ(resolve_env({"CORING_WORKERS=3"}).compute_threads, 3U);
  runtime_options options;
  options.workers = 5;
  const runtime_config c = resolve_env({}, options);
  EXPECT_EQ(c.compute_threads, 5U);
  EXPECT_EQ(source_of(c, "CORING_COMPUTE_THREADS"), config_source::default_value);
  EXPECT_EQ(resolve_env({"CORING_WORKERS=3", "CORING_COMPUTE_THREADS=7"}).compute_threads, 7U);
}

TEST(Config, UnknownNamesWarnWithSuggestion) {
  runtime_config c = resolve_env({"CORING_WORKER=4"});
  EXPECT_EQ(c.workers, coring::available_cpus());
  EXPECT_EQ(c.warnings, std::vector<std::string>{"unknown variable CORING_WORKER ignored; did you mean CORING_WORKERS?"});
  EXPECT_EQ(resolve_env({"coring_spin_us=4"}).warnings,
            std::vector<std::string>{"unknown variable coring_spin_us ignored; did you mean CORING_SPIN_US?"});
  EXPECT_EQ(resolve_env({"CORING_WORKERSXXX=1"}).warnings,  // distance 3: still suggested
            std::vector<std::string>{"unknown variable CORING_WORKERSXXX ignored; did you mean CORING_WORKERS?"});
  EXPECT_EQ(resolve_env({"CORING_WORKERSXXXX=1"}).warnings,  // distance 4: too far
            std::vector<std::string>{"unknown variable CORING_WORKERSXXXX ignored"});
  EXPECT_EQ(resolve_env({"CORING_FROBNICATE=1"}).warnings,
            std::vector<std::string>{"unknown variable CORING_FROBNICATE ignored"});
  EXPECT_TRUE(resolve_env({"PATH=/bin", "CORINGX=1", "MY_CORING_WORKERS=1", "CORING_WORKERS=2"}).warnings.empty());
}

TEST(Config, EveryKnownVariableIsLiveAndSettingOneDoesNotWarn) {
  // The reactor's variables are live: no warning.
  EXPECT_TRUE(resolve_env({"CORING_SQPOLL=1", "CORING_RING_ENTRIES=512"}).warnings.empty());
  runtime_options options;
  options.ring_entries = 512;
  EXPECT_TRUE(resolve_env({}, options).warnings.empty());
  // The offload pools' variables are live too.
  EXPECT_TRUE(resolve_env({"CORING_BLOCKING_THREADS=8", "CORING_BLOCKING_IDLE_MS=5", "CORING_COMPUTE_THREADS=2"})
                  .warnings.empty());
  EXPECT_TRUE(resolve_env({"CORING_WORKERS=2", "CORING_SPIN_US=0", "CORING_PIN=0", "CORING_LOCAL_QUEUE=64",
                           "CORING_STATS=1", "CORING_SLOW_TASK_MS=100"})
                  .warnings.empty());
}

TEST(Config, EnvironmentEntries) {
  EXPECT_EQ(resolve_env({"CORING_WORKERS=3", "CORING_WORKERS=abc"}).workers, 3U);  // first wins, like getenv
  EXPECT_EQ(source_of(resolve_env({"CORING_WORKERS"}), "CORING_WORKERS"), config_source::default_value);
  EXPECT_EQ(error_of({"CORING_SPIN_US=1=2"}).value(), "1=2");  // the value is everything after the first '='
}

TEST(Config, ErrorMessageNamesVariableValueAndAccepted) {
  const config_error e = error_of({"CORING_WORKERS=abc"});
  EXPECT_EQ(std::string(e.what()), "CORING_WORKERS='abc': not a number; accepted: an integer in [1, 1024]");
  EXPECT_EQ(e.variable(), "CORING_WORKERS");
  EXPECT_EQ(e.value(), "abc");
  EXPECT_EQ(e.accepted(), "an integer in [1, 1024]");
  EXPECT_EQ(e.problem(), "not a number");
  EXPECT_EQ(std::string(error_of({"CORING_RING_ENTRIES=100"}).what()),
            "CORING_RING_ENTRIES='100': not a power of two; accepted: a power of two in [2, 32768]");
  const std::string pin = error_of({"CORING_PIN=3-1"}).what();
  EXPECT_TRUE(contains(pin, "CORING_PIN='3-1': range 3-1 is descending; accepted: 0 (no pinning), 1")) << pin;
}

TEST(Config, Describe) {
  runtime_options options;
  options.spin_us = 9;
  const std::string text = coring::describe(resolve_env({"CORING_WORKERS=3"}, options));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 12);
  for (const auto& name : {"CORING_WORKERS", "CORING_BLOCKING_THREADS", "CORING_BLOCKING_IDLE_MS",
                           "CORING_COMPUTE_THREADS", "CORING_RING_ENTRIES", "CORING_SQPOLL", "CORING_RECV_BUFFERS",
                           "CORING_PIN", "CORING_SPIN_US", "CORING_LOCAL_QUEUE", "CORING_STATS", "CORING_SLOW_TASK_MS"})
    EXPECT_TRUE(contains(text, name)) << name;
  auto line_of = [&](const std::string& name) { return text.substr(text.find(name), text.find('\n', text.find(name)) - text.find(name)); };
  EXPECT_TRUE(contains(line_of("CORING_WORKERS"), " 3 ")) << text;
  EXPECT_TRUE(contains(line_of("CORING_WORKERS"), "environment")) << text;
  EXPECT_TRUE(contains(line_of("CORING_SPIN_US"), "option")) << text;
  EXPECT_TRUE(contains(line_of("CORING_STATS"), " 0 ")) << text;
  EXPECT_TRUE(contains(line_of("CORING_STATS"), "default")) << text;
}

TEST(Config, DescribedPinReadsBack) {
  for (const std::string pin : {"0", "1"}) {
    const runtime_config c = resolve_env({"CORING_PIN=" + pin});
    const std::string text = coring::describe(c);
    const std::size_t at = text.find("CORING_PIN") + std::string("CORING_PIN").size();
    const std::size_t begin = text.find_first_not_of(' ', at);
    const std::string value = text.substr(begin, text.find(' ', begin) - begin);
    EXPECT_EQ(resolve_env({"CORING_PIN=" + value}).pin_cpus, c.pin_cpus) << value;
  }
}

TEST(Config, CpuListString) {
  EXPECT_EQ(coring::cpu_list_string({}), "");
  EXPECT_EQ(coring::cpu_list_string({5}), "5");
  EXPECT_EQ(coring::cpu_list_string({0, 1, 2, 3, 6}), "0-3,6");
  EXPECT_EQ(coring::cpu_list_string({6, 0, 1, 3}), "6,0-1,3");
}

TEST(Config, AvailableCpus) {
  const std::vector<unsigned> mask = coring::affinity_cpus();
  ASSERT_FALSE(mask.empty());
  EXPECT_TRUE(std::is_sorted(mask.begin(), mask.end()));
  EXPECT_TRUE(std::adjacent_find(mask.begin(), mask.end()) == mask.end());
  EXPECT_GE(coring::available_cpus(), 1U);
  EXPECT_LE(coring::available_cpus(), mask.size());
  if (auto quota = coring::cgroup_cpu_quota()) {
    EXPECT_LE(coring::available_cpus(), quota->cpus());
  }
}

// Saves a variable on construction and restores it on destruction.
class env_guard {
 public:
  explicit env_guard(std::string name) : name_(std::move(name)) {
    if (const char* v = std::getenv(name_.c_str())) saved_ = v;
  }
  ~env_guard() { saved_ ? setenv(name_.c_str(), saved_->c_str(), 1) : unsetenv(name_.c_str()); }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;

 private:
  std::string name_;
  std::optional<std::string> saved_;
};

TEST(Config, ReadsProcessEnvironment) {
  env_guard workers("CORING_WORKERS"), typo("CORING_SPIN_UZ"), stats("CORING_STATS");
  setenv("CORING_WORKERS", "3", 1);
  setenv("CORING_SPIN_UZ", "1", 1);
  unsetenv("CORING_STATS");
  runtime_config c = resolve_config();
  EXPECT_EQ(c.workers, 3U);
  EXPECT_EQ(source_of(c, "CORING_WORKERS"), config_source::environment);
  EXPECT_NE(std::find(c.warnings.begin(), c.warnings.end(),
                      "unknown variable CORING_SPIN_UZ ignored; did you mean CORING_SPIN_US?"),
            c.warnings.end());
  runtime_options options;
  options.workers = 4;
  EXPECT_EQ(resolve_config(options).workers, 4U);
  setenv("CORING_STATS", "yes", 1);
  EXPECT_THROW(resolve_config(), config_error);
}

// A fake cgroupfs and /proc/self/cgroup under a temporary directory.
class CgroupQuota : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            ("coring_cgroup_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "fs");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& relative, const std::string& text) {
    const auto path = root_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  std::optional<coring::cpu_quota> quota() {
    return coring::detail::cgroup_cpu_quota((root_ / "self_cgroup").string(), (root_ / "fs").string());
  }
  std::filesystem::path root_;
};

TEST_F(CgroupQuota, V2TightestAncestorWins) {
  write("self_cgroup", "0::/app/job\n");
  write("fs/cpu.max", "400000 100000\n");
  write("fs/app/cpu.max", "250000 100000\n");
  write("fs/app/job/cpu.max", "max 100000\n");
  auto q = quota();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->quota_us, 250000U);
  EXPECT_EQ(q->period_us, 100000U);
  EXPECT_EQ(q->cpus(), 3U);
  EXPECT_TRUE(contains(q->file, "app/cpu.max")) << q->file;
}

TEST_F(CgroupQuota, V2MaxMeansNoLimit) {
  write("self_cgroup", "0::/\n");
  write("fs/cpu.max", "max 100000\n");
  EXPECT_FALSE(quota());
}

TEST_F(CgroupQuota, V1CfsQuota) {
  write("self_cgroup", "5:memory:/x\n4:cpu,cpuacct:/x\n0::/\n");
  write("fs/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  write("fs/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  write("fs/cpu,cpuacct/x/cpu.cfs_quota_us", "50000\n");
  write("fs/cpu,cpuacct/x/cpu.cfs_period_us", "100000\n");
  auto q = quota();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->cpus(), 1U);
}

TEST_F(CgroupQuota, NothingReadable) {
  EXPECT_FALSE(quota());  // no self_cgroup file at all
  write("self_cgroup", "0::/a\n4:cpu:/b\n");
  EXPECT_FALSE(quota());  // no limit files
}

TEST(Config, CpuQuotaCpusRoundsUp) {
  EXPECT_EQ((coring::cpu_quota{250000, 100000, {}}.cpus()), 3U);
  EXPECT_EQ((coring::cpu_quota{100000, 100000, {}}.cpus()), 1U);
  EXPECT_EQ((coring::cpu_quota{1000, 100000, {}}.cpus()), 1U);
  EXPECT_EQ((coring::cpu_quota{1000, 0, {}}.cpus()), 1U);
}

}  // namespace
