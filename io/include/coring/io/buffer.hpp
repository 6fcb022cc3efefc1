// Byte buffers as users have them: every read takes a mutable_buffer, every write a
// const_buffer, and both convert implicitly (without copying) from any contiguous, sized
// range of char, unsigned char or std::byte:
//
//   std::array<char, 4096> buf;
//   std::size_t n = co_await conn.read(buf);                  // array, vector, string, span, C array
//   co_await conn.write_all(std::string_view(buf.data(), n));  // or std::span(buf).first(n)
//   co_await conn.write_all(std::string_view("pong\n"));
//
// A buffer is a view (pointer + size): the memory it names must stay valid until the
// operation that uses it completes, which a coroutine awaiting the operation in place
// does naturally. Reads need a writable range (a const std::string does not convert to a
// mutable_buffer). A string literal does not convert to a const_buffer: its terminating
// NUL would be sent; write std::string_view("...") or "..."sv instead.
#pragma once

#include <array>
#include <cstddef>
#include <ranges>
#include <span>
#include <string_view>
#include <type_traits>

namespace coring {

// char, unsigned char or std::byte (any cv-qualification): the element types of a buffer.
template <class T>
concept byte_element = std::is_same_v<std::remove_cv_t<T>, char> || std::is_same_v<std::remove_cv_t<T>, unsigned char> ||
                       std::is_same_v<std::remove_cv_t<T>, std::byte>;

// A contiguous, sized range of bytes (readable).
template <class R>
concept byte_range = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                     byte_element<std::remove_reference_t<std::ranges::range_reference_t<R>>>;

// A byte_range whose elements may be written (the destination of a read).
template <class R>
concept writable_byte_range =
    byte_range<R> && !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>;

// A writable view of bytes: the destination of a read.
class mutable_buffer {
 public:
  constexpr mutable_buffer() noexcept = default;
  mutable_buffer(void* data, std::size_t size) noexcept : data_(static_cast<std::byte*>(data)), size_(size) {}
  template <class R>
    requires writable_byte_range<R>
  mutable_buffer(R&& r) noexcept  // NOLINT(google-explicit-constructor): the point is implicit conversion
      : data_(reinterpret_cast<std::byte*>(std::ranges::data(r))), size_(std::ranges::size(r)) {}

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // The bytes after the first n (n is clamped to size()).
  mutable_buffer subbuffer(std::size_t n) const noexcept {
    n = n < size_ ? n : size_;
    return {data_ + n, size_ - n};
  }
  std::span<std::byte> span() const noexcept { return {data_, size_}; }
  operator std::span<std::byte>() const noexcept { return span(); }  // NOLINT(google-explicit-constructor)

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// A read-only view of bytes: the source of a write.
class const_buffer {
 public:
  constexpr const_buffer() noexcept = default;
  const_buffer(const void* data, std::size_t size) noexcept : data_(static_cast<const std::byte*>(data)), size_(size) {}
  const_buffer(mutable_buffer b) noexcept : data_(b.data()), size_(b.size()) {}  // NOLINT(google-explicit-constructor)
  template <class R>
    requires byte_range<R> && (!std::is_same_v<std::remove_cvref_t<R>, mutable_buffer>)
  const_buffer(R&& r) noexcept  // NOLINT(google-explicit-constructor)
      : data_(reinterpret_cast<const std::byte*>(std::ranges::data(r))), size_(std::ranges::size(r)) {}
  // A string literal's NUL would be sent along: say std::string_view("...") instead.
  template <std::size_t N>
  const_buffer(const char (&)[N]) = delete;

  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // The bytes after the first n (n is clamped to size()).
  const_buffer subbuffer(std::size_t n) const noexcept {
    n = n < size_ ? n : size_;
    return {data_ + n, size_ - n};
  }
  std::span<const std::byte> span() const noexcept { return {data_, size_}; }
  operator std::span<const std::byte>() const noexcept { return span(); }  // NOLINT(google-explicit-constructor)

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace coring
