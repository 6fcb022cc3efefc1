#include <coring/io/buffered_reader.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace coring {

void buffered_reader::consume(std::size_t n) noexcept {
  begin_ += n;
  if (begin_ != end_) return;
  begin_ = end_ = 0;
  lent_.reset();
  // Nothing buffered: an idle reader keeps no storage (the pool lends the next bytes).
  if (!buf_.empty()) std::vector<std::byte>().swap(buf_);
}

task<std::size_t> buffered_reader::fill(std::size_t limit) {
  if (begin_ == end_) {
    // Nothing buffered: let the kernel pick a pool buffer when data arrives.
    consume(0);
    lent_ = co_await stream_->receive();
    end_ = lent_.size();
    if (end_ == 0) lent_.reset();  // end of stream: nothing to hold on to
    co_return end_;
  }
  if (!lent_.empty()) {
    // The rest of a pool buffer must outlive it: move it into our own storage.
    const std::size_t rest = end_ - begin_;
    buf_.resize(std::max(capacity_, rest));
    std::memcpy(buf_.data(), lent_.data().data() + begin_, rest);
    lent_.reset();
    begin_ = 0;
    end_ = rest;
  } else if (begin_ > 0 && end_ == buf_.size()) {
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
    const std::byte* first = base() + begin_;
    const std::size_t avail = end_ - begin_;
    // Nothing buffered means no storage at all (first may be null): nothing to scan.
    const auto* hit =
        avail > scanned ? static_cast<const std::byte*>(std::memchr(first + scanned, delim, avail - scanned)) : nullptr;
    if (hit != nullptr) {
      const std::size_t len = static_cast<std::size_t>(hit - first) + 1;
      if (len > max_bytes) break;
      std::string out(reinterpret_cast<const char*>(first), len);
      consume(len);
      co_return out;
    }
    scanned = avail;
    if (avail >= max_bytes) break;
    if (co_await fill(max_bytes) == 0) {
      if (!eof_ok) throw std::system_error(ENODATA, std::system_category(), std::string(what) + ": end of stream");
      std::string rest(reinterpret_cast<const char*>(base() + begin_), end_ - begin_);
      consume(end_ - begin_);
      co_return rest;
    }
  }
  consume(end_ - begin_);  // drop the overlong data: memory stays bounded
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
    if (out.size() >= capacity_) co_return co_await stream_->read(out);
    if (co_await fill(capacity_) == 0) co_return 0;
  }
  const std::size_t n = std::min(out.size(), end_ - begin_);
  std::memcpy(out.data(), base() + begin_, n);
  consume(n);
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

generator<std::string> lines(buffered_reader& in, std::size_t max_line_bytes) {
  for (;;) {
    std::string line = co_await in.read_line(max_line_bytes);
    if (line.empty()) co_return;  // read_line's end of stream: every line has a byte at least
    if (line.back() == '\n') line.pop_back();
    co_yield std::move(line);
  }
}

}  // namespace coring
