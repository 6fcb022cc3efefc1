// Operations: the mapping onto io_uring opcodes, and the suspend/complete protocol every
// awaiter shares (see detail/op.hpp for the life of an operation).
#include "reactor_impl.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace coring::detail {

reactor_op::reactor_op() noexcept {
  // on_cancel runs on the cancelling thread under the source's lock: it only queues
  // the op with its reactor (a mutex held for a few instructions) and wakes it.
  on_cancel = [](cancel_callback& cb) noexcept {
    auto& op = static_cast<reactor_op&>(cb);
    op.owner->request_cancel(op);
  };
}

void prepare_sqe(io_uring_sqe& sqe, const io_request& r) noexcept {
  io_uring_sqe* s = &sqe;
  switch (r.opcode) {
    case io_opcode::read:
      io_uring_prep_read(s, r.fd, r.addr, r.len, r.arg);
      break;
    case io_opcode::write:
      io_uring_prep_write(s, r.fd, r.addr, r.len, r.arg);
      break;
    case io_opcode::recv:
      io_uring_prep_recv(s, r.fd, r.addr, r.len, static_cast<int>(r.flags));
      break;
    case io_opcode::recv_pool:
      // len 0: as much as the picked buffer holds.
      io_uring_prep_recv(s, r.fd, nullptr, 0, static_cast<int>(r.flags));
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = static_cast<std::uint16_t>(r.arg);
      break;
    case io_opcode::poll_in:
      io_uring_prep_poll_add(s, r.fd, POLLIN);
      break;
    case io_opcode::send:
      // MSG_NOSIGNAL: a write to a reset peer returns EPIPE instead of killing us.
      io_uring_prep_send(s, r.fd, r.addr, r.len, static_cast<int>(r.flags | MSG_NOSIGNAL));
      break;
    case io_opcode::recvmsg:
      io_uring_prep_recvmsg(s, r.fd, static_cast<msghdr*>(r.addr), r.flags);
      break;
    case io_opcode::sendmsg:
      io_uring_prep_sendmsg(s, r.fd, static_cast<const msghdr*>(r.addr), r.flags | MSG_NOSIGNAL);
      break;
    case io_opcode::accept:
      io_uring_prep_accept(s, r.fd, static_cast<sockaddr*>(r.addr), reinterpret_cast<socklen_t*>(r.arg),
                           static_cast<int>(r.flags));
      break;
    case io_opcode::accept_multishot:
      io_uring_prep_multishot_accept(s, r.fd, nullptr, nullptr, static_cast<int>(r.flags));
      break;
    case io_opcode::connect:
      io_uring_prep_connect(s, r.fd, static_cast<const sockaddr*>(r.addr), static_cast<socklen_t>(r.arg));
      break;
    case io_opcode::shutdown:
      io_uring_prep_shutdown(s, r.fd, static_cast<int>(r.len));
      break;
    case io_opcode::fsync:
      io_uring_prep_fsync(s, r.fd, r.flags != 0 ? IORING_FSYNC_DATASYNC : 0);
      break;
    case io_opcode::close:
      io_uring_prep_close(s, r.fd);
      break;
    case io_opcode::openat:
      io_uring_prep_openat(s, AT_FDCWD, static_cast<const char*>(r.addr), static_cast<int>(r.flags),
                           static_cast<mode_t>(r.arg));
      break;
    case io_opcode::statx:
      io_uring_prep_statx(s, r.fd, "", AT_EMPTY_PATH, STATX_SIZE, static_cast<struct statx*>(r.addr));
      break;
  }
}

reactor* begin_wait(reactor_op& op, op_waiter& w, std::coroutine_handle<> h, const cancel_source* source) {
  reactor* r = current_reactor();
  if (r == nullptr) {
    throw std::logic_error(
        "coring: this thread drives no reactor (await I/O and timers inside coring::io_context::run)");
  }
  op.owner = r;  // before attach: on_cancel may run at once on another thread
  w.coro = h;
  w.exec = current_executor();
  w.source = source;
  if (source != nullptr && !source->attach(op)) {
    w.refused = true;
    return nullptr;
  }
  return r;
}

