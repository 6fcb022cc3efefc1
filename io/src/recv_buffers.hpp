// recv_buffers: one reactor's pool of receive buffers that the kernel picks from
// (a provided-buffer ring, IORING_REGISTER_PBUF_RING, Linux 5.19). A receive that brings
// no buffer of its own (stream_socket::receive) names the pool's group; the kernel takes
// a buffer only when data arrives, so an idle connection holds none. The receiver reads
// the bytes in place and gives the buffer back with recycle().
//
// Private to io/. Not thread-safe: the reactor calls recycle() under its state lock.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace coring::detail {

class recv_buffers {
 public:
  // Registers `count` (a power of two, <= 32768) buffers of `size` bytes as buffer group
  // `group` of `ring`. When the kernel refuses (no provided-buffer rings: EINVAL), or the
  // memory cannot be had, the pool is left empty: available() is false and why() says
  // what the kernel or mmap answered. Never throws.
  recv_buffers(io_uring& ring, unsigned count, unsigned size, std::uint16_t group) noexcept;
  ~recv_buffers();
  recv_buffers(const recv_buffers&) = delete;
  recv_buffers& operator=(const recv_buffers&) = delete;

  bool available() const noexcept { return ring_ != nullptr; }
  int why() const noexcept { return error_; }  // errno of the failed setup, 0 if none
  unsigned count() const noexcept { return count_; }
  unsigned size() const noexcept { return size_; }
  std::uint16_t group() const noexcept { return group_; }

  // The buffer the kernel reported as `id` (from a CQE's IORING_CQE_F_BUFFER).
  std::span<std::byte> buffer(std::uint16_t id) const noexcept {
    return {data_ + static_cast<std::size_t>(id) * size_, size_};
  }
  // Hands buffer `id` back to the kernel. The caller serialises calls.
  void recycle(std::uint16_t id) noexcept;

 private:
  io_uring& uring_;
  io_uring_buf_ring* ring_ = nullptr;  // the kernel-shared ring of buffer descriptors
  std::byte* data_ = nullptr;          // count_ * size_ bytes
  std::size_t ring_bytes_ = 0;
  std::size_t data_bytes_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  std::uint16_t group_ = 0;
  int error_ = 0;
};

}  // namespace coring::detail
