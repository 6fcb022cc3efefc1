// An accept loop survives descriptor exhaustion (EMFILE): it backs off, logs once, and
// accepts once descriptors are free again. Runs in a forked child with a lowered
// RLIMIT_NOFILE so the test process itself is never starved.
#include "io_test.hpp"

#include <coring/io/net.hpp>
#include <coring/io/timer.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

using namespace std::chrono_literals;

namespace {
coring::task<int> child_body() {
  auto listener = coring::tcp_listener::bind("127.0.0.1", 0);
  // The client connects synchronously first: the kernel completes the handshake into the
  // backlog, so only accept still needs a descriptor.
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto at = listener.local_endpoint();
  if (client < 0 || ::connect(client, at.data(), at.size()) < 0) co_return 10;
  std::vector<int> hoard;
  bool exhausted = false;
  // Hoards every descriptor, then accepts: accept meets EMFILE and backs off.
  auto acceptor = [&]() -> coring::task<coring::tcp_stream> {
    for (int fd; (fd = ::dup(0)) >= 0;) hoard.push_back(fd);
    exhausted = errno == EMFILE;
    co_return co_await listener.accept();
  };
  auto release_later = [&]() -> coring::task<void> {
    co_await coring::sleep(50ms);  // accept has hit EMFILE by now
    ::close(hoard.back());
    hoard.pop_back();
  };
  auto [conn, unused] = co_await coring::gather(acceptor(), release_later());
  (void)unused;
  for (int fd : hoard) ::close(fd);
  if (!exhausted) co_return 11;
  co_return conn.is_open() ? 0 : 12;
}
}  // namespace

TEST(fd_exhaustion, accept_backs_off_and_recovers) {
  {
    std::string why;
    if (!coring::testing::make_io_context(why)) GTEST_SKIP() << why;
  }
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 20;
    try {
      rlimit lim{64, 64};
      ::setrlimit(RLIMIT_NOFILE, &lim);
      coring::io_context ctx;
      code = ctx.run(child_body());
    } catch (...) {
      code = 21;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
