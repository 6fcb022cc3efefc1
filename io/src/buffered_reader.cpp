#include <coring/io/buffered_reader.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace coring {

task<std::size_t> buffered_reader::fill(std::size_t limit) {
  if (begin_ > 0 && (end_ == buf_.size() || begin_ == end_)) {
    // Compact: keep the unconsumed bytes at the front.
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size() && buf_.size() < limit) {
    buf_.resize(std::min(limit, buf_.size() * 2));
  }
  const std::size_t n = co_await stream_->read(std::span(buf_).subspan(end_));
  end_ += n;
  co_return n;
}

task<std::string> buffered_reader::read_delimited(char delim, std::size_t max_bytes, bool eof_ok, const char* what) {
  std::size_t scanned = 0;  // bytes after begin_ already known to hold no delimiter
  for (;;) {
    const std::byte* first = buf_.data() + begin_;
    const std::size_t avail = end_ - begin_;
    const auto* hit = static_cast<const std::byte*>(std::memchr(first + scanned, delim, avail - scanned));
    if (hit != nullptr) {
      const std::size_t len = static_cast<std::size_t>(hit - first) + 1;
      if (len > max_bytes) break;
      std::string out(reinterpret_cast<const char*>(first), len);
      begin_ += len;
      co_return out;
    }
    scanned = avail;
    if (avail >= max_bytes) break;
    if (co_await fill(max_bytes) == 0) {
      if (!eof_ok) throw std::system_error(ENODATA, std::system_category(), std::string(what) + ": end of stream");
      std::string rest(reinterpret_cast<const char*>(buf_.data() + begin_), end_ - begin_);
      begin_ = end_ = 0;
      co_return rest;
    }
  }
  begin_ = end_ = 0;  // drop the overlong data: memory stays bounded
  throw std::system_error(EMSGSIZE, std::system_category(), std::string(what) + ": no delimiter within max_bytes");
}

task<std::string> buffered_reader::read_until(char delim, std::size_t max_bytes) {
  return read_delimited(delim, max_bytes, false, "coring::buffered_reader::read_until");
}

task<std::string> buffered_reader::read_line(std::size_t max_bytes) {
  return read_delimited('\n', max_bytes, true, "coring::buffered_reader::read_line");
}

task<std::size_t> buffered_reader::read(mutable_buffer out) {
  if (out.empty()) co_return 0;
  if (begin_ == end_) {
    // Large reads bypass the buffer.
    if (out.size() >= buf_.size()) co_return co_await stream_->read(out);
    begin_ = end_ = 0;
    if (co_await fill(buf_.size()) == 0) co_return 0;
  }
  const std::size_t n = std::min(out.size(), end_ - begin_);
  std::memcpy(out.data(), buf_.data() + begin_, n);
  begin_ += n;
  co_return n;
}

task<void> buffered_reader::read_exact(mutable_buffer out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t n = co_await read(out.subbuffer(done));
    if (n == 0) {
      throw std::system_error(ENODATA, std::system_category(), "coring::buffered_reader::read_exact: end of stream");
    }
    done += n;
  }
}

}  // namespace coring