void finish_wait(reactor_op& op, op_waiter& w, int res) noexcept {
  if (w.source != nullptr) {
    if (!w.source->detach(op)) {
      // The hook ran: a request for this op may still be queued with the reactor, and
      // our frame is about to be released.
      w.cancel_ran = true;
      op.owner->forget_cancel(op);
    } else if (w.source->requested()) {
      // A request is running right now but had not reached our hook: still a
      // cancellation (the -ECANCELED check below needs to know).
      w.cancel_ran = true;
    }
  }
  w.result = res;
  if (w.exec != nullptr) {
    w.exec->post(w.coro);
  } else {
    op.owner->resume_later(w.coro);
  }
}

void check_cancelled(const op_waiter& w) {
  if (w.refused) throw cancelled{};
  // -EINTR: what a cancelled connect or blocking-style op may report instead.
  if (w.cancel_ran && (w.result == -ECANCELED || w.result == -EINTR)) throw cancelled{};
}

void throw_io_error(int err, const char* what) { throw std::system_error(err, std::system_category(), what); }

bool kernel_awaiter::begin(std::coroutine_handle<> h, const cancel_source* source) {
  reactor* r = begin_wait(*this, w_, h, source);
  if (r == nullptr) return false;
  r->submit(*this);
  return true;
}

void kernel_awaiter::complete(reactor_op& op, int res) noexcept {
  auto& self = static_cast<kernel_awaiter&>(op);
  // Retry what the kernel reports as transient, unless the task is being cancelled
  // (then the retry would only delay the cancellation).
  if ((res == -EAGAIN || res == -EINTR) && !(self.w_.source != nullptr && self.w_.source->requested())) {
    self.owner->submit(self);
    return;
  }
  finish_wait(op, self.w_, res == -EAGAIN || res == -EINTR ? -ECANCELED : res);
}

bool transfer_awaiter::begin(std::coroutine_handle<> h, const cancel_source* source) {
  reactor* r = begin_wait(*this, w_, h, source);
  if (r == nullptr) return false;
  r->submit(*this);
  return true;
}

// The reaping thread. Resubmitting from here is what kernel_awaiter does on -EAGAIN: the
// reactor accepts submit() from whichever thread reaps it. A cancellation requested
// before the check below ends the transfer here; one requested after it finds the
// resubmitted op queued or in the kernel and cancels it there.
void transfer_awaiter::complete(reactor_op& op, int res) noexcept {
  auto& self = static_cast<transfer_awaiter&>(op);
  const bool cancelling = self.w_.source != nullptr && self.w_.source->requested();
  if (res == -EAGAIN || res == -EINTR) {
    if (!cancelling) {
      self.owner->submit(self);
      return;
    }
    res = -ECANCELED;
  } else if (res > 0) {
    const auto n = static_cast<std::size_t>(res);
    self.remaining_ -= n;
    self.request.addr = static_cast<std::byte*>(self.request.addr) + n;
    const bool positional = self.request.opcode == io_opcode::read || self.request.opcode == io_opcode::write;
    if (positional && self.request.arg != ~std::uint64_t{0}) self.request.arg += n;
    if (self.remaining_ == 0) {
      res = 0;
    } else if (cancelling) {
      res = -ECANCELED;
    } else {
      self.request.len = clamp_len(self.remaining_);
      self.owner->submit(self);
      return;
    }
  } else if (res == 0) {
    const bool reading = self.request.opcode == io_opcode::recv || self.request.opcode == io_opcode::read;
    res = reading ? -ENODATA : -EIO;
  }
  finish_wait(op, self.w_, res);
}

}  // namespace coring::detail
