// coring-http under load, on loopback, bounded in time and count. The server runs as a
// child process (so its descriptors and memory can be counted from /proc); the clients
// are coring tasks in this process.
//
// Sizes: 200 keep-alive clients for 10 s and 20,000 short connections in Release; under
// ThreadSanitizer / AddressSanitizer (5-20x slower) 200 clients for 3 s and 3,000 short
// connections, so that the suite stays within minutes.
#include "http_test_support.hpp"

#include <coring/coring.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <random>

using namespace std::chrono_literals;
using coring::testing::echo_request;
using coring::testing::echo_response;
using coring::testing::get_request;
using coring::testing::hello_response;
using coring::testing::sanitized;
using coring::testing::server_process;
using clock_type = std::chrono::steady_clock;

namespace {

std::vector<std::string> server_args(std::vector<std::string> extra = {}) {
  std::vector<std::string> args{CORING_HTTP_BINARY, "--workers", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

struct tally {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> mismatches{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> connections{0};
};

void report_error(tally& t, const char* who, const std::exception& e) {
  // Only the first few are printed: one broken server would otherwise print thousands.
  if (t.errors.fetch_add(1) < 5) std::fprintf(stderr, "%s: %s\n", who, e.what());
}

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s)); }

// Sends `request`, reads exactly expected.size() bytes (within 10 s) and compares them.
coring::task<bool> exchange(coring::tcp_stream& conn, const std::string& request, const std::string& expected) {
  co_await conn.write_all(bytes_of(request));
  std::string got(expected.size(), '\0');
  co_await coring::timeout(10s, conn.read_exact(std::as_writable_bytes(std::span(got))));
  co_return got == expected;
}

// One keep-alive client: a mix of GETs, echoes of random sizes (up to `max_body` bytes)
// and pipelined bursts on one connection, until `deadline`.
coring::task<void> keep_alive_client(coring::endpoint at, clock_type::time_point deadline, unsigned seed, tally& t,
                                     std::size_t max_body = 64 * 1024) {
  try {
    auto conn = co_await coring::tcp_stream::connect(at);
    conn.set_nodelay();
    t.connections.fetch_add(1);
    std::mt19937 rng(seed);
    while (clock_type::now() < deadline) {
      std::string request, expected;
      std::uint64_t count = 1;
      switch (rng() % 8) {
        case 0: {  // an echo, its body bytes from the whole 0-255 range
          std::string body(rng() % (max_body + 1), '\0');
          for (char& c : body) c = static_cast<char>(rng());
          request = echo_request(body);
          expected = echo_response(body);
          break;
        }
        case 1:  // a pipelined burst
          count = 2 + rng() % 6;
          for (std::uint64_t i = 0; i < count; ++i) {
            request += get_request();
            expected += hello_response();
          }
          break;
        default:
          request = get_request();
          expected = hello_response();
      }
      if (!co_await exchange(conn, request, expected)) t.mismatches.fetch_add(1);
      t.requests.fetch_add(count);
    }
    co_await conn.close();
  } catch (const std::exception& e) {
    report_error(t, "keep-alive client", e);
  }
}

// Reads until the server closes (within 10 s).
coring::task<std::string> read_to_end(coring::tcp_stream& conn) {
  std::string all;
  std::array<std::byte, 4096> chunk;
  for (;;) {
    const std::size_t n = co_await coring::timeout(10s, conn.read(chunk));
    if (n == 0) co_return all;
    all.append(reinterpret_cast<const char*>(chunk.data()), n);
  }
}

// `count` short connections in a row: connect, one request with Connection: close,
// read the answer to the end.
coring::task<void> churn_client(coring::endpoint at, int count, tally& t) {
  for (int i = 0; i < count; ++i) {
    try {
      auto conn = co_await coring::tcp_stream::connect(at);
      co_await conn.write_all(bytes_of(get_request(true)));
      if (co_await read_to_end(conn) != hello_response(true)) t.mismatches.fetch_add(1);
      t.requests.fetch_add(1);
      co_await conn.close();
    } catch (const std::exception& e) {
      report_error(t, "churn client", e);
    }
  }
}

// One malformed or oversized request on its own connection; the answer must be exactly
// `expected`, followed by the server closing.
coring::task<void> bad_client(coring::endpoint at, std::string request, std::string expected, tally& t) {
  try {
    auto conn = co_await coring::tcp_stream::connect(at);
    co_await conn.write_all(bytes_of(request));
    if (co_await read_to_end(conn) != expected) t.mismatches.fetch_add(1);
    t.requests.fetch_add(1);
    co_await conn.close();
  } catch (const std::exception& e) {
    report_error(t, "bad client", e);
  }
}

std::string error_response(int status, std::string_view reason) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(reason.size() + 1) +
         "\r\nConnection: close\r\n\r\n" + std::string(reason) + "\n";
}

