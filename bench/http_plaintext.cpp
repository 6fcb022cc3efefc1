// http_plaintext: keep-alive `GET /` requests/s and latency measured by wrk (DESIGN.md §5,
// issue 9 item 7): coring's HTTP server against nginx and a thread-per-connection server.
//
// Contenders (`http_plaintext/<contender>/<connections>`):
//  - coring:          tools/http's server (one task per connection) on the harness's
//                     runtime (--workers N, default 2 on this machine);
//  - std_thread:      the same HTTP code (parser and routes) with one blocking thread per
//                     connection;
//  - nginx:           Debian's /usr/sbin/nginx (nginx-light), 2 worker processes, started
//                     by the benchmark from a configuration generated in a temporary
//                     directory and stopped after the run; it answers `GET /` with the
//                     same status, Content-Type and body as coring-http (nginx adds its
//                     Server, Date and Connection headers: ~90 bytes more per response).
//                     Skipped, with the reason, when nginx or wrk is absent.
//  - coring_1worker / nginx_1worker: at 256 connections, one server thread (a dedicated
//                     one-worker runtime / nginx with 1 worker process) pinned to CPU 0,
//                     wrk -t1 pinned to CPU 1.
//
// Load: wrk (Debian /usr/bin/wrk), keep-alive, one wrk thread (-t1) holding all C
// connections, a 1 s warm-up run, then the measured run (5 s; --quick 1 s). CPU budget:
// wrk's one thread can use at most one of the machine's CPUs, so a 2-worker server always
// has at least one CPU to itself and shares the other with the generator (unpinned: the
// kernel places both). In the pinned cases the server and wrk have one CPU each.
//
// Answers: before the load every server must answer one `GET /` with `HTTP/1.1 200` and the
// body `Hello, World!` (checked byte for byte here); during the load wrk's Lua `done` hook
// reports socket errors and non-2xx responses, and any of either fails the run.
//
// Counters: requests_per_s, p50_us, p99_us, p999_us (wrk's latency histogram: from a
// request's send to its response), connections, requests, errors. The benchmark time
// (manual) is the measured run's duration; the report judges the family by
// 1 s / requests_per_s.
//
// The server is compiled from its sources here, because each benchmark binary is built
// from its one source file (bench/CMakeLists.txt); the coring-http program and the tests
// build the same files as a library.
#include "../tools/http/parser.cpp"
#include "../tools/http/server.cpp"
#include "harness.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace {

namespace cb = coring::bench;
namespace http = coring::http;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* nginx_path = "/usr/sbin/nginx";
constexpr const char* wrk_path = "/usr/bin/wrk";
constexpr std::string_view hello_body = "Hello, World!";

bool executable(const char* path) { return ::access(path, X_OK) == 0; }

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::system_category(), what);
}

// A fresh temporary directory, removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir() {
    std::string templ = (fs::temp_directory_path() / "coring-bench-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw_errno("mkdtemp");
    path_ = templ;
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

// A child process: argv[0] is the program, run with its CPU affinity set to `cpu` if
// given. stdout (and stderr) go to `output` when not empty.
pid_t spawn_process(const std::vector<std::string>& argv, std::optional<int> cpu, const fs::path& output) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    // nginx and wrk must not outlive a benchmark that dies (the forking thread is the
    // benchmark's main thread, which lives as long as the process).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (cpu) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(*cpu, &set);
      if (::sched_setaffinity(0, sizeof set, &set) != 0) ::_exit(126);
    }
    if (!output.empty()) {
      const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) ::_exit(126);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int wait_process(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A port that was free a moment ago (bound and released), for nginx's listen directive.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw_errno("free_port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One `GET /` on a fresh connection; returns the whole response (the server closes after
// it: `Connection: close`), or throws if it cannot connect within `patience`.
std::string get_once(std::uint16_t port, clock_type::duration patience) {
  const auto give_up = clock_type::now() + patience;
  for (;;) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      constexpr std::string_view req = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
      std::string got;
      if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
        char buf[4096];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
      }
      ::close(fd);
      return got;
    }
    ::close(fd);
    if (clock_type::now() > give_up) throw std::runtime_error("no server listening on port " + std::to_string(port));
    std::this_thread::sleep_for(10ms);
  }
}

