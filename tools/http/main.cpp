// coring-http: the HTTP/1.1 server of tools/http/server.hpp as a program.
//
//   coring-http [--port N] [--host ADDR] [--workers N] [--max-body BYTES]
//               [--max-connections N] [--idle-timeout-ms MS] [--header-timeout-ms MS]
//               [--shutdown-timeout-ms MS] [--body-timeout-ms MS] [--max-body-memory BYTES]
//               [--debug-routes]
//
// Prints "listening on HOST:PORT" on stdout once it accepts (with --port 0, the port the
// kernel chose), then serves until SIGINT or SIGTERM, drains (at most
// --shutdown-timeout-ms, default 5000, plus a few ms of unwinding) and exits 0. A second
// SIGINT or SIGTERM during the drain exits at once with status 1. Exit status 2 for a bad
// option, 1 if the address cannot be bound.
#include "server.hpp"

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

struct cli_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  unsigned workers = 0;  // 0: coring's default (CORING_WORKERS, else the CPUs)
  coring::http::server_options server;
};

[[noreturn]] void usage(const char* problem) {
  if (problem != nullptr) std::fprintf(stderr, "coring-http: %s\n", problem);
  std::fprintf(problem != nullptr ? stderr : stdout,
               "usage: coring-http [--port N] [--host ADDR] [--workers N] [--max-body BYTES]\n"
               "                   [--max-connections N] [--idle-timeout-ms MS] [--header-timeout-ms MS]\n"
               "                   [--shutdown-timeout-ms MS] [--body-timeout-ms MS] [--max-body-memory BYTES]\n"
               "                   [--debug-routes]\n"
               "  --port N               TCP port, 0 for any free one (default 8080)\n"
               "  --host ADDR            address to bind (default 127.0.0.1)\n"
               "  --workers N            worker threads (default: CORING_WORKERS, else the CPUs)\n"
               "  --max-body BYTES       largest request body accepted, else 413 (default 1048576)\n"
               "  --max-connections N    open connections at most; accept waits at the cap (default 10000)\n"
               "  --idle-timeout-ms MS   keep-alive idle time, also per body read and write (default 30000)\n"
               "  --header-timeout-ms MS a request head must arrive within it, else 408 (default 10000)\n"
               "  --shutdown-timeout-ms MS  on SIGINT/SIGTERM, in-flight requests get this long (default 5000);\n"
               "                         a second signal exits at once (status 1)\n"
               "  --body-timeout-ms MS   a request body must arrive within it after the head, else 408 (default 30000)\n"
               "  --max-body-memory BYTES  bodies held by all connections at once, else 503 (default 134217728)\n"
               "  --debug-routes         enable GET /delay?ms=M&size=N and GET /stop-after (tests, examples)\n");
  std::exit(problem != nullptr ? 2 : 0);
}

// A decimal number in [min, max], or a usage error naming the option.
std::uint64_t number(std::string_view option, std::string_view text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    const std::string message = std::string(option) + " '" + std::string(text) + "': expected an integer in [" +
                                std::to_string(min) + ", " + std::to_string(max) + "]";
    usage(message.c_str());
  }
  return value;
}

cli_options parse(int argc, char** argv) {
  cli_options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") usage(nullptr);
    if (arg == "--debug-routes") {
      o.server.debug_routes = true;
      continue;
    }
    if (i + 1 >= argc) usage((std::string(arg) + " needs a value (or is unknown)").c_str());
    const std::string_view value = argv[++i];
    using ms = std::chrono::milliseconds;
    constexpr std::uint64_t day_ms = 86'400'000;
    if (arg == "--port") {
      o.port = static_cast<std::uint16_t>(number(arg, value, 0, 65535));
    } else if (arg == "--host") {
      o.host = value;
    } else if (arg == "--workers") {
      o.workers = static_cast<unsigned>(number(arg, value, 1, 1024));
    } else if (arg == "--max-body") {
      o.server.limits.max_body_bytes = number(arg, value, 0, std::uint64_t{1} << 32);
    } else if (arg == "--max-connections") {
      o.server.max_connections = number(arg, value, 1, 1'000'000);
    } else if (arg == "--idle-timeout-ms") {
      o.server.idle_timeout = ms(number(arg, value, 1, day_ms));
    } else if (arg == "--header-timeout-ms") {
      o.server.header_timeout = ms(number(arg, value, 1, day_ms));
    } else if (arg == "--shutdown-timeout-ms") {
      o.server.shutdown_timeout = ms(number(arg, value, 0, day_ms));
    } else if (arg == "--body-timeout-ms") {
      o.server.body_timeout = ms(number(arg, value, 1, day_ms));
    } else if (arg == "--max-body-memory") {
      o.server.max_body_memory = number(arg, value, 0, std::uint64_t{1} << 40);
    } else {
      usage(("unknown option " + std::string(arg)).c_str());
    }
  }
  return o;
}

coring::task<int> serve(const cli_options& o) {
  coring::tcp_listener listener;
  try {
    listener = coring::tcp_listener::bind(o.host, o.port);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coring-http: cannot listen on %s:%u: %s\n", o.host.c_str(), o.port, e.what());
    co_return 1;
  }
  coring::http::server server(std::move(listener), o.server);
  std::printf("listening on %s\n", server.local_endpoint().to_string().c_str());
  std::fflush(stdout);  // a test or script waits for this line

  auto serving = coring::spawn(server.run());
  const auto which = co_await coring::when_any(coring::signal(SIGINT), coring::signal(SIGTERM));
  std::fprintf(stderr, "coring-http: %s: draining (at most %lld ms)\n", which.index() == 0 ? "SIGINT" : "SIGTERM",
               static_cast<long long>(o.server.shutdown_timeout.count()));
  server.stop();
  // A second signal while draining: the operator does not want to wait. Exit at once.
  auto impatient = coring::spawn([](const char* first) -> coring::task<void> {
    const auto again = co_await coring::when_any(coring::signal(SIGINT), coring::signal(SIGTERM));
    std::fprintf(stderr, "coring-http: %s during the drain (after %s): exiting now\n",
                 again.index() == 0 ? "SIGINT" : "SIGTERM", first);
    std::fflush(stderr);
    std::_Exit(1);
  }(which.index() == 0 ? "SIGINT" : "SIGTERM"));
  co_await serving;
  impatient.cancel();
  std::fprintf(stderr, "coring-http: served %llu requests on %llu connections\n",
               static_cast<unsigned long long>(server.requests()),
               static_cast<unsigned long long>(server.accepted()));
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so that every worker inherits the mask and the signals
  // reach only the signalfd that coring::signal reads (see coring/io/signal.hpp).
  coring::block_signals({SIGINT, SIGTERM});
  const cli_options options = parse(argc, argv);
  coring::runtime_options rt;
  if (options.workers != 0) rt.workers = options.workers;
  try {
    return coring::run(serve(options), rt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coring-http: %s\n", e.what());
    return 1;
  }
}
