// http_plaintext: keep-alive `GET /` requests/s and latency at 64 and 256 connections
// (DESIGN.md §5), coring's HTTP server against a thread-per-connection std::thread server
// in the same process and run.
//
// Both servers are the same HTTP code (tools/http: the parser and the routes, compiled
// into this binary below) and differ only in how connections are multiplexed: coring's
// server (tools/http/server.cpp) runs one task per connection on the harness's runtime
// (--workers N), the std::thread server one blocking thread per connection. The load
// generator is shared and belongs to neither: C keep-alive connections spread over N
// threads that each run an epoll loop (wrk's design), one request outstanding per
// connection (a closed loop), every response checked byte for byte.
//
// One job: start the server, connect, warm up (300 ms), then answer a fixed number of
// requests (200,000; --quick 20,000). The benchmark time is the time those requests took
// (manual time: server start-up and warm-up excluded), so coring/std_thread in the
// report is the inverse of the throughput ratio. Counters: requests_per_s, p50_us and
// p99_us (latency of each measured request, from its send to the last byte of its
// answer), connections, requests. A wrong, missing or failed response fails the run.
//
// The server is compiled from its sources here, because each benchmark binary is built
// from its one source file (bench/CMakeLists.txt); the coring-http program and the tests
// build the same files as a library.
#include "../tools/http/parser.cpp"
#include "../tools/http/server.cpp"
#include "harness.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>

namespace {

namespace cb = coring::bench;
namespace http = coring::http;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view request_text = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
constexpr std::string_view response_text =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

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

// --- the coring contender: tools/http's server on the harness's runtime ---

class coring_server {
 public:
  coring_server() {
    server_ = std::make_unique<http::server>(coring::tcp_listener::bind(coring::endpoint::v4("127.0.0.1", 0)),
                                             http::server_options{});
    port_ = server_->local_endpoint().port();
    running_ = cb::shared_runtime().spawn(server_->run());
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

// --- the load generator ---
//
// Neutral on purpose: wrk's design (an epoll loop per thread, each thread owning an equal
// share of the connections), not coring, so that the generator's own scheduling does not
// favour either server. Each connection has one request outstanding; a response is
// complete when response_text.size() bytes have arrived (every one is compared).

struct load_summary {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  double seconds = 0;
  double p50_us = 0;
  double p99_us = 0;
};

struct load_connection {
  int fd = -1;
  std::size_t have = 0;  // bytes of the current response received
  clock_type::time_point sent;
  std::array<char, response_text.size()> got{};
};

// What the generator threads share: the measured requests still to be answered, and
// when the last of them was.
struct load_budget {
  std::atomic<std::int64_t> left{0};
  std::atomic<std::int64_t> finished_ns{0};  // steady_clock time of the last measured answer
};

// One generator thread: opens `count` connections to `port`, then runs the closed loop
// until the budget is spent. Requests sent from `start` on are measured: each takes one
// unit of the budget and records its latency.
void generator_thread(std::uint16_t port, int count, clock_type::time_point start, load_budget& budget,
                      std::vector<std::uint32_t>& latencies, std::uint64_t& errors) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<load_connection> conns(static_cast<std::size_t>(count));
  auto send_request = [&](load_connection& c) {
    c.have = 0;
    c.sent = clock_type::now();
    // A short send of 30 bytes into an empty socket buffer means the server is gone.
    if (::send(c.fd, request_text.data(), request_text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request_text.size())) {
      ++errors;
    }
  };
  for (std::size_t i = 0; i < conns.size(); ++i) {
    load_connection& c = conns[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ++errors;
      ::close(c.fd);
      c.fd = -1;
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }
  for (load_connection& c : conns) {
    if (c.fd >= 0) send_request(c);
  }
  std::array<epoll_event, 256> events;
  auto last_progress = clock_type::now();
  // relaxed: the budget only needs to be seen eventually; join() publishes the results.
  while (budget.left.load(std::memory_order_relaxed) > 0) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    if (n <= 0 && clock_type::now() - last_progress > 10s) {
      ++errors;  // a stalled server: fail instead of hanging
      break;
    }
    for (int k = 0; k < n; ++k) {
      load_connection& c = conns[events[static_cast<std::size_t>(k)].data.u64];
      const ssize_t r = ::recv(c.fd, c.got.data() + c.have, c.got.size() - c.have, MSG_DONTWAIT);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        ++errors;
        ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        continue;
      }
      c.have += static_cast<std::size_t>(r);
      if (c.have < c.got.size()) continue;
      const auto done = clock_type::now();
      last_progress = done;
      if (std::string_view(c.got.data(), c.got.size()) != response_text) ++errors;
      if (c.sent >= start) {
        const std::int64_t before = budget.left.fetch_sub(1, std::memory_order_relaxed);
        if (before <= 0) continue;  // over budget: the run is over
        latencies.push_back(static_cast<std::uint32_t>(
            std::min<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(done - c.sent).count(),
                                   std::numeric_limits<std::uint32_t>::max())));
        if (before == 1) budget.finished_ns.store(done.time_since_epoch().count(), std::memory_order_relaxed);
      }
      send_request(c);
    }
  }
  for (load_connection& c : conns) {
    if (c.fd >= 0) ::close(c.fd);
  }
  ::close(ep);
}

