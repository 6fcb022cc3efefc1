// owned_fd: the descriptor every stream type (sockets, pipes) holds.
#include <coring/io/detail/stream.hpp>

#include <unistd.h>

namespace coring::detail {

owned_fd& owned_fd::operator=(owned_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

owned_fd::~owned_fd() {
  if (fd_ >= 0) ::close(fd_);
}

task<void> owned_fd::close(const char* what) {
  const int fd = std::exchange(fd_, -1);
  if (fd < 0) co_return;
  const int r = co_await kernel_awaiter({io_opcode::close, fd, 0, 0, nullptr, 0});
  if (r < 0) throw_io_error(-r, what);
}

}  // namespace coring::detail
