// What every byte stream shares (stream sockets, pipes, the standard streams): an owned
// descriptor, and the four stream operations built over it for the pair of opcodes that
// moves its bytes. Sockets use recv/send (send adds MSG_NOSIGNAL); pipes, FIFOs and
// terminals use read/write at the current position (offset -1), since recv on them is
// ENOTSOCK. The awaiters are the ones of detail/op.hpp: one operation in the caller's
// frame, whole transfers resubmitted by the reaping thread.
#pragma once

#include <coring/core/task.hpp>
#include <coring/io/buffer.hpp>
#include <coring/io/detail/op.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace coring::detail {

// An owned descriptor (closed by the destructor).
class owned_fd {
 public:
  owned_fd() noexcept = default;
  explicit owned_fd(int fd) noexcept : fd_(fd) {}
  owned_fd(owned_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  owned_fd& operator=(owned_fd&& o) noexcept;
  ~owned_fd();
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  // Closes through the ring (IORING_OP_CLOSE); the object is closed even if this throws
  // std::system_error naming `what`.
  task<void> close(const char* what);

 private:
  int fd_ = -1;
};

// One request of a stream operation: `op` on `fd` over [data, data + size).
inline io_request stream_request(io_opcode op, int fd, const std::byte* data, std::size_t size) noexcept {
  // read/write take a file offset; ~0 (-1) is "the current position", all a pipe has.
  const bool positional = op == io_opcode::read || op == io_opcode::write;
  return {op, fd, clamp_len(size), 0, const_cast<std::byte*>(data), positional ? ~std::uint64_t{0} : 0};
}

// Up to buf.size() bytes in (`op`: recv or read); yields the count, 0 at end of stream.
inline checked_awaiter<std::size_t> stream_read(io_opcode op, int fd, mutable_buffer buf, const char* what) noexcept {
  return {stream_request(op, fd, buf.data(), buf.size()), what};
}
// Up to buf.size() bytes out (`op`: send or write); yields the count (may be short).
inline checked_awaiter<std::size_t> stream_write(io_opcode op, int fd, const_buffer buf, const char* what) noexcept {
  return {stream_request(op, fd, buf.data(), buf.size()), what};
}
// All of buf in; ENODATA if the stream ends first.
inline transfer_awaiter stream_read_exact(io_opcode op, int fd, mutable_buffer buf, const char* what) noexcept {
  return {stream_request(op, fd, buf.data(), buf.size()), buf.size(), what};
}
// All of buf out.
inline transfer_awaiter stream_write_all(io_opcode op, int fd, const_buffer buf, const char* what) noexcept {
  return {stream_request(op, fd, buf.data(), buf.size()), buf.size(), what};
}

}  // namespace coring::detail