// `requests` measured requests, after a warm-up, over `connections` keep-alive
// connections spread over threads() generator threads.
load_summary run_load(std::uint16_t port, int connections, std::int64_t requests) {
  const auto warmup = cb::quick() ? 100ms : 300ms;
  const auto start = clock_type::now() + warmup;
  load_budget budget;
  budget.left.store(requests);
  const unsigned threads = std::max(1u, cb::threads());
  std::vector<std::vector<std::uint32_t>> latencies(threads);
  std::vector<std::uint64_t> errors(threads, 0);
  std::vector<std::thread> generators;
  for (unsigned t = 0; t < threads; ++t) {
    const int share = connections / static_cast<int>(threads) + (t < connections % threads ? 1 : 0);
    latencies[t].reserve(static_cast<std::size_t>(requests));
    generators.emplace_back(generator_thread, port, share, start, std::ref(budget), std::ref(latencies[t]),
                            std::ref(errors[t]));
  }
  for (std::thread& g : generators) g.join();

  load_summary s;
  std::vector<std::uint32_t> all;
  for (unsigned t = 0; t < threads; ++t) {
    s.errors += errors[t];
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
  }
  s.requests = all.size();
  const clock_type::time_point finished{clock_type::duration(budget.finished_ns.load())};
  s.seconds = std::chrono::duration<double>(finished - start).count();
  if (static_cast<std::int64_t>(all.size()) != requests || s.seconds <= 0) ++s.errors;
  if (!all.empty()) {
    auto at_quantile = [&](double q) {
      const std::size_t k = std::min(all.size() - 1, static_cast<std::size_t>(q * static_cast<double>(all.size())));
      std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
      return static_cast<double>(all[k]) / 1000.0;
    };
    s.p50_us = at_quantile(0.50);
    s.p99_us = at_quantile(0.99);
  }
  return s;
}

template <class Server>
void bench_server(benchmark::State& state, int connections) {
  const std::int64_t requests = cb::quick() ? 20'000 : 200'000;
  load_summary last;
  for (auto _ : state) {
    try {
      Server server;
      last = run_load(server.port(), connections, requests);
    } catch (const std::exception& e) {
      cb::fail(state, std::string("the job threw: ") + e.what());
      return;
    }
    state.SetIterationTime(last.seconds);
  }
  if (last.errors != 0) {
    cb::fail(state, std::to_string(last.errors) + " wrong or failed responses");
    return;
  }
  state.counters["requests_per_s"] = benchmark::Counter(static_cast<double>(last.requests) / last.seconds);
  state.counters["p50_us"] = benchmark::Counter(last.p50_us);
  state.counters["p99_us"] = benchmark::Counter(last.p99_us);
  state.counters["connections"] = benchmark::Counter(connections);
  state.counters["requests"] = benchmark::Counter(static_cast<double>(last.requests));
  cb::report_threads(state, cb::threads());
}

// Registered like harness::add() does (`<family>/<contender>/<size>`, ms, one iteration
// per repetition) but timed manually: the time is that of the measured requests, not of
// the server's start and the warm-up. (add() also checks the family against the table in
// harness.cpp, which does not list http_plaintext.)
void add_http(std::string_view contender, int connections, void (*fn)(benchmark::State&, int)) {
  const std::string name = "http_plaintext/" + std::string(contender) + "/" + std::to_string(connections);
  benchmark::RegisterBenchmark(name.c_str(), [fn, connections](benchmark::State& state) { fn(state, connections); })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
}

}  // namespace

void coring::bench::register_benchmarks() {
  for (int connections : {64, 256}) {
    add_http("coring", connections, &bench_server<coring_server>);
    add_http("std_thread", connections, &bench_server<thread_per_connection_server>);
  }
}
