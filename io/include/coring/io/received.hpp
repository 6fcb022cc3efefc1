// received: bytes a receive put into a buffer it did not bring (stream_socket::receive).
//
//   coring::received r = co_await conn.receive();   // empty(): the peer closed
//   parse(r.data());                                 // read in place, no copy
//   // r's destructor gives the buffer back
//
// The buffer comes from the worker ring's receive pool (reactor_options::recv_buffers,
// CORING_RECV_BUFFERS): the kernel picks one only when data arrives, so a connection
// waiting for its next request holds no memory for it. When the pool is empty or the
// ring has none, the receive reads into a buffer of its own instead (same size), so no
// data waits and nothing fails.
//
// Give the buffer back soon (copy what must be kept): while it is held the pool has one
// buffer fewer for every connection of that worker. Destroy it before the runtime (or
// io_context) that produced it; any thread may destroy it.
#pragma once

#include <coring/io/detail/op.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

namespace coring {
namespace detail {
class receive_awaiter;
}

class received {
 public:
  received() noexcept = default;
  received(received&& o) noexcept
      : pool_(std::exchange(o.pool_, nullptr)), id_(o.id_), own_(std::move(o.own_)), data_(std::exchange(o.data_, {})) {}
  received& operator=(received&& o) noexcept {
    if (this != &o) {
      reset();
      pool_ = std::exchange(o.pool_, nullptr);
      id_ = o.id_;
      own_ = std::move(o.own_);
      data_ = std::exchange(o.data_, {});
    }
    return *this;
  }
  received(const received&) = delete;
  received& operator=(const received&) = delete;
  ~received() { reset(); }

  // The bytes received; empty when the peer had closed (end of stream).
  std::span<const std::byte> data() const noexcept { return data_; }
  std::size_t size() const noexcept { return data_.size(); }
  bool empty() const noexcept { return data_.empty(); }
  // True when the bytes sit in a pool buffer (false: the receive used its own buffer).
  bool pooled() const noexcept { return pool_ != nullptr; }
  // Gives the buffer back now; data() is empty afterwards.
  void reset() noexcept;

 private:
  friend class detail::receive_awaiter;
  reactor* pool_ = nullptr;  // whose pool buffer id_ is; nullptr: own_ or nothing
  std::uint16_t id_ = 0;
  std::unique_ptr<std::byte[]> own_;
  std::span<const std::byte> data_;
};

namespace detail {
// stream_socket::receive's awaiter (net.cpp). No frame: the operation lives here.
class receive_awaiter : public kernel_op {
 public:
  explicit receive_awaiter(int fd) noexcept : fd_(fd) { on_complete = &complete; }
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return begin(h, source_of(h));
  }
  received await_resume();

 private:
  bool begin(std::coroutine_handle<> h, const cancel_source* source);
  bool use_own_buffer() noexcept;
  static void complete(reactor_op& op, int res) noexcept;
  // pooled: a receive from the pool; polling: the pool was empty, waiting for data
  // without a buffer; pooled_after_poll: data is there, the pool again; own: our buffer.
  enum class phase : std::uint8_t { pooled, polling, pooled_after_poll, own };
  int fd_;
  int group_ = -1;
  phase phase_ = phase::own;
  op_waiter w_;
  std::unique_ptr<std::byte[]> own_;
  std::uint32_t own_size_ = 0;
};
}  // namespace detail

}  // namespace coring
