// coring::lines over a socketpair: newlines stripped, empty lines kept, a last line
// without newline yielded, lines split across many small writes, an overlong line.
#include "io_test.hpp"

#include <coring/core/generator.hpp>
#include <coring/io/buffered_reader.hpp>
#include <coring/io/net.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace {

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

coring::task<std::vector<std::string>> all_lines(coring::buffered_reader& in, std::size_t max_line_bytes) {
  std::vector<std::string> out;
  auto g = coring::lines(in, max_line_bytes);
  while (std::optional<std::string> line = co_await g.next()) out.push_back(std::move(*line));
  EXPECT_FALSE(co_await g.next());  // finished stays finished
  co_return out;
}

// Writes `text` a few bytes at a time, then shuts the write side down.
coring::task<void> trickle(const coring::unix_stream& s, std::string text, std::size_t piece) {
  for (std::size_t at = 0; at < text.size(); at += piece) {
    const std::string part = text.substr(at, piece);
    co_await s.write_all(bytes(part));
  }
  co_await s.shutdown();
}

}  // namespace

IO_TEST(lines, strips_newlines_keeps_empty_lines_and_a_last_line_without_newline) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.write_all(bytes("alpha\nbeta\r\n\ngamma"));
  co_await a.shutdown();
  coring::buffered_reader in(b);
  // Named, not built inside the co_await's full expression (g++ 12 rejects an
  // initializer_list there: "array used as initializer").
  const std::vector<std::string> expected{"alpha", "beta\r", "", "gamma"};
  EXPECT_EQ(co_await all_lines(in, 100), expected);
}

IO_TEST(lines, a_final_newline_adds_no_empty_line) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.write_all(bytes("one\ntwo\n"));
  co_await a.shutdown();
  coring::buffered_reader in(b);
  const std::vector<std::string> expected{"one", "two"};
  EXPECT_EQ(co_await all_lines(in, 100), expected);
}

IO_TEST(lines, lines_split_across_small_writes_arrive_whole) {
  auto [a, b] = coring::unix_stream::pair();
  std::string text;
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) {
    expected.push_back("line " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 37), 'x'));
    text += expected.back() + "\n";
  }
  text += "tail";
  expected.emplace_back("tail");
  coring::buffered_reader in(b, 4);  // tiny buffer: lines span several receives
  auto [ignored, got] = co_await coring::gather(trickle(a, text, 3), all_lines(in, 100));
  (void)ignored;
  EXPECT_EQ(got, expected);
}

IO_TEST(lines, overlong_line_throws_emsgsize_and_finishes_the_generator) {
  auto [a, b] = coring::unix_stream::pair();
  co_await a.write_all(bytes("short\n" + std::string(100, 'x') + "\nafter\n"));
  co_await a.shutdown();
  coring::buffered_reader in(b);
  auto g = coring::lines(in, 16);
  EXPECT_EQ(co_await g.next(), "short");
  bool overlong = false;
  try {
    (void)co_await g.next();
  } catch (const std::system_error& e) {
    overlong = e.code() == std::errc::message_size;
  }
  EXPECT_TRUE(overlong);
  EXPECT_FALSE(co_await g.next());
}
