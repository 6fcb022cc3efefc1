// A chat room over TCP: every line a client sends is broadcast to the others. The
// actor pattern of asyncio servers, with coring::channel for asyncio.Queue:
//
//  - one hub task owns the list of members; it alone touches it, so no lock. Clients
//    talk to it through one channel (`inbox`) of events: join, say, leave;
//  - each client has an outbox channel the hub puts lines into, and two tasks: a reader
//    (socket -> inbox) and a writer (outbox -> socket), run together with gather;
//  - an outbox is bounded: when a slow client's outbox is full, the hub drops the line
//    for that client (try_send) instead of waiting, so one stuck reader cannot stall
//    the room.
//
// Protocol: the first line is the client's name; then each line is a message. Others
// see "name: message", "* name joined", "* name left"; the newcomer gets a welcome.
//
//   chat_server [--port N] [--host ADDR]      (default 127.0.0.1:7000; 0 = any free port)
//   nc 127.0.0.1 7000
//
// Prints "listening on HOST:PORT"; SIGINT/SIGTERM stop it (exit 0).
#include <coring/coring.hpp>
#include <coring/core/channel.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <variant>

namespace {

using outbox = coring::channel<std::string>;

struct join {
  std::string name;
  std::shared_ptr<outbox> out;  // shared: the hub may still hold it after the client left
};
struct say {
  std::string name;
  std::string text;
};
struct leave {
  std::string name;
};
using event = std::variant<join, say, leave>;

// The hub: the only task that reads or writes `members`.
coring::task<void> hub(coring::channel<event>& inbox) {
  std::map<std::string, std::shared_ptr<outbox>> members;
  auto broadcast = [&](const std::string& from, const std::string& line) {
    for (auto& [name, out] : members) {
      if (name != from) (void)out->try_send(line);  // full: this slow client misses the line
    }
  };
  while (std::optional<event> e = co_await inbox.recv()) {
    if (auto* j = std::get_if<join>(&*e)) {
      members[j->name] = j->out;
      (void)j->out->try_send("welcome " + j->name + " (" + std::to_string(members.size()) + " online)\n");
      broadcast(j->name, "* " + j->name + " joined\n");
    } else if (auto* s = std::get_if<say>(&*e)) {
      broadcast(s->name, s->name + ": " + s->text + "\n");
    } else if (auto* l = std::get_if<leave>(&*e)) {
      if (auto it = members.find(l->name); it != members.end()) {
        it->second->close();  // the writer drains what is queued, then ends
        members.erase(it);
      }
      broadcast(l->name, "* " + l->name + " left\n");
    }
  }
}

// Strips the line ending; false for the end of the stream.
bool chomp(std::string& line) {
  if (line.empty()) return false;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return true;
}

coring::task<void> client(coring::tcp_stream conn, coring::channel<event>& inbox) {
  coring::buffered_reader in(conn);
  std::string name = co_await in.read_line(256);
  if (!chomp(name) || name.empty()) co_return;
  auto out = std::make_shared<outbox>(64);
  // Events are built as named values before the co_await: g++ 12 mishandles some
  // temporaries with destructors inside a co_await expression (double free).
  event joined = join{name, out};
  co_await inbox.send(std::move(joined));

  auto reader = [](coring::buffered_reader& r, coring::channel<event>& hub_inbox, std::string who) -> coring::task<void> {
    try {
      for (std::string line; chomp(line = co_await r.read_line(4096));) {
        event said = say{who, line};
        co_await hub_inbox.send(std::move(said));
      }
    } catch (const std::system_error&) {
      // a reset or an overlong line: the client leaves
    }
    event left = leave{who};
    co_await hub_inbox.send(std::move(left));
  };
  auto writer = [](coring::tcp_stream& c, std::shared_ptr<outbox> lines) -> coring::task<void> {
    try {
      while (std::optional<std::string> line = co_await lines->recv()) {
        co_await c.write_all(std::as_bytes(std::span(*line)));
      }
    } catch (const std::system_error&) {
      // the client went away: the reader sees it too and sends leave
    }
  };
  co_await coring::gather(reader(in, inbox, name), writer(conn, out));
}

coring::task<void> accept_loop(coring::tcp_listener& listener, coring::channel<event>& inbox) {
  for (;;) (void)coring::spawn(client(co_await listener.accept(), inbox));  // detached
}

coring::task<int> main_task(std::string host, std::uint16_t port) {
  auto listener = coring::tcp_listener::bind(host, port);
  std::printf("listening on %s\n", listener.local_endpoint().to_string().c_str());
  std::fflush(stdout);
  coring::channel<event> inbox;
  auto room = coring::spawn(hub(inbox));
  // Serve until a signal; the losing branch (the accept loop) is cancelled. Clients still
  // connected are cancelled when coring::run ends.
  co_await coring::when_any(accept_loop(listener, inbox), coring::signal(SIGINT), coring::signal(SIGTERM));
  inbox.close();
  co_await room;
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  coring::block_signals({SIGINT, SIGTERM});
  std::string host = "127.0.0.1";
  long port = 7000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view arg = argv[i];
    if (arg == "--port") {
      port = std::strtol(argv[i + 1], nullptr, 10);
    } else if (arg == "--host") {
      host = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: chat_server [--port N] [--host ADDR]\n");
      return 2;
    }
  }
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "chat_server: --port must be in [0, 65535]\n");
    return 2;
  }
  return coring::run(main_task(host, static_cast<std::uint16_t>(port)));
}