coring::runtime_options client_options() {
  coring::runtime_options o;
  o.workers = 2;
  return o;
}

// Waits until `pid` has at most `limit` descriptors open (connections close
// asynchronously after the client saw the end); returns the last count.
int settle_fds(pid_t pid, int limit) {
  int n = coring::testing::fd_count(pid);
  for (auto until = clock_type::now() + 5s; n > limit && clock_type::now() < until;) {
    std::this_thread::sleep_for(20ms);
    n = coring::testing::fd_count(pid);
  }
  return n;
}

}  // namespace

TEST(http_load, two_hundred_keep_alive_clients_with_zero_errors) {
  server_process server(server_args());
  const auto duration = sanitized ? 3s : 10s;
  constexpr int clients = 200;
  tally t;
  coring::runtime rt(client_options());
  const coring::endpoint at = coring::endpoint::v4("127.0.0.1", server.port);
  const auto deadline = clock_type::now() + duration;
  rt.block_on([](coring::endpoint to, clock_type::time_point until, tally& counts) -> coring::task<void> {
    std::vector<coring::task<void>> all;
    for (int i = 0; i < clients; ++i) all.push_back(keep_alive_client(to, until, 1000u + static_cast<unsigned>(i), counts));
    co_await coring::gather(std::move(all));
  }(at, deadline, t));
  std::printf("200 clients, %lld s: %llu requests (%.0f/s), %llu mismatches, %llu errors\n",
              static_cast<long long>(duration.count()), static_cast<unsigned long long>(t.requests.load()),
              static_cast<double>(t.requests.load()) / static_cast<double>(duration.count()),
              static_cast<unsigned long long>(t.mismatches.load()), static_cast<unsigned long long>(t.errors.load()));
  EXPECT_EQ(t.connections.load(), static_cast<std::uint64_t>(clients));
  EXPECT_EQ(t.errors.load(), 0u);
  EXPECT_EQ(t.mismatches.load(), 0u);
  EXPECT_GT(t.requests.load(), static_cast<std::uint64_t>(clients));
  server.process.signal(SIGTERM);
  EXPECT_EQ(server.process.wait_exit(30s), 0);
}

TEST(http_load, churn_of_short_connections_leaks_no_descriptor_or_memory) {
  server_process server(server_args());
  const int total = sanitized ? 3000 : 20000;
  constexpr int concurrent = 50;
  coring::runtime rt(client_options());
  const coring::endpoint at = coring::endpoint::v4("127.0.0.1", server.port);
  auto churn = [&](int connections, tally& t) {
    rt.block_on([](coring::endpoint to, int per_client, tally& counts) -> coring::task<void> {
      std::vector<coring::task<void>> all;
      for (int i = 0; i < concurrent; ++i) all.push_back(churn_client(to, per_client, counts));
      co_await coring::gather(std::move(all));
    }(at, connections / concurrent, t));
  };

  // A warm-up first: the allocator's and the runtime's caches fill once.
  tally warm;
  churn(total / 10, warm);
  const pid_t pid = server.process.pid();
  const int fds_before = settle_fds(pid, 0x7fffffff);
  const int fds_idle = settle_fds(pid, fds_before);
  const long rss_before = coring::testing::rss_kib(pid);

  tally t;
  churn(total, t);
  const int fds_after = settle_fds(pid, fds_idle);
  const long rss_after = coring::testing::rss_kib(pid);
  std::printf("%d connections: fds %d -> %d, RSS %ld -> %ld KiB, %llu errors\n", total, fds_idle, fds_after,
              rss_before, rss_after, static_cast<unsigned long long>(t.errors.load()));
  EXPECT_EQ(t.requests.load(), static_cast<std::uint64_t>(total));
  EXPECT_EQ(t.errors.load(), 0u);
  EXPECT_EQ(t.mismatches.load(), 0u);
  EXPECT_LE(fds_after, fds_idle) << "descriptors leaked";
  // Memory: 10x the warm-up's connections may not grow the server by more than 8 MiB
  // (a leak of even 400 bytes per connection would exceed it at 20,000). Not under the
  // sanitizers: ASan keeps freed memory in quarantine (RSS grows by design) and checks
  // leaks itself at exit (LeakSanitizer: the exit status below), TSan shadows memory.
  if (!sanitized) {
    EXPECT_LT(rss_after - rss_before, 8 * 1024) << "RSS grew from " << rss_before << " to " << rss_after << " KiB";
  }
  server.process.signal(SIGTERM);
  // Under AddressSanitizer the server's exit status also reports leaks (LeakSanitizer).
  EXPECT_EQ(server.process.wait_exit(30s), 0);
}

