// Pipes and the standard streams: a 1 MiB round trip against a concurrent reader, the
// end of the stream when the writer closes (or is destroyed), EPIPE instead of SIGPIPE,
// O_CLOEXEC, a cancelled read that leaves the pipe usable, and standard streams that
// move bytes through descriptors 0 and 1 without ever closing them.
#include "io_test.hpp"

#include <coring/io/pipe.hpp>
#include <coring/io/timer.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <random>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

coring::task<void> write_and_close(coring::pipe_writer& w, const std::vector<std::byte>& data) {
  co_await w.write_all(data);
  co_await w.close();
}

coring::task<std::size_t> read_exact_then_end(const coring::pipe_reader& r, std::vector<std::byte>& into) {
  co_await r.read_exact(into);
  std::byte extra[16];
  co_return co_await r.read(extra);  // 0: the writer has closed
}

bool cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
bool is_open_fd(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

// Puts `fd` in place of `target` for the scope; restores the original on exit.
class redirect {
 public:
  redirect(int fd, int target) : target_(target), saved_(::dup(target)) { ::dup2(fd, target); }
  ~redirect() {
    ::dup2(saved_, target_);
    ::close(saved_);
  }
  redirect(const redirect&) = delete;
  redirect& operator=(const redirect&) = delete;

 private:
  int target_;
  int saved_;
};

}  // namespace

IO_TEST(pipe, one_mebibyte_round_trip_against_a_concurrent_reader) {
  auto [reader, writer] = coring::pipe();
  std::vector<std::byte> out(1 << 20), in(1 << 20);
  std::mt19937 rng(3);
  for (std::byte& b : out) b = static_cast<std::byte>(rng());
  // 1 MiB is sixteen times the default pipe buffer: the write completes only because
  // the reader drains it meanwhile.
  auto [done, tail] = co_await coring::gather(write_and_close(writer, out), read_exact_then_end(reader, in));
  (void)done;
  EXPECT_EQ(tail, 0u);
  EXPECT_TRUE(in == out);
  EXPECT_FALSE(writer.is_open());
}

IO_TEST(pipe, end_of_stream_when_the_writer_closes_or_goes) {
  auto [reader, writer] = coring::pipe();
  co_await writer.write_all(std::string_view("abc"));
  co_await writer.close();
  std::array<char, 8> buf{};
  EXPECT_EQ(co_await reader.read(buf), 3u);
  EXPECT_EQ(std::string(buf.data(), 3), "abc");
  EXPECT_EQ(co_await reader.read(buf), 0u);

  auto ends = coring::pipe();
  { coring::pipe_writer gone = std::move(ends.writer); }  // destroyed: closed synchronously
  EXPECT_EQ(co_await ends.reader.read(buf), 0u);

  // read_exact meeting the end first: ENODATA.
  auto short_ends = coring::pipe();
  co_await short_ends.writer.write_all(std::string_view("ab"));
  co_await short_ends.writer.close();
  bool enodata = false;
  try {
    co_await short_ends.reader.read_exact(buf);
  } catch (const std::system_error& e) {
    enodata = e.code() == std::errc::no_message_available;
    EXPECT_NE(std::string(e.what()).find("coring::pipe::read_exact"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(enodata);
}

IO_TEST(pipe, write_without_reader_is_epipe_not_sigpipe) {
  auto [reader, writer] = coring::pipe();
  struct sigaction action {};
  ::sigaction(SIGPIPE, nullptr, &action);
  EXPECT_EQ(action.sa_handler, SIG_IGN);
  co_await reader.close();
  bool epipe = false;
  try {
    co_await writer.write_all(std::string_view("into the void"));
  } catch (const std::system_error& e) {
    epipe = e.code() == std::errc::broken_pipe;
    EXPECT_EQ(std::string(e.what()), "coring::pipe::write_all: Broken pipe");
  }
  EXPECT_TRUE(epipe);
  bool write_epipe = false;
  try {
    (void)co_await writer.write(std::string_view("x"));
  } catch (const std::system_error& e) {
    write_epipe = e.code() == std::errc::broken_pipe;
  }
  EXPECT_TRUE(write_epipe);
}

IO_TEST(pipe, ends_are_close_on_exec) {
  auto [reader, writer] = coring::pipe();
  EXPECT_TRUE(cloexec(reader.native_handle()));
  EXPECT_TRUE(cloexec(writer.native_handle()));
  co_return;
}

IO_TEST(pipe, cancelled_read_leaves_the_pipe_usable) {
  auto [reader, writer] = coring::pipe();
  std::array<char, 8> buf{};
  bool timed_out = false;
  try {
    (void)co_await coring::timeout(20ms, reader.read(buf));
  } catch (const coring::timed_out&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  co_await writer.write_all(std::string_view("late"));
  EXPECT_EQ(co_await reader.read(buf), 4u);
  EXPECT_EQ(std::string(buf.data(), 4), "late");
}

IO_TEST(pipe, standard_streams_move_bytes_and_are_never_closed) {
  // stdin: read what a pipe put on descriptor 0.
  {
    auto [reader, writer] = coring::pipe();
    co_await writer.write_all(std::string_view("typed\n"));
    co_await writer.close();
    redirect on_stdin(reader.native_handle(), STDIN_FILENO);
    std::array<char, 16> buf{};
    {
      coring::pipe_reader in = coring::standard_input();
      EXPECT_EQ(in.native_handle(), STDIN_FILENO);
      EXPECT_EQ(co_await in.read(buf), 6u);
      EXPECT_EQ(std::string(buf.data(), 6), "typed\n");
      EXPECT_EQ(co_await in.read(buf), 0u);
      co_await in.close();  // lets go of descriptor 0 without closing it
      EXPECT_FALSE(in.is_open());
    }
    EXPECT_TRUE(is_open_fd(STDIN_FILENO));
  }
  // stdout: what is written to descriptor 1 arrives in a pipe.
  {
    auto [reader, writer] = coring::pipe();
    std::fflush(stdout);
    {
      redirect on_stdout(writer.native_handle(), STDOUT_FILENO);
      coring::pipe_writer out = coring::standard_output();
      co_await out.write_all(std::string_view("printed\n"));
      // Assigning an owned end over a borrowed one does not close descriptor 1 either.
      auto spare = coring::pipe();
      out = std::move(spare.writer);
    }
    EXPECT_TRUE(is_open_fd(STDOUT_FILENO));
    co_await writer.close();
    std::array<char, 16> buf{};
    EXPECT_EQ(co_await reader.read(buf), 8u);
    EXPECT_EQ(std::string(buf.data(), 8), "printed\n");
  }
  { coring::pipe_writer err = coring::standard_error(); }
  EXPECT_TRUE(is_open_fd(STDERR_FILENO));
}