// The answer check every contender passes before it is measured: status 200 and the body.
void check_answer(std::uint16_t port) {
  const std::string got = get_once(port, 5s);
  const std::size_t body = got.find("\r\n\r\n");
  if (!got.starts_with("HTTP/1.1 200 ") || body == std::string::npos ||
      std::string_view(got).substr(body + 4) != hello_body) {
    throw std::runtime_error("GET / answered " + (got.empty() ? std::string("nothing") : "'" + got + "'"));
  }
}

// --- the std::thread contender: one blocking thread per connection ---

class thread_per_connection_server {
 public:
  thread_per_connection_server() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(listener_, 1024) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::system_error(errno, std::system_category(), "thread server: bind/listen");
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  thread_per_connection_server(const thread_per_connection_server&) = delete;
  thread_per_connection_server& operator=(const thread_per_connection_server&) = delete;

  // Stops accepting, wakes every connection thread (shutdown makes blocked calls
  // return) and joins them all.
  ~thread_per_connection_server() {
    stopping_.store(true);
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard hold(mutex_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& t : threads_) t.join();
    ::close(listener_);
  }

  std::uint16_t port() const noexcept { return port_; }

 private:
  void accept_loop() {
    while (!stopping_.load()) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_.load()) return;
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard hold(mutex_);
      open_.push_back(fd);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // The same loop as coring's session(), with blocking calls: read, answer every
  // complete request, write all answers at once.
  void serve(int fd) {
    std::string in;
    std::string out;
    http::request req;
    const http::parser_limits limits;
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      in.append(chunk, static_cast<std::size_t>(n));
      std::size_t used = 0;
      bool close = false;
      for (;;) {
        const http::parse_result r = http::parse_request(std::string_view(in).substr(used), limits, req);
        if (r.status == http::parse_status::error) {
          http::append_error(out, r.error);
          close = true;
          break;
        }
        if (r.status != http::parse_status::complete) break;
        http::respond(req, req.keep_alive, false, out);
        used += r.consumed;
        if (!req.keep_alive) {
          close = true;
          break;
        }
      }
      in.erase(0, used);
      for (std::string_view left = out; !left.empty();) {
        const ssize_t w = ::send(fd, left.data(), left.size(), MSG_NOSIGNAL);
        if (w <= 0) {
          close = true;
          break;
        }
        left.remove_prefix(static_cast<std::size_t>(w));
      }
      out.clear();
      if (close) break;
    }
    std::lock_guard hold(mutex_);
    open_.erase(std::find(open_.begin(), open_.end(), fd));
    ::close(fd);
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mutex_;  // guards the two vectors
  std::vector<int> open_;
  std::vector<std::thread> threads_;
};

// --- the coring contender: tools/http's server on a runtime ---

class coring_server {
 public:
  explicit coring_server(coring::runtime& rt) {
    server_ = std::make_unique<http::server>(coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0)),
                                             http::server_options{});
    port_ = server_->local_endpoint().port();
    running_ = rt.spawn(server_->run());
  }
  coring_server(const coring_server&) = delete;
  coring_server& operator=(const coring_server&) = delete;
  ~coring_server() {
    server_->stop();
    running_.get();
  }
  std::uint16_t port() const noexcept { return port_; }

 private:
  std::unique_ptr<http::server> server_;
  std::uint16_t port_ = 0;
  coring::join_handle<void> running_;
};

// The one-worker runtime of coring_1worker, pinned to CPU 0 (built on first use, kept for
// the process: a runtime per repetition would measure start-up).
coring::runtime& pinned_runtime() {
  static coring::runtime rt([] {
    coring::runtime_options o;
    o.workers = 1;
    o.compute_threads = 1;
    o.pin = std::vector<unsigned>{0};
    return o;
  }());
  return rt;
}

// --- the nginx contender ---

