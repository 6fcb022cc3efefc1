// Helpers for the tests that run a server program as a child process (tests/http and
// tests/examples): start it, read its "listening on HOST:PORT" line, signal it, wait for
// its exit, count its descriptors, and talk to it over plain blocking sockets.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace coring::testing {

// Sanitizer builds run the load tests at a reduced size (they are 5-20x slower).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

[[noreturn]] inline void throw_errno(const char* what) { throw std::system_error(errno, std::system_category(), what); }

// A program run with posix_spawn (safe in a process that already has threads), its
// stdout on a pipe. The destructor kills it (SIGKILL) if it is still running.
class child_process {
 public:
  // `with_stderr`: the child's stderr goes to the same pipe as its stdout.
  explicit child_process(const std::vector<std::string>& argv, bool with_stderr = false) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    if (with_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      throw std::system_error(rc, std::system_category(), "posix_spawn " + argv[0]);
    }
    out_ = fds[0];
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    ::close(out_);
  }

  pid_t pid() const noexcept { return pid_; }
  void signal(int signo) const { ::kill(pid_, signo); }

  // The next line of the child's stdout (without '\n'); nullopt on timeout or end.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const std::size_t nl = buffered_.find('\n'); nl != std::string::npos) {
        std::string line = buffered_.substr(0, nl);
        buffered_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffered_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // Everything the child writes to stdout until it closes it (or the timeout).
  std::string read_all(std::chrono::milliseconds timeout) {
    std::string all;
    while (auto line = read_line(timeout)) all += *line + "\n";
    all += std::exchange(buffered_, {});
    return all;
  }

  // The exit status (WEXITSTATUS, or 128 + signal) once it exits within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  std::string buffered_;
};

// The port of a "listening on HOST:PORT" line; 0 if the line is not one.
inline std::uint16_t port_of(const std::string& line) {
  if (line.rfind("listening on ", 0) != 0) return 0;
  const std::size_t colon = line.rfind(':');
  return colon == std::string::npos ? 0 : static_cast<std::uint16_t>(std::atoi(line.c_str() + colon + 1));
}

// A server program started with `args` (its binary first) plus `--port 0`, and the port
// it reported.
struct server_process {
  child_process process;
  std::uint16_t port = 0;

  static std::vector<std::string> with_port_zero(std::vector<std::string> args) {
    args.insert(args.end(), {"--port", "0"});
    return args;
  }

  explicit server_process(const std::vector<std::string>& args, bool with_stderr = false)
      : process(with_port_zero(args), with_stderr) {
    const auto line = process.read_line(std::chrono::seconds(30));
    if (!line || (port = port_of(*line)) == 0) {
      throw std::runtime_error("the server did not print 'listening on HOST:PORT' (got '" + line.value_or("") + "')");
    }
  }
};

// Open descriptors of process `pid` (entries of /proc/<pid>/fd).
inline int fd_count(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

// Resident memory of process `pid` in KiB (VmRSS); 0 if unknown.
inline long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// A blocking TCP client socket to 127.0.0.1:port with a receive timeout.
class blocking_client {
 public:
  explicit blocking_client(std::uint16_t port, std::chrono::milliseconds recv_timeout = std::chrono::seconds(10)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw_errno("socket");
    timeval tv{};
    tv.tv_sec = recv_timeout.count() / 1000;
    tv.tv_usec = (recv_timeout.count() % 1000) * 1000;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int e = errno;
      ::close(fd_);
      throw std::system_error(e, std::system_category(), "connect");
    }
  }
  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;
  ~blocking_client() { ::close(fd_); }

  void send(std::string_view data) const {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) throw_errno("send");
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Exactly n bytes, or fewer if the peer closes or the receive timeout passes.
  std::string receive(std::size_t n) const {
    std::string got(n, '\0');
    std::size_t have = 0;
    while (have < n) {
      const ssize_t r = ::recv(fd_, got.data() + have, n - have, 0);
      if (r <= 0) break;
      have += static_cast<std::size_t>(r);
    }
    got.resize(have);
    return got;
  }
  // Everything until the peer closes (or the receive timeout passes). `closed` tells.
  std::string receive_all(bool* closed = nullptr) const {
    std::string got;
    char chunk[4096];
    for (;;) {
      const ssize_t r = ::recv(fd_, chunk, sizeof chunk, 0);
      if (r <= 0) {
        if (closed != nullptr) *closed = r == 0 || errno == ECONNRESET;
        return got;
      }
      got.append(chunk, static_cast<std::size_t>(r));
    }
  }
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

// What the server answers to the plaintext and echo routes.
inline std::string hello_response(bool close = false) {
  return std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n") +
         (close ? "Connection: close\r\n" : "") + "\r\nHello, World!";
}
inline std::string echo_response(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}
inline std::string get_request(bool close = false) {
  return std::string("GET / HTTP/1.1\r\nHost: test\r\n") + (close ? "Connection: close\r\n" : "") + "\r\n";
}
inline std::string echo_request(std::string_view body) {
  return "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

}  // namespace coring::testing
