// What the tutorial examples share: `--second-ms N` makes one second of the tutorial last
// N milliseconds, so that the tests (tests/examples) run them in a fraction of the time.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace coring::examples {

// The length of one tutorial second: 1000 ms unless `--second-ms N` is given. Exits
// with status 2 on a malformed argument.
inline std::chrono::milliseconds tutorial_second(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string_view(argv[i]) == "--second-ms") {
      char* end = nullptr;
      const long ms = std::strtol(argv[i + 1], &end, 10);
      if (end == argv[i + 1] || *end != '\0' || ms <= 0) {
        std::fprintf(stderr, "--second-ms expects a positive number of milliseconds\n");
        std::exit(2);
      }
      return std::chrono::milliseconds(ms);
    }
  }
  return std::chrono::milliseconds(1000);
}

// `d` in tutorial seconds.
inline double in_seconds(std::chrono::steady_clock::duration d, std::chrono::milliseconds second) {
  return std::chrono::duration<double>(d) / std::chrono::duration<double>(second);
}

}  // namespace coring::examples
