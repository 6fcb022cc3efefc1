// Pipes and the standard streams as coring streams (asyncio's connect_read_pipe /
// connect_write_pipe).
//
//   auto [reader, writer] = coring::pipe();
//   co_await writer.write_all(std::string_view("hello"));
//   co_await writer.close();                        // the reader then sees the end
//   std::size_t n = co_await reader.read(buf);      // 5, then 0
//
//   co_await coring::standard_output().write_all(std::string_view("done\n"));
//
// pipe_reader and pipe_writer move bytes with read(2)/write(2) through the ring, so they
// serve any descriptor those stream over: pipes, FIFOs, terminals, character devices.
// They take the same buffers as sockets (coring/io/buffer.hpp) and their operations are
// the same awaiters (detail/stream.hpp): read, read_exact, write, write_all. The
// descriptors are blocking (never O_NONBLOCK: the kernel waits for readiness itself); a
// descriptor someone else put in O_NONBLOCK mode makes a read that finds nothing retry
// at once instead of waiting (the standard streams of a shell that set it, rarely).
//
// SIGPIPE. A write to a pipe whose read end is closed raises SIGPIPE in the writing
// thread, and io_uring does not prevent it (there is no MSG_NOSIGNAL for pipes). So the
// first pipe_writer the process creates sets SIGPIPE to SIG_IGN if it is still at its
// default (a handler of your own is left alone), as Python does at start-up: such a write
// then throws std::system_error EPIPE. Children started by coring::process get SIGPIPE
// back at its default; children you fork yourself inherit the SIG_IGN.
//
// Errors follow coring/io/error.hpp: std::system_error naming the operation
// ("coring::pipe::write: Broken pipe"), coring::cancelled when the task is cancelled (the
// kernel operation is cancelled first). Every awaitable resumes through the executor
// current at suspension. One read and one write at a time per end.
#pragma once

#include <coring/core/task.hpp>
#include <coring/io/buffer.hpp>
#include <coring/io/detail/op.hpp>
#include <coring/io/detail/stream.hpp>
#include <coring/io/error.hpp>

#include <cstddef>
#include <utility>

namespace coring {

namespace detail {
// What both ends share: the descriptor, owned (closed by the destructor) or borrowed (a
// standard stream: never closed by coring).
class pipe_end {
 public:
  pipe_end() noexcept = default;
  pipe_end(int fd, bool borrowed) noexcept : fd_(fd), borrowed_(borrowed) {}
  pipe_end(pipe_end&& other) noexcept : fd_(std::move(other.fd_)), borrowed_(other.borrowed_) {}
  pipe_end& operator=(pipe_end&& other) noexcept {
    if (this != &other) {
      forget_borrowed();
      fd_ = std::move(other.fd_);
      borrowed_ = other.borrowed_;
    }
    return *this;
  }
  // Closes an owned descriptor synchronously (::close); prefer `co_await close()`.
  ~pipe_end() { forget_borrowed(); }

  // Closes an owned descriptor through the ring (a writer's reader then sees the end of
  // the stream); a borrowed one is only let go, never closed. Either way the object is
  // closed afterwards, even if this throws std::system_error ("coring::pipe::close").
  // Resumes through the executor current at suspension.
  task<void> close() {
    forget_borrowed();
    return fd_.close("coring::pipe::close");
  }
  bool is_open() const noexcept { return fd_.get() >= 0; }
  int native_handle() const noexcept { return fd_.get(); }
  // Gives up the descriptor without closing it.
  int release() noexcept { return fd_.release(); }

 protected:
  void forget_borrowed() noexcept {
    if (borrowed_) fd_.release();
    borrowed_ = false;
  }

  owned_fd fd_;
  bool borrowed_ = false;
};

// Sets SIGPIPE to SIG_IGN if it is at SIG_DFL (once per process; see the top of this file).
void ignore_sigpipe() noexcept;
}  // namespace detail

// The read end of a pipe (or any descriptor read(2) streams from).
class pipe_reader : public detail::pipe_end {
 public:
  pipe_reader() noexcept = default;
  // Adopts `fd` (closed by the destructor or close()).
  explicit pipe_reader(int fd) noexcept : pipe_end(fd, false) {}
  // Uses `fd` without owning it: neither the destructor nor close() closes it.
  static pipe_reader borrow(int fd) noexcept { return pipe_reader(fd, true); }

  // Reads up to buf.size() bytes; yields the count, 0 once every writer has closed.
  // Throws std::system_error ("coring::pipe::read: ..."), coring::cancelled.
  detail::checked_awaiter<std::size_t> read(mutable_buffer buf) const noexcept {
    return detail::stream_read(detail::io_opcode::read, fd_.get(), buf, "coring::pipe::read");
  }
  // Fills buf completely, resubmitting after short reads. Throws std::system_error
  // ENODATA ("coring::pipe::read_exact") if the stream ends first, other errors likewise;
  // coring::cancelled (what was read is lost).
  detail::transfer_awaiter read_exact(mutable_buffer buf) const noexcept {
    return detail::stream_read_exact(detail::io_opcode::read, fd_.get(), buf, "coring::pipe::read_exact");
  }

 private:
  pipe_reader(int fd, bool borrowed) noexcept : pipe_end(fd, borrowed) {}
};

// The write end of a pipe (or any descriptor write(2) streams to).
class pipe_writer : public detail::pipe_end {
 public:
  pipe_writer() noexcept = default;
  // Adopts `fd` (closed by the destructor or close()). Ignores SIGPIPE (see above).
  explicit pipe_writer(int fd) noexcept : pipe_writer(fd, false) {}
  // Uses `fd` without owning it: neither the destructor nor close() closes it. Ignores
  // SIGPIPE (see above).
  static pipe_writer borrow(int fd) noexcept { return pipe_writer(fd, true); }

  // Writes up to buf.size() bytes; yields the count (may be short). Throws
  // std::system_error ("coring::pipe::write: ...": EPIPE once the reader is gone),
  // coring::cancelled.
  detail::checked_awaiter<std::size_t> write(const_buffer buf) const noexcept {
    return detail::stream_write(detail::io_opcode::write, fd_.get(), buf, "coring::pipe::write");
  }
  // Writes all of buf, resubmitting after short writes. Throws std::system_error
  // ("coring::pipe::write_all: ...": EPIPE), coring::cancelled (a prefix of buf may have
  // been written).
  detail::transfer_awaiter write_all(const_buffer buf) const noexcept {
    return detail::stream_write_all(detail::io_opcode::write, fd_.get(), buf, "coring::pipe::write_all");
  }

 private:
  pipe_writer(int fd, bool borrowed) noexcept : pipe_end(fd, borrowed) { detail::ignore_sigpipe(); }
};

// Both ends of a new pipe.
struct pipe_pair {
  pipe_reader reader;
  pipe_writer writer;
};

// pipe2(O_CLOEXEC): a new pipe, its ends owned by the result. Synchronous. Throws
// std::system_error ("coring::pipe: ...": EMFILE, ENFILE).
pipe_pair pipe();

// The process's standard streams (descriptors 0, 1 and 2), borrowed: destroying or
// closing the object leaves the descriptor open. Each call returns a new object over the
// same descriptor; use one at a time for reading (or writing) the same stream. Output
// goes straight to the descriptor: it does not pass through, nor flush, std::cout or
// stdio's buffers.
pipe_reader standard_input() noexcept;
pipe_writer standard_output() noexcept;
pipe_writer standard_error() noexcept;

}  // namespace coring