// nginx in the foreground (`daemon off`, master + `workers` worker processes), its whole
// prefix (configuration, pid, logs, temp paths) in a temporary directory. The master runs
// with its affinity set to `cpu` when given (the workers inherit it).
class nginx_server {
 public:
  nginx_server(unsigned workers, std::optional<int> cpu) : port_(free_port()) {
    const fs::path& d = dir_.path();
    std::ofstream conf(d / "nginx.conf");
    conf << "worker_processes " << workers << ";\n"
         << "daemon off;\n"
         << "pid " << (d / "nginx.pid").string() << ";\n"
         << "error_log " << (d / "error.log").string() << " warn;\n"
         << "worker_rlimit_nofile 8192;\n"
         << "events { worker_connections 4096; }\n"
         << "http {\n"
         << "  access_log off;\n"
         << "  server_tokens off;\n"
         << "  keepalive_requests 100000000;\n"
         << "  keepalive_timeout 300s;\n"
         << "  client_body_temp_path " << (d / "body").string() << ";\n"
         << "  proxy_temp_path " << (d / "proxy").string() << ";\n"
         << "  fastcgi_temp_path " << (d / "fastcgi").string() << ";\n"
         << "  uwsgi_temp_path " << (d / "uwsgi").string() << ";\n"
         << "  scgi_temp_path " << (d / "scgi").string() << ";\n"
         << "  server {\n"
         << "    listen 127.0.0.1:" << port_ << " backlog=4096;\n"
         << "    location = / { default_type text/plain; return 200 \"" << hello_body << "\"; }\n"
         << "  }\n"
         << "}\n";
    conf.close();
    pid_ = spawn_process({nginx_path, "-e", (d / "error.log").string(), "-p", d.string(), "-c",
                          (d / "nginx.conf").string()},
                         cpu, d / "stdout.log");
    try {
      check_answer(port_);
    } catch (...) {
      stop();
      throw std::runtime_error("nginx did not start: " + read_file(d / "error.log") + read_file(d / "stdout.log"));
    }
  }
  nginx_server(const nginx_server&) = delete;
  nginx_server& operator=(const nginx_server&) = delete;
  ~nginx_server() { stop(); }
  std::uint16_t port() const noexcept { return port_; }

 private:
  // SIGTERM: nginx's fast shutdown (the master stops its workers and exits).
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    wait_process(pid_);
    pid_ = -1;
  }

  temp_dir dir_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

// --- the load: wrk ---

// wrk's Lua `done` hook prints one line the benchmark parses: the measured requests, the
// run's duration, every error class, and the latency percentiles (wrk keeps a full
// histogram in µs; `--latency` would print only 50/75/90/99).
constexpr std::string_view wrk_script = R"(done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("CORING_WRK %d %d %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
)";

struct wrk_result {
  double requests = 0;
  double seconds = 0;
  double errors = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
};

wrk_result run_wrk(std::uint16_t port, int connections, std::chrono::seconds duration, std::optional<int> cpu) {
  temp_dir dir;
  const fs::path script = dir.path() / "report.lua";
  std::ofstream(script) << wrk_script;
  const fs::path out = dir.path() / "wrk.out";
  const pid_t pid = spawn_process({wrk_path, "-t1", "-c" + std::to_string(connections),
                                   "-d" + std::to_string(duration.count()) + "s", "--timeout", "10s", "-s",
                                   script.string(), "http://127.0.0.1:" + std::to_string(port) + "/"},
                                  cpu, out);
  const int status = wait_process(pid);
  const std::string text = read_file(out);
  const std::size_t at = text.find("CORING_WRK ");
  if (status != 0 || at == std::string::npos) {
    throw std::runtime_error("wrk failed (status " + std::to_string(status) + "): " + text);
  }
  std::istringstream line(text.substr(at + 11));
  double requests, duration_us, connect, read, write, non2xx, timeout, p50, p99, p999;
  if (!(line >> requests >> duration_us >> connect >> read >> write >> non2xx >> timeout >> p50 >> p99 >> p999)) {
    throw std::runtime_error("cannot parse wrk's report: " + text);
  }
  return {requests, duration_us / 1e6, connect + read + write + non2xx + timeout, p50, p99, p999};
}

// --- the benchmarks ---

struct load_case {
  int connections;
  std::optional<int> wrk_cpu;  // pinned cases: wrk on CPU 1
};

