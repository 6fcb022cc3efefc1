// coring/version.hpp agrees with project(VERSION) in CMakeLists.txt, and its macros and
// constants agree with each other.
#include <coring/version.hpp>
#include <gtest/gtest.h>

#include <string>

static_assert(CORING_VERSION == CORING_MAKE_VERSION(CORING_VERSION_MAJOR, CORING_VERSION_MINOR, CORING_VERSION_PATCH));
static_assert(coring::version.major == CORING_VERSION_MAJOR && coring::version.minor == CORING_VERSION_MINOR &&
              coring::version.patch == CORING_VERSION_PATCH);

TEST(version, header_matches_cmake_project_version) {
  EXPECT_EQ(std::string(CORING_VERSION_STRING), CORING_CMAKE_VERSION);
  EXPECT_EQ(std::string(coring::version.string), CORING_CMAKE_VERSION);
  const std::string parts = std::to_string(CORING_VERSION_MAJOR) + "." + std::to_string(CORING_VERSION_MINOR) + "." +
                            std::to_string(CORING_VERSION_PATCH);
  EXPECT_EQ(parts, CORING_CMAKE_VERSION);
}
