// buffered_reader: delimiter-framed reads over a stream socket (asyncio's StreamReader).
//
//   coring::buffered_reader in(conn);
//   std::string line = co_await in.read_line(8192);   // "" at end of stream
//   auto g = coring::lines(in);                        // or line by line, newline stripped
//   while (std::optional<std::string> l = co_await g.next()) handle(*l);
//
// Memory is bounded: the buffer never grows beyond max(capacity, the largest max_bytes
// asked for). A reader holds no memory while it waits with nothing buffered: it then
// receives into the worker ring's receive pool (stream_socket::receive) and reads the
// bytes in place; only data that must outlive one pool buffer (a line split across two
// receives) is copied into a buffer of its own, which is freed again once consumed. Errors follow coring/io/error.hpp; in particular a delimiter not found
// within max_bytes throws EMSGSIZE (std::errc::message_size) and the stream is then
// unusable for framing (the overlong data is discarded). Resumes like the stream's
// reads. The stream must outlive the reader; one reader per stream, one read at a time.
#pragma once

#include <coring/core/generator.hpp>
#include <coring/core/task.hpp>
#include <coring/io/net.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace coring {

class buffered_reader {
 public:
  explicit buffered_reader(const stream_socket& stream, std::size_t capacity = 16 * 1024)
      : stream_(&stream), capacity_(capacity == 0 ? 1 : capacity) {}

  // The bytes up to and including the first `delim`. Throws EMSGSIZE if no `delim`
  // occurs within `max_bytes` (delimiter included), ENODATA if the stream ends first.
  task<std::string> read_until(char delim, std::size_t max_bytes);
  // A line including its '\n', or what remains before the end of the stream ("" when
  // nothing does). Throws EMSGSIZE for a line longer than `max_bytes`.
  task<std::string> read_line(std::size_t max_bytes);
  // Up to buf.size() bytes: buffered ones first, else one read from the stream. 0 at end.
  task<std::size_t> read(mutable_buffer buf);
  // Exactly buf.size() bytes; ENODATA if the stream ends first.
  task<void> read_exact(mutable_buffer buf);

  // Bytes received but not yet consumed.
  std::size_t buffered() const noexcept { return end_ - begin_; }

 private:
  // One read from the stream into the buffer's free tail, growing or compacting so that
  // up to `limit` bytes can be held. Returns the bytes read (0: end of stream).
  task<std::size_t> fill(std::size_t limit);
  task<std::string> read_delimited(char delim, std::size_t max_bytes, bool eof_ok, const char* what);
  // Where begin_/end_ index: the lent pool buffer while it holds the data, else buf_.
  const std::byte* base() const noexcept { return lent_.empty() ? buf_.data() : lent_.data().data(); }
  // Marks `n` buffered bytes consumed; gives an emptied pool buffer back at once.
  void consume(std::size_t n) noexcept;

  const stream_socket* stream_;
  std::size_t capacity_;
  received lent_;               // a pool buffer holding the data, or empty
  std::vector<std::byte> buf_;  // own storage, allocated only for data split across reads
  std::size_t begin_ = 0;       // first unconsumed byte
  std::size_t end_ = 0;         // one past the last received byte
};

// A generator of the lines read from `in` (asyncio's `async for line in reader`, except
// that the newline is stripped): each line without its '\n' (a '\r' before it is kept),
// "" for an empty line; a last line that the stream ends without a newline is yielded
// too, and the end of the stream ends the generator (next() returns std::nullopt). A
// line longer than `max_line_bytes` (newline included) throws EMSGSIZE from next(),
// other read errors follow coring/io/error.hpp; the generator is finished after either.
// Cancellation of the consumer cancels the pending read. next() resumes like the
// reader's reads: on the thread that completed the receive (the reactor's thread under
// io_context, any worker under a runtime), or at once when a line was already buffered.
// `in` must outlive the generator and not be read otherwise while it is in use.
generator<std::string> lines(buffered_reader& in, std::size_t max_line_bytes = 64 * 1024);

}  // namespace coring
