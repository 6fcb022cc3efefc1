// The io layer's one error convention.
//
// * A failed operation throws std::system_error carrying the errno value
//   (std::system_category(), so `e.code() == std::errc::connection_reset` works) and
//   whose what() names the operation: "coring::file::read_at: Bad file descriptor".
// * A cancelled operation (join_handle::cancel(), a losing when_any branch, timeout's
//   own cancellation) throws coring::cancelled; timeout() throws coring::timed_out.
// * End of stream is not an error for read()/read_at(): they yield 0. The functions that
//   need a definite amount (read_exact, read_until, read_line) throw std::system_error
//   with ENODATA (std::errc::no_message_available) when the stream ends first, and
//   read_until/read_line throw EMSGSIZE (std::errc::message_size) when no delimiter
//   comes within their max_bytes.
// * Misuse (an I/O awaitable awaited on a thread that drives no reactor, an operation on
//   a closed object) throws std::logic_error.
#pragma once

#include <system_error>

namespace coring {

// True if `e` is the error of an operation that failed because the peer went away
// (reset, broken pipe, aborted): a server usually just drops such a connection.
inline bool is_disconnect(const std::system_error& e) noexcept {
  const std::error_code c = e.code();
  return c == std::errc::connection_reset || c == std::errc::broken_pipe || c == std::errc::connection_aborted ||
         c == std::errc::not_connected;
}

}  // namespace coring
