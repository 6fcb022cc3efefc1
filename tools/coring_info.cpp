// coring-info: prints what a runtime built from this environment would use (DESIGN.md §4):
// the CPUs the process may use, every CORING_* variable with its value and source, and the
// warnings, and what the kernel's io_uring gives one worker ring. Exits 2 with the
// config_error message on stderr if a CORING_* value is bad.
#include <coring/io/reactor.hpp>
#include <coring/sched/config.hpp>

#include <exception>
#include <cstring>
#include <iostream>

int main() {
  try {
    const coring::runtime_config config = coring::resolve_config();
#ifdef CORING_VERSION
    std::cout << "coring " << CORING_VERSION << "\n";
#else
    std::cout << "coring\n";
#endif
    const auto affinity = coring::affinity_cpus();
    std::cout << "available CPUs:   " << coring::available_cpus() << "\n"
              << "affinity mask:    " << coring::cpu_list_string(affinity) << " (" << affinity.size() << " CPUs)\n"
              << "cgroup CPU quota: ";
    if (const auto quota = coring::cgroup_cpu_quota())
      std::cout << quota->quota_us << " us per " << quota->period_us << " us = " << quota->cpus() << " CPUs ("
                << quota->file << ")\n";
    else
      std::cout << "none\n";
    std::cout << "\nconfiguration (variable, value, source):\n" << coring::describe(config);
    std::cout << "\nio_uring (one worker's ring): ";
    try {
      // Shared, as the scheduler sets up its workers' rings (peers reap a busy worker's).
      coring::reactor ring(
          coring::reactor_options{.entries = config.ring_entries,
                                  .sqpoll = config.sqpoll,
                                  .shared = true,
                                  .recv_buffers = config.recv_buffers});
      const coring::reactor_info& info = ring.info();
      auto yes = [](bool b) { return b ? "yes" : "no"; };
      std::cout << info.sq_entries << " SQ / " << info.cq_entries << " CQ entries\n"
                << "  SINGLE_ISSUER " << yes(info.single_issuer) << ", DEFER_TASKRUN " << yes(info.defer_taskrun)
                << ", COOP_TASKRUN " << yes(info.coop_taskrun) << ", SUBMIT_ALL " << yes(info.submit_all)
                << ", SQPOLL " << yes(info.sqpoll) << ", multishot accept " << yes(info.multishot_accept)
                << "\n  shared: idle workers reap this ring's completions and timers while its owner is busy\n";
      if (info.recv_buffers != 0) {
        std::cout << "  receive pool: " << info.recv_buffers << " buffers of " << info.recv_buffer_size
                  << " bytes (provided-buffer ring)\n";
      } else {
        std::cout << "  receive pool: refused by the kernel (" << std::strerror(info.recv_buffers_errno)
                  << "); receives use a buffer of their own\n";
      }
    } catch (const std::exception& e) {
      std::cout << "unavailable: " << e.what() << "\n";
    }
    if (!config.warnings.empty()) {
      std::cout << "\nwarnings:\n";
      for (const std::string& warning : config.warnings) std::cout << "  " << warning << "\n";
    }
    return 0;
  } catch (const coring::config_error& e) {
    std::cerr << "coring-info: " << e.what() << "\n";
    return 2;
  }
}
