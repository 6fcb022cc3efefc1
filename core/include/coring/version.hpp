// The version of coring these headers belong to (semantic versioning; 0.x: the API may
// still change between minor versions). Kept equal to project(VERSION) in the top-level
// CMakeLists.txt by the version_header_matches_cmake test.
//
//   #if CORING_VERSION >= CORING_MAKE_VERSION(0, 2, 0) ...
//   static_assert(coring::version.major == 0);
#pragma once

#define CORING_VERSION_MAJOR 0
#define CORING_VERSION_MINOR 1
#define CORING_VERSION_PATCH 0
#define CORING_VERSION_STRING "0.1.0"
// One number that compares: major * 10000 + minor * 100 + patch.
#define CORING_MAKE_VERSION(major, minor, patch) ((major) * 10000 + (minor) * 100 + (patch))
#define CORING_VERSION CORING_MAKE_VERSION(CORING_VERSION_MAJOR, CORING_VERSION_MINOR, CORING_VERSION_PATCH)

namespace coring {

struct version_info {
  int major;
  int minor;
  int patch;
  const char* string;
};

// The same numbers as the macros, for code that prefers constants to the preprocessor.
inline constexpr version_info version{CORING_VERSION_MAJOR, CORING_VERSION_MINOR, CORING_VERSION_PATCH,
                                      CORING_VERSION_STRING};

}  // namespace coring