template <class MakeServer>
void bench_server(benchmark::State& state, load_case load, MakeServer make_server) {
  if (!executable(wrk_path)) {
    state.SkipWithError("not run: wrk not installed (/usr/bin/wrk; tools/setup installs it)");
    return;
  }
  const auto measured = cb::quick() ? 1s : 5s;
  wrk_result last;
  for (auto _ : state) {
    try {
      auto server = make_server();
      check_answer(server->port());
      run_wrk(server->port(), load.connections, 1s, load.wrk_cpu);  // warm-up
      last = run_wrk(server->port(), load.connections, measured, load.wrk_cpu);
    } catch (const std::exception& e) {
      cb::fail(state, std::string("the job threw: ") + e.what());
      return;
    }
    if (last.errors != 0 || last.requests <= 0 || last.seconds <= 0) {
      cb::fail(state, std::to_string(static_cast<long long>(last.errors)) +
                          " socket errors or non-2xx responses (wrk), requests " +
                          std::to_string(static_cast<long long>(last.requests)));
      return;
    }
    state.SetIterationTime(last.seconds);
  }
  state.counters["requests_per_s"] = benchmark::Counter(last.requests / last.seconds);
  state.counters["p50_us"] = benchmark::Counter(last.p50_us);
  state.counters["p99_us"] = benchmark::Counter(last.p99_us);
  state.counters["p999_us"] = benchmark::Counter(last.p999_us);
  state.counters["connections"] = benchmark::Counter(load.connections);
  state.counters["requests"] = benchmark::Counter(last.requests);
  state.counters["errors"] = benchmark::Counter(last.errors);
}

// `<family>/<contender>/<connections>`, timed manually: the time is that of the measured
// wrk run, not of the server's start and the warm-up.
template <class MakeServer>
void add_http(std::string_view contender, load_case load, unsigned server_threads, MakeServer make_server) {
  cb::add_manual("http_plaintext", contender, std::to_string(load.connections),
                 [load, server_threads, make_server](benchmark::State& state) {
                   if (std::string_view(make_server.skip_reason()).size() != 0) {
                     state.SkipWithError(make_server.skip_reason());
                     return;
                   }
                   bench_server(state, load, [&] { return make_server(); });
                   cb::report_threads(state, server_threads);
                 });
}

// Server factories: skip_reason() is empty when the contender can run.
struct make_coring {
  std::unique_ptr<coring_server> operator()() const { return std::make_unique<coring_server>(cb::shared_runtime()); }
  const char* skip_reason() const { return ""; }
};
struct make_coring_pinned {
  std::unique_ptr<coring_server> operator()() const { return std::make_unique<coring_server>(pinned_runtime()); }
  const char* skip_reason() const {
    return std::thread::hardware_concurrency() < 2 ? "not run: the pinned case needs CPUs 0 and 1" : "";
  }
};
struct make_threads {
  std::unique_ptr<thread_per_connection_server> operator()() const {
    return std::make_unique<thread_per_connection_server>();
  }
  const char* skip_reason() const { return ""; }
};
struct make_nginx {
  unsigned workers;
  std::optional<int> cpu;
  std::unique_ptr<nginx_server> operator()() const { return std::make_unique<nginx_server>(workers, cpu); }
  const char* skip_reason() const {
    if (!executable(nginx_path)) return "not run: nginx not installed (/usr/sbin/nginx, Debian nginx-light)";
    if (cpu && std::thread::hardware_concurrency() < 2) return "not run: the pinned case needs CPUs 0 and 1";
    return "";
  }
};

}  // namespace

void coring::bench::register_benchmarks() {
  const unsigned t = threads();
  const std::vector<int> sizes = quick() ? std::vector<int>{64} : std::vector<int>{64, 256, 1024};
  for (int connections : sizes) {
    add_http("coring", {connections, {}}, t, make_coring{});
    add_http("nginx", {connections, {}}, 2, make_nginx{2, {}});
    add_http("std_thread", {connections, {}}, static_cast<unsigned>(connections) + 1, make_threads{});
  }
  // One server thread pinned to CPU 0 beside wrk -t1 pinned to CPU 1.
  add_http("coring_1worker", {256, 1}, 1, make_coring_pinned{});
  add_http("nginx_1worker", {256, 1}, 1, make_nginx{1, 0});
}
