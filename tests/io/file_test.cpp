// Files: round trip, short read at end of file, size, fsync, errors name the operation.
#include "io_test.hpp"

#include <coring/io/file.hpp>

#include <unistd.h>

#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

namespace {
std::string temp_path(const char* tag) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/coring_file_test_" + tag + "_" + std::to_string(::getpid());
}
}  // namespace

IO_TEST(file, round_trip_with_short_read_at_eof) {
  const std::string path = temp_path("rt");
  std::vector<std::byte> data(100'000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 + 3);
  {
    auto f = co_await coring::file::open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    co_await f.write_all_at(data, 0);
    co_await f.fsync();
    co_await f.fsync(true);
    EXPECT_EQ(co_await f.size(), data.size());
    co_await f.close();
    EXPECT_FALSE(f.is_open());
  }
  auto f = co_await coring::file::open(path);
  std::vector<std::byte> back(data.size());
  EXPECT_EQ(co_await f.read_all_at(back, 0), data.size());
  EXPECT_EQ(back, data);

  // A read that crosses the end of the file is short; one past it yields 0.
  std::vector<std::byte> tail(1000);
  const std::size_t n = co_await f.read_at(tail, data.size() - 10);
  EXPECT_EQ(n, 10u);
  EXPECT_TRUE(std::equal(tail.begin(), tail.begin() + 10, data.end() - 10));
  EXPECT_EQ(co_await f.read_at(tail, data.size() + 5), 0u);
  EXPECT_EQ(co_await f.read_all_at(tail, data.size() - 300), 300u);
  co_await f.close();
  ::unlink(path.c_str());
}

IO_TEST(file, open_of_a_missing_file_names_the_operation_and_path) {
  bool thrown = false;
  try {
    (void)co_await coring::file::open("/nonexistent/coring/x");
  } catch (const std::system_error& e) {
    thrown = true;
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("coring::file::open: /nonexistent/coring/x"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(thrown);
}

IO_TEST(file, read_on_a_closed_file_throws_ebadf) {
  coring::file f;
  std::byte b[4];
  bool thrown = false;
  try {
    (void)co_await f.read_at(b, 0);
  } catch (const std::system_error& e) {
    thrown = true;
    EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
    EXPECT_NE(std::string(e.what()).find("coring::file::read_at"), std::string::npos);
  }
  EXPECT_TRUE(thrown);
}

IO_TEST(file, many_concurrent_reads_exceed_the_ring) {
  // 2,000 reads at once against a 256-entry ring: the pending list and the completion
  // budget take the overflow.
  const std::string path = temp_path("many");
  auto f = co_await coring::file::open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  std::vector<std::byte> data(8000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i / 4);
  co_await f.write_all_at(data, 0);
  std::vector<coring::task<bool>> reads;
  for (int i = 0; i < 2000; ++i) {
    reads.push_back([](const coring::file& file, const std::vector<std::byte>& want, int k) -> coring::task<bool> {
      std::byte b[4];
      const std::size_t n = co_await file.read_all_at(b, static_cast<std::uint64_t>(k) * 4);
      co_return n == 4 && std::equal(b, b + 4, want.begin() + k * 4);
    }(f, data, i));
  }
  auto ok = co_await coring::gather(std::move(reads));
  EXPECT_EQ(std::count(ok.begin(), ok.end(), true), 2000);
  co_await f.close();
  ::unlink(path.c_str());
}
