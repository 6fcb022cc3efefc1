// file: regular files through io_uring (positional reads and writes, fsync, size).
//
//   auto f = co_await coring::file::open("data.bin", O_RDWR | O_CREAT, 0644);
//   co_await f.write_all_at(bytes, 0);
//   std::size_t n = co_await f.read_at(buf, 0);   // short at end of file, 0 past it
//   co_await f.close();
//
// Errors follow coring/io/error.hpp: std::system_error naming the operation
// ("coring::file::read_at: ..."), coring::cancelled when cancelled. Every awaitable
// resumes through the executor current at suspension (the reactor's thread under
// io_context). The buffers passed in must stay valid until the awaitable completes —
// a coroutine that awaits it in place does that naturally.
#pragma once

#include <coring/core/task.hpp>
#include <coring/io/buffer.hpp>
#include <coring/io/detail/op.hpp>
#include <coring/io/error.hpp>

#include <fcntl.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace coring {

class file {
 public:
  file() noexcept = default;
  // Adopts an open descriptor (closed by the destructor or close()).
  explicit file(int fd) noexcept : fd_(fd) {}
  file(file&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  file& operator=(file&& other) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  // Closes synchronously (::close) if still open; prefer `co_await close()`.
  ~file();

  // Opens `path` with open(2) `flags` (O_CLOEXEC is always added) and `mode`.
  // Throws std::system_error ("coring::file::open: <path>: ...").
  static task<file> open(std::string path, int flags = O_RDONLY, mode_t mode = 0644);

  // Reads up to buf.size() bytes at `offset`; yields the count: short near the end of
  // the file, 0 at or past it.
  detail::checked_awaiter<std::size_t> read_at(mutable_buffer buf, std::uint64_t offset) const noexcept {
    return {{detail::io_opcode::read, fd_, detail::clamp_len(buf.size()), 0, buf.data(), offset}, "coring::file::read_at"};
  }
  // Writes up to buf.size() bytes at `offset`; yields the count (may be short).
  detail::checked_awaiter<std::size_t> write_at(const_buffer buf, std::uint64_t offset) const noexcept {
    return {{detail::io_opcode::write, fd_, detail::clamp_len(buf.size()), 0, const_cast<std::byte*>(buf.data()), offset},
            "coring::file::write_at"};
  }
  // Reads until buf is full or the file ends; yields the count (< buf.size() only at
  // the end of the file).
  task<std::size_t> read_all_at(mutable_buffer buf, std::uint64_t offset) const;
  // Writes all of buf at `offset`, resubmitting after short writes (one awaiter, no
  // coroutine frame). Throws std::system_error ("coring::file::write_all_at: ..."; EIO
  // if the kernel makes no progress), coring::cancelled (a prefix may have been written).
  detail::transfer_awaiter write_all_at(const_buffer buf, std::uint64_t offset) const noexcept {
    return {{detail::io_opcode::write, fd_, detail::clamp_len(buf.size()), 0, const_cast<std::byte*>(buf.data()), offset},
            buf.size(),
            "coring::file::write_all_at"};
  }
  // fsync(2); with `data_only`, fdatasync(2).
  detail::checked_awaiter<void> fsync(bool data_only = false) const noexcept;
  // The file's size in bytes (statx).
  task<std::uint64_t> size() const;
  // Closes the descriptor (IORING_OP_CLOSE). The object is closed even if this throws.
  task<void> close();

  bool is_open() const noexcept { return fd_ >= 0; }
  int native_handle() const noexcept { return fd_; }
  // Gives up ownership of the descriptor.
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace coring
