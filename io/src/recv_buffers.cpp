#include "recv_buffers.hpp"

#include <sys/mman.h>

#include <cerrno>

namespace coring::detail {

recv_buffers::recv_buffers(io_uring& ring, unsigned count, unsigned size, std::uint16_t group) noexcept
    : uring_(ring), size_(size), group_(group) {
  if (count == 0 || size == 0) return;
  // The descriptor ring must be page-aligned memory the kernel can map: mmap gives that.
  ring_bytes_ = sizeof(io_uring_buf) * count;
  void* r = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) {
    error_ = errno;
    return;
  }
  // The buffers themselves: untouched pages cost nothing until the kernel writes them.
  data_bytes_ = static_cast<std::size_t>(count) * size;
  void* d = ::mmap(nullptr, data_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (d == MAP_FAILED) {
    error_ = errno;
    ::munmap(r, ring_bytes_);
    return;
  }
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(r);
  reg.ring_entries = count;
  reg.bgid = group;
  const int ret = io_uring_register_buf_ring(&uring_, &reg, 0);
  if (ret < 0) {
    error_ = -ret;
    ::munmap(d, data_bytes_);
    ::munmap(r, ring_bytes_);
    return;
  }
  ring_ = static_cast<io_uring_buf_ring*>(r);
  data_ = static_cast<std::byte*>(d);
  count_ = count;
  io_uring_buf_ring_init(ring_);
  const int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(ring_, data_ + static_cast<std::size_t>(i) * size, size, static_cast<unsigned short>(i),
                          mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(ring_, static_cast<int>(count));
}

recv_buffers::~recv_buffers() {
  if (ring_ == nullptr) return;
  io_uring_unregister_buf_ring(&uring_, group_);
  ::munmap(data_, data_bytes_);
  ::munmap(ring_, ring_bytes_);
}

void recv_buffers::recycle(std::uint16_t id) noexcept {
  // One descriptor at the tail, then publish the tail (liburing's advance is a release
  // store, which the kernel's acquire load of the tail pairs with).
  io_uring_buf_ring_add(ring_, data_ + static_cast<std::size_t>(id) * size_, size_, id,
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(ring_, 1);
}

}  // namespace coring::detail