TEST(http_load, a_burst_of_bad_requests_gets_the_right_codes_while_others_are_served) {
  server_process server(server_args({"--max-body", "1024"}));
  const coring::endpoint at = coring::endpoint::v4("127.0.0.1", server.port);
  struct bad_case {
    std::string request;
    std::string response;
  };
  const std::vector<bad_case> cases{
      {"GET / HTTP/1.1\r\nHost: t\r\nBad Field: x\r\n\r\n", error_response(400, "Bad Request")},
      {std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11), error_response(400, "Bad Request")},
      {"GET / HTTP/1.1\nHost: t\n\n", error_response(400, "Bad Request")},
      {"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n",
       error_response(431, "Request Header Fields Too Large")},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b'),
       error_response(413, "Content Too Large")},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n", error_response(413, "Content Too Large")},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       error_response(501, "Not Implemented")},
      {"GET / HTTP/3.0\r\nHost: t\r\n\r\n", error_response(505, "HTTP Version Not Supported")},
  };
  const int bad_total = sanitized ? 400 : 2000;
  tally good, bad;
  coring::runtime rt(client_options());
  rt.block_on([](coring::endpoint to, const std::vector<bad_case>& kinds, int total, tally& g,
                 tally& b) -> coring::task<void> {
    // Well-formed keep-alive clients run through the whole burst.
    const auto until = clock_type::now() + (sanitized ? 3s : 4s);
    std::vector<coring::task<void>> good_clients;
    for (int i = 0; i < 20; ++i) good_clients.push_back(keep_alive_client(to, until, 7u + static_cast<unsigned>(i), g, 1024));
    auto serving = coring::spawn([](std::vector<coring::task<void>> clients) -> coring::task<void> {
      co_await coring::gather(std::move(clients));
    }(std::move(good_clients)));
    // The burst: 50 at a time.
    for (int start = 0; start < total; start += 50) {
      std::vector<coring::task<void>> wave;
      for (int i = start; i < start + 50 && i < total; ++i) {
        const bad_case& k = kinds[static_cast<std::size_t>(i) % kinds.size()];
        wave.push_back(bad_client(to, k.request, k.response, b));
      }
      co_await coring::gather(std::move(wave));
    }
    co_await serving;
  }(at, cases, bad_total, good, bad));
  std::printf("bad: %llu answered, %llu wrong, %llu errors; good: %llu requests, %llu wrong, %llu errors\n",
              static_cast<unsigned long long>(bad.requests.load()), static_cast<unsigned long long>(bad.mismatches.load()),
              static_cast<unsigned long long>(bad.errors.load()), static_cast<unsigned long long>(good.requests.load()),
              static_cast<unsigned long long>(good.mismatches.load()), static_cast<unsigned long long>(good.errors.load()));
  EXPECT_EQ(bad.requests.load(), static_cast<std::uint64_t>(bad_total));
  EXPECT_EQ(bad.mismatches.load(), 0u);
  EXPECT_EQ(bad.errors.load(), 0u);
  EXPECT_EQ(good.errors.load(), 0u);
  EXPECT_EQ(good.mismatches.load(), 0u);
  EXPECT_GT(good.requests.load(), 100u);
  server.process.signal(SIGTERM);
  EXPECT_EQ(server.process.wait_exit(30s), 0);
}
