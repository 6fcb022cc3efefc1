// coring::channel<T>: a multi-producer multi-consumer queue between tasks (asyncio.Queue,
// Go's buffered chan), bounded or unbounded, with close().
//
//   coring::channel<int> ch(64);                      // at most 64 buffered items
//   co_await ch.send(42);                             // suspends while the buffer is full
//   while (std::optional<int> v = co_await ch.recv()) use(*v);   // nullopt: closed, drained
//   ch.close();                                       // from the producing side
//
// Semantics:
//  - A bounded channel (capacity N >= 1) buffers at most N items; a sender finding it full
//    suspends (it does not grow the buffer) until a receiver makes room. An unbounded
//    channel never suspends senders; its buffer grows as needed.
//  - Hand-off: a send that finds a receiver waiting gives the item straight to it and posts
//    it to its executor; from a worker that is the worker's LIFO slot, so the receiver runs
//    next on the sender's worker (message-passing pairs stay on one core, hot in cache).
//  - FIFO: items are received in the order they were sent by one sender; waiting senders
//    and receivers are served oldest first.
//  - close() is idempotent. After it: send/try_send throw coring::channel_closed (the value
//    is not delivered), senders waiting on a full channel are woken with channel_closed,
//    receivers drain what is buffered and then get std::nullopt (end of channel), waiting
//    receivers are woken with std::nullopt.
//  - Cancellation: a task waiting in send or recv that is cancelled throws
//    coring::cancelled; its item is not sent (send) or none was taken (recv). An item that
//    was already handed to a waiting receiver is delivered even if a cancellation races
//    with it: no item is ever lost or duplicated.
//  - Every waiting task is resumed through the executor it suspended on, never inline by
//    the waking side and never while the channel's lock is held.
// Destroying a channel with waiters is undefined behaviour; buffered items are destroyed.
#pragma once

#include <coring/core/detail/wait_queue.hpp>

#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace coring {

// Thrown by send()/try_send() on a closed channel, and to senders that were waiting on a
// full channel when it was closed.
class channel_closed : public std::exception {
 public:
  const char* what() const noexcept override { return "coring::channel_closed: send on a closed channel"; }
};

