// file: open/close/size/fsync and the continuing variants of read_at/write_at.
#include <coring/io/file.hpp>

#include <linux/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace coring {

file& file::operator=(file&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

file::~file() {
  if (fd_ >= 0) ::close(fd_);
}

task<file> file::open(std::string path, int flags, mode_t mode) {
  // `path` lives in this frame until the kernel has answered.
  const int r = co_await detail::kernel_awaiter(
      {detail::io_opcode::openat, -1, 0, static_cast<std::uint32_t>(flags | O_CLOEXEC), path.data(), mode});
  if (r < 0) throw std::system_error(-r, std::system_category(), "coring::file::open: " + path);
  co_return file(r);
}

task<std::size_t> file::read_all_at(mutable_buffer buf, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < buf.size()) {
    const std::size_t n = co_await read_at(buf.subbuffer(done), offset + done);
    if (n == 0) break;  // end of file
    done += n;
  }
  co_return done;
}

detail::checked_awaiter<void> file::fsync(bool data_only) const noexcept {
  return {{detail::io_opcode::fsync, fd_, 0, data_only ? 1u : 0u, nullptr, 0},
          "coring::file::fsync"};
}

task<std::uint64_t> file::size() const {
  struct statx st{};
  const int r = co_await detail::kernel_awaiter({detail::io_opcode::statx, fd_, 0, 0, &st, 0});
  if (r < 0) detail::throw_io_error(-r, "coring::file::size");
  co_return st.stx_size;
}

task<void> file::close() {
  const int fd = std::exchange(fd_, -1);
  if (fd < 0) co_return;
  const int r = co_await detail::kernel_awaiter({detail::io_opcode::close, fd, 0, 0, nullptr, 0});
  if (r < 0) detail::throw_io_error(-r, "coring::file::close");
}

}  // namespace coring
