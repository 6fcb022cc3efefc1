// Fetching several URLs at once with gather (asyncio + aiohttp's classic example), each
// with its own timeout:
//
//   async def fetch(session, url):                 coring::task<std::size_t> fetch(url u) {
//       async with session.get(url) as r:              auto conn = co_await tcp_stream::connect(...);
//           return len(await r.read())                 ... co_return body.size();
//                                                  }
//   async with asyncio.timeout(t):                 co_await coring::timeout(t, fetch(u));
//   await asyncio.gather(*(fetch(s, u) ...))       co_await coring::gather(std::move(fetches));
//
//   http_fetch [--timeout-ms MS] URL...      fetch URLs (http://host[:port]/path) from a
//                                            running server, e.g. tools/http's coring-http
//   http_fetch [--second-ms N]               demo: starts coring's HTTP server in-process
//                                            and fetches URLs that take 1, 2 and 3 s and
//                                            one that takes 10 s (timeout 4 s)
//
// Prints each URL with its body size (or why it failed) and its time, then the total:
// about the slowest request, not the sum, because the requests run concurrently.
#include "server.hpp"
#include "tutorial.hpp"

#include <coring/coring.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct url {
  std::string text;
  std::string host;
  std::uint16_t port = 80;
  std::string target;
};

// http://host[:port][/path]; nullopt for anything else (no https, no userinfo).
std::optional<url> parse_url(const std::string& text) {
  constexpr std::string_view scheme = "http://";
  if (text.rfind(scheme, 0) != 0) return std::nullopt;
  url u;
  u.text = text;
  const std::string rest = text.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const std::size_t colon = authority.rfind(':');
  u.host = authority.substr(0, colon);
  if (colon != std::string::npos) {
    const long port = std::strtol(authority.c_str() + colon + 1, nullptr, 10);
    if (port <= 0 || port > 65535) return std::nullopt;
    u.port = static_cast<std::uint16_t>(port);
  }
  if (u.host.empty()) return std::nullopt;
  return u;
}

// GET `u` and yield the size of the body. Throws std::system_error for I/O errors and
// std::runtime_error for a response that is not a 200 with a Content-Length.
coring::task<std::size_t> fetch(const url& u) {
  auto conn = co_await coring::tcp_stream::connect(u.host, u.port);
  const std::string request = "GET " + u.target + " HTTP/1.1\r\nHost: " + u.host + ":" + std::to_string(u.port) +
                              "\r\nConnection: close\r\n\r\n";
  co_await conn.write_all(std::as_bytes(std::span(request)));
  coring::buffered_reader in(conn);
  const std::string status = co_await in.read_line(8192);
  if (status.rfind("HTTP/1.1 200 ", 0) != 0 && status.rfind("HTTP/1.0 200 ", 0) != 0) {
    throw std::runtime_error("status " + status.substr(0, status.find('\r')));
  }
  std::optional<std::size_t> length;
  for (std::string line; (line = co_await in.read_line(8192)) != "\r\n";) {
    if (line.empty()) throw std::runtime_error("the connection closed inside the head");
    if (coring::http::iequals(line.substr(0, 15), "content-length:")) length = std::stoul(line.substr(15));
  }
  if (!length) throw std::runtime_error("no Content-Length");
  std::vector<std::byte> body(*length);
  co_await in.read_exact(body);
  co_return body.size();
}

struct outcome {
  std::string what;  // "1234 bytes" or the failure
  double seconds = 0;
};

coring::task<outcome> timed_fetch(url u, std::chrono::milliseconds limit, std::chrono::milliseconds second) {
  const auto start = clock_type::now();
  outcome o;
  try {
    o.what = std::to_string(co_await coring::timeout(limit, fetch(u))) + " bytes";
  } catch (const coring::timed_out&) {
    o.what = "timed out";
  } catch (const std::exception& e) {
    o.what = std::string("failed: ") + e.what();
  }
  o.seconds = coring::examples::in_seconds(clock_type::now() - start, second);
  co_return o;
}

coring::task<void> fetch_all(std::vector<url> urls, std::chrono::milliseconds limit,
                             std::chrono::milliseconds second) {
  const auto start = clock_type::now();
  std::vector<coring::task<outcome>> fetches;
  for (const url& u : urls) fetches.push_back(timed_fetch(u, limit, second));
  const std::vector<outcome> results = co_await coring::gather(std::move(fetches));
  double sum = 0;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    std::printf("%-50s %-16s %5.2f s\n", urls[i].text.c_str(), results[i].what.c_str(), results[i].seconds);
    sum += results[i].seconds;
  }
  std::printf("total %.2f s for %zu URLs (one after another: %.2f s)\n",
              coring::examples::in_seconds(clock_type::now() - start, second), urls.size(), sum);
}

// The demo: coring's own HTTP server on a free port, with the /delay route.
coring::task<void> demo(std::chrono::milliseconds second) {
  coring::http::server_options options;
  options.debug_routes = true;
  coring::http::server server(coring::tcp_listener::bind("127.0.0.1", 0), options);
  auto serving = coring::spawn(server.run());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.local_endpoint().port());
  auto delayed = [&](int seconds, int size) {
    return *parse_url(base + "/delay?ms=" + std::to_string(seconds * second.count()) + "&size=" + std::to_string(size));
  };
  std::vector<url> urls{*parse_url(base + "/"), delayed(1, 1000), delayed(2, 20000), delayed(3, 300000),
                        delayed(10, 10)};
  std::printf("fetching %zu URLs at once, each with a timeout of 4 s\n", urls.size());
  co_await fetch_all(std::move(urls), 4 * second, second);
  server.stop();
  co_await serving;
}

}  // namespace

int main(int argc, char** argv) {
  const std::chrono::milliseconds second = coring::examples::tutorial_second(argc, argv);
  std::chrono::milliseconds limit{10'000};
  std::vector<url> urls;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--timeout-ms" || arg == "--second-ms") && i + 1 < argc) {
      if (arg == "--timeout-ms") limit = std::chrono::milliseconds(std::strtol(argv[i + 1], nullptr, 10));
      ++i;
    } else if (auto u = parse_url(arg)) {
      urls.push_back(*u);
    } else {
      std::fprintf(stderr, "usage: http_fetch [--timeout-ms MS] [--second-ms N] [http://host[:port]/path ...]\n");
      return 2;
    }
  }
  if (urls.empty()) {
    coring::run(demo(second));
  } else {
    coring::run(fetch_all(std::move(urls), limit, std::chrono::milliseconds(1000)));
  }
}