namespace detail {

// A growable FIFO ring of T (power-of-two capacity). Growth doubles and moves the
// items; a bounded channel stops growing at its bound, so in steady state it never
// allocates. Not thread-safe: the channel's lock guards it.
template <class T>
class ring_buffer {
 public:
  ring_buffer() noexcept = default;
  ring_buffer(const ring_buffer&) = delete;
  ring_buffer& operator=(const ring_buffer&) = delete;
  ~ring_buffer() {
    while (size_ != 0) (void)pop_front();
    if (data_ != nullptr) std::allocator<T>().deallocate(data_, mask_ + 1);
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  template <class U>
  void push_back(U&& value) {
    if (data_ == nullptr || size_ == mask_ + 1) grow();
    std::construct_at(data_ + ((head_ + size_) & mask_), std::forward<U>(value));
    ++size_;
  }
  T pop_front() noexcept(std::is_nothrow_move_constructible_v<T>) {
    T* slot = data_ + head_;
    T value(std::move(*slot));
    std::destroy_at(slot);
    head_ = (head_ + 1) & mask_;
    --size_;
    return value;
  }

 private:
  void grow() {
    const std::size_t old_capacity = data_ == nullptr ? 0 : mask_ + 1;
    // 16 to start: small channels (ping-pong, rendezvous) fit in one allocation.
    const std::size_t capacity = old_capacity == 0 ? 16 : old_capacity * 2;
    T* fresh = std::allocator<T>().allocate(capacity);
    for (std::size_t i = 0; i < size_; ++i) {
      T* from = data_ + ((head_ + i) & mask_);
      std::construct_at(fresh + i, std::move(*from));
      std::destroy_at(from);
    }
    if (data_ != nullptr) std::allocator<T>().deallocate(data_, old_capacity);
    data_ = fresh;
    mask_ = capacity - 1;
    head_ = 0;
  }

  T* data_ = nullptr;
  std::size_t mask_ = 0;  // capacity - 1 once allocated
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace detail

template <class T>
class channel {
 public:
  using value_type = T;
  // The capacity of an unbounded channel.
  static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

  // An unbounded channel.
  channel() noexcept = default;
  // A bounded channel of `capacity` items; `unbounded` for none. Throws
  // std::invalid_argument for 0 (rendezvous channels are not supported: use 1).
  explicit channel(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("coring::channel: capacity must be at least 1");
  }
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  class send_awaiter;
  class recv_awaiter;

  // Awaitable: sends `value`. Completes at once if a receiver is waiting (the item is
  // handed to it) or the buffer has room; otherwise suspends until a receiver makes room
  // and resumes on the worker the receiving side posts it to. Throws channel_closed if
  // the channel is or gets closed before the item is buffered, coring::cancelled if the
  // task is cancelled while waiting (the item is then not sent), std::logic_error if it
  // has to wait on a thread that runs no executor.
  [[nodiscard]] send_awaiter send(T value) noexcept(std::is_nothrow_move_constructible_v<T>) {
    return send_awaiter(*this, std::move(value));
  }

  // Awaitable yielding std::optional<T>: the oldest item, or std::nullopt once the channel
  // is closed and drained. Suspends while the channel is empty and open, and resumes on the
  // worker the sending (or closing) side posts it to. Throws coring::cancelled if the task
  // is cancelled while waiting (no item is then taken), std::logic_error if it has to wait
  // on a thread that runs no executor.
  [[nodiscard]] recv_awaiter recv() noexcept { return recv_awaiter(*this); }

  // Sends without waiting: true if the item was handed to a receiver or buffered, false
  // (and `value` untouched) if the buffer is full. Throws channel_closed if closed. Any
  // thread.
  bool try_send(T&& value) { return try_send_impl(std::move(value)); }
  bool try_send(const T& value) { return try_send_impl(value); }

  // Receives without waiting: the oldest item, or std::nullopt if there is none (empty,
  // or closed and drained: is_closed() tells which). Any thread.
  std::optional<T> try_recv() {
    detail::sync_waiter* sender = nullptr;
    std::optional<T> item;
    {
      std::lock_guard hold(lock_);
      sender = take_locked(item);
    }
    if (sender != nullptr) detail::wake(*sender);
    return item;
  }

  // Closes the channel (idempotent): see the semantics above. Wakes every waiting sender
  // (with channel_closed) and receiver (with std::nullopt). Any thread.
  void close() noexcept {
    detail::wake_list woken;
    {
      std::lock_guard hold(lock_);
      closed_ = true;
      while (detail::sync_waiter* r = receivers_.pop_front()) woken.add(*r, detail::sync_waiter::status::closed);
      while (detail::sync_waiter* s = senders_.pop_front()) woken.add(*s, detail::sync_waiter::status::closed);
    }
    woken.post_all();
  }

  // Snapshots, for monitoring and tests. Any thread.
  bool is_closed() const noexcept {
    std::lock_guard hold(lock_);
    return closed_;
  }
  std::size_t size() const noexcept {
    std::lock_guard hold(lock_);
    return buffer_.size();
  }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t waiting_senders() const noexcept {
    std::lock_guard hold(lock_);
    return count(senders_);
  }
  std::size_t waiting_receivers() const noexcept {
    std::lock_guard hold(lock_);
    return count(receivers_);
  }

  class [[nodiscard]] send_awaiter : detail::sync_waiter {
   public:
    send_awaiter(channel& ch, T&& value) noexcept(std::is_nothrow_move_constructible_v<T>)
        : ch_(ch), value_(std::move(value)) {}
    // Movable until awaited (see event::wait_awaiter).
    send_awaiter(send_awaiter&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : ch_(other.ch_), value_(std::move(other.value_)) {}
    send_awaiter(const send_awaiter&) = delete;
    send_awaiter& operator=(const send_awaiter&) = delete;

    bool await_ready() {
      detail::sync_waiter* receiver = nullptr;
      {
        std::lock_guard hold(ch_.lock_);
        if (!ch_.closed_ && !ch_.offer_locked(std::move(value_), receiver)) return false;
        if (ch_.closed_) state = status::closed;
      }
      if (receiver != nullptr) detail::wake(*receiver);
      return true;
    }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) {
      detail::sync_waiter* receiver = nullptr;
      std::coroutine_handle<> resume_next = detail::suspend_waiter(*this, h, ch_.lock_, ch_.senders_, [&] {
        if (ch_.closed_) {
          closed_seen_ = true;  // served at once, with an error (suspend_waiter marks it granted)
          return true;
        }
        return ch_.offer_locked(std::move(value_), receiver);
      });
      // Not suspended if `resume_next == h`: `this` is still ours. If suspended, `receiver` is
      // null (offer failed) and nothing of `this` is touched.
      if (receiver != nullptr) detail::wake(*receiver);
      return resume_next;
    }
    void await_resume() {
      const status s = detail::finish_wait(*this);
      if (s == status::cancelled) throw cancelled{};
      if (s == status::closed || closed_seen_) throw channel_closed{};
    }

   private:
    friend class channel;
    channel& ch_;
    T value_;
    bool closed_seen_ = false;
  };

  class [[nodiscard]] recv_awaiter : detail::sync_waiter {
   public:
    explicit recv_awaiter(channel& ch) noexcept : ch_(ch) {}
    // Movable until awaited (see event::wait_awaiter).
    recv_awaiter(recv_awaiter&& other) noexcept : ch_(other.ch_) {}
    recv_awaiter(const recv_awaiter&) = delete;
    recv_awaiter& operator=(const recv_awaiter&) = delete;

    bool await_ready() {
      detail::sync_waiter* sender = nullptr;
      {
        std::lock_guard hold(ch_.lock_);
        if (ch_.buffer_.empty() && !ch_.closed_) return false;
        sender = ch_.take_locked(item_);
      }
      if (sender != nullptr) detail::wake(*sender);
      return true;
    }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) {
      detail::sync_waiter* sender = nullptr;
      std::coroutine_handle<> resume_next = detail::suspend_waiter(*this, h, ch_.lock_, ch_.receivers_, [&] {
        if (ch_.buffer_.empty() && !ch_.closed_) return false;
        sender = ch_.take_locked(item_);
        return true;
      });
      if (sender != nullptr) detail::wake(*sender);  // only when not suspended (see send)
      return resume_next;
    }
    std::optional<T> await_resume() {
      // An item handed over (granted) is returned even if a cancellation raced with the
      // hand-off: on_cancel leaves granted waiters alone.
      if (detail::finish_wait(*this) == status::cancelled) throw cancelled{};
      return std::move(item_);
    }

   private:
    friend class channel;
    channel& ch_;
    std::optional<T> item_;
  };

 private:
  static send_awaiter& as_sender(detail::sync_waiter& w) noexcept { return static_cast<send_awaiter&>(w); }
  static recv_awaiter& as_receiver(detail::sync_waiter& w) noexcept { return static_cast<recv_awaiter&>(w); }

  // Lock held, channel open. Hands `value` to the oldest waiting receiver (returned in
  // `receiver`, granted, for the caller to wake after unlocking) or buffers it. False if
  // the buffer is full; `value` is then untouched (an rvalue is moved from only on success).
  template <class U>
  bool offer_locked(U&& value, detail::sync_waiter*& receiver) {
    if (detail::sync_waiter* r = receivers_.front()) {
      // A waiting receiver means the buffer is empty: give it the item directly.
      as_receiver(*r).item_.emplace(std::forward<U>(value));
      receivers_.remove(*r);
      r->state = detail::sync_waiter::status::granted;
      receiver = r;
      return true;
    }
    if (buffer_.size() >= capacity_) return false;
    buffer_.push_back(std::forward<U>(value));
    return true;
  }

  // Lock held. Moves the oldest item into `out` (if any) and, when a sender was waiting
  // for room, buffers its item and returns it granted, for the caller to wake after
  // unlocking.
  detail::sync_waiter* take_locked(std::optional<T>& out) {
    if (buffer_.empty()) return nullptr;
    out.emplace(buffer_.pop_front());
    detail::sync_waiter* s = senders_.front();
    if (s == nullptr) return nullptr;
    buffer_.push_back(std::move(as_sender(*s).value_));
    senders_.remove(*s);
    s->state = detail::sync_waiter::status::granted;
    return s;
  }

  template <class U>
  bool try_send_impl(U&& value) {
    detail::sync_waiter* receiver = nullptr;
    {
      std::lock_guard hold(lock_);
      if (closed_) throw channel_closed{};
      if (!offer_locked(std::forward<U>(value), receiver)) return false;
    }
    if (receiver != nullptr) detail::wake(*receiver);
    return true;
  }

  static std::size_t count(const detail::wait_queue& q) noexcept {
    std::size_t n = 0;
    for (const detail::sync_waiter* w = q.front(); w != nullptr; w = w->q_next) ++n;
    return n;
  }

  mutable detail::spin_lock lock_;
  std::size_t capacity_ = unbounded;
  bool closed_ = false;  // guarded by lock_, as are the members below
  detail::ring_buffer<T> buffer_;
  detail::wait_queue senders_;    // wait while the buffer is full (bounded only)
  detail::wait_queue receivers_;  // wait while the buffer is empty and the channel open
};

}  // namespace coring
