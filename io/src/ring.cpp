// ring setup: which flags we ask for, how we fall back, what we probe.
#include "ring.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace coring::detail {

namespace {

// The operations the io layer submits. ASYNC_CANCEL is how cancellation reaches the
// kernel; the others back the public awaiters (op.cpp maps them).
struct required_op {
  int opcode;
  const char* name;
};
constexpr required_op required_ops[] = {
    {IORING_OP_READ, "IORING_OP_READ"},         {IORING_OP_WRITE, "IORING_OP_WRITE"},
    {IORING_OP_RECV, "IORING_OP_RECV"},         {IORING_OP_SEND, "IORING_OP_SEND"},
    {IORING_OP_RECVMSG, "IORING_OP_RECVMSG"},   {IORING_OP_SENDMSG, "IORING_OP_SENDMSG"},
    {IORING_OP_ACCEPT, "IORING_OP_ACCEPT"},     {IORING_OP_CONNECT, "IORING_OP_CONNECT"},
    {IORING_OP_SHUTDOWN, "IORING_OP_SHUTDOWN"}, {IORING_OP_FSYNC, "IORING_OP_FSYNC"},
    {IORING_OP_CLOSE, "IORING_OP_CLOSE"},       {IORING_OP_OPENAT, "IORING_OP_OPENAT"},
    {IORING_OP_STATX, "IORING_OP_STATX"},       {IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"},
    {IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD"},
};

// Setup flags, best first. SINGLE_ISSUER lets the kernel skip submission locking and
// DEFER_TASKRUN runs completion work only when the owner enters the kernel to reap
// (no interrupts of a busy worker); both need Linux 6.0/6.1. COOP_TASKRUN (5.19) is the
// weaker form of the latter. SUBMIT_ALL (5.18) keeps a batch going past a bad SQE.
// R_DISABLED (5.10) defers binding the single issuer to the thread that enables the
// ring, so a reactor may be built on one thread and driven by another.
constexpr unsigned ladder[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL |
        IORING_SETUP_R_DISABLED,
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED,
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
    IORING_SETUP_COOP_TASKRUN,
    0,
};
// A shared ring (reactor_options::shared: a sched worker's) is driven by its owner and,
// while the owner is busy, by idle peers (reactor::assist). So: no SINGLE_ISSUER (a peer
// submits), no DEFER_TASKRUN (completions must reach the CQ without the owner entering
// the kernel) and no COOP_TASKRUN (without it the kernel interrupts a busy owner to post
// its completions at once; with it they wait for the owner's next kernel entry or the
// next scheduler tick, 4 ms here).
constexpr unsigned shared_ladder[] = {IORING_SETUP_SUBMIT_ALL, 0};
// With SQPOLL the kernel thread is the submitter: DEFER_TASKRUN is not allowed.
constexpr unsigned sqpoll_ladder[] = {
    IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED,
    IORING_SETUP_SQPOLL | IORING_SETUP_SUBMIT_ALL,
    IORING_SETUP_SQPOLL,
};
constexpr unsigned shared_sqpoll_ladder[] = {IORING_SETUP_SQPOLL | IORING_SETUP_SUBMIT_ALL, IORING_SETUP_SQPOLL};

[[noreturn]] void fail(int err, const std::string& what) {
  if (err == ENOSYS || err == EPERM) {
    throw io_uring_unavailable(err, "io_uring unavailable: " + what + ": " + std::strerror(err));
  }
  throw std::system_error(err, std::system_category(), "coring::reactor: " + what);
}

}  // namespace

ring::ring(const reactor_options& options) {
  const unsigned* flags = ladder;
  std::size_t count = std::size(ladder);
  if (options.sqpoll) {
    flags = options.shared ? shared_sqpoll_ladder : sqpoll_ladder;
    count = options.shared ? std::size(shared_sqpoll_ladder) : std::size(sqpoll_ladder);
  } else if (options.shared) {
    flags = shared_ladder;
    count = std::size(shared_ladder);
  }
  int ret = -EINVAL;
  io_uring_params params{};
  for (std::size_t i = 0; i < count && ret == -EINVAL; ++i) {
    params = io_uring_params{};
    // CQSIZE|CLAMP: a CQ much larger than the SQ, so that many long waits (receives on
    // idle connections, accepts) never exhaust the in-flight budget; 16 bytes a slot.
    params.flags = flags[i] | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    params.cq_entries = options.cq_entries > 2 * options.entries ? options.cq_entries : 2 * options.entries;
    if (options.sqpoll) params.sq_thread_idle = 1000;  // ms before the poller sleeps
    ret = io_uring_queue_init_params(options.entries, &ring_, &params);
  }
  if (ret < 0) fail(-ret, "io_uring_queue_init(" + std::to_string(options.entries) + " entries)");

  disabled_ = (params.flags & IORING_SETUP_R_DISABLED) != 0;
  info_.sq_entries = params.sq_entries;
  info_.cq_entries = params.cq_entries;
  info_.single_issuer = (params.flags & IORING_SETUP_SINGLE_ISSUER) != 0;
  info_.defer_taskrun = (params.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
  info_.coop_taskrun = (params.flags & IORING_SETUP_COOP_TASKRUN) != 0;
  info_.submit_all = (params.flags & IORING_SETUP_SUBMIT_ALL) != 0;
  info_.sqpoll = (params.flags & IORING_SETUP_SQPOLL) != 0;

  // EXT_ARG (5.11) lets a wait carry its timeout without consuming an SQE; NODROP (5.5)
  // is the safety net behind our completion budget.
  const char* missing_feature = nullptr;
  if ((params.features & IORING_FEAT_EXT_ARG) == 0) missing_feature = "IORING_FEAT_EXT_ARG (Linux 5.11)";
  if ((params.features & IORING_FEAT_NODROP) == 0) missing_feature = "IORING_FEAT_NODROP (Linux 5.5)";
  io_uring_probe* probe = missing_feature == nullptr ? io_uring_get_probe_ring(&ring_) : nullptr;
  const char* missing_op = nullptr;
  if (missing_feature == nullptr) {
    if (probe == nullptr) {
      missing_op = "IORING_REGISTER_PROBE";
    } else {
      for (const required_op& op : required_ops) {
        if (!io_uring_opcode_supported(probe, op.opcode)) {
          missing_op = op.name;
          break;
        }
      }
      // Multishot accept is a flag of IORING_OP_ACCEPT, which the probe cannot show. It
      // came in 5.19 together with IORING_OP_SOCKET, so that opcode stands for it; a
      // kernel that still refuses it (EINVAL) makes the listener fall back at run time.
      info_.multishot_accept = options.multishot_accept && io_uring_opcode_supported(probe, IORING_OP_SOCKET);
      io_uring_free_probe(probe);
    }
  }
  if (missing_feature != nullptr || missing_op != nullptr) {
    io_uring_queue_exit(&ring_);
    throw std::system_error(ENOSYS, std::system_category(),
                            std::string("coring::reactor: the kernel lacks ") +
                                (missing_feature != nullptr ? missing_feature : missing_op));
  }
}

ring::~ring() { io_uring_queue_exit(&ring_); }

void ring::enable() {
  if (!disabled_) return;
  // io_uring_register directly: liburing 2.3 declares io_uring_enable_rings but its
  // shared library does not export it.
  const int ret = io_uring_register(ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (ret < 0) fail(-ret, "io_uring_enable_rings");
  disabled_ = false;
}

void ring::submit() {
  int ret = 0;
  if (info_.defer_taskrun) {
    // Under DEFER_TASKRUN the kernel posts our completions only while we are inside it:
    // even a pass with nothing to submit must enter (with GETEVENTS).
    ret = io_uring_submit_and_get_events(&ring_);
  } else if (io_uring_sq_ready(&ring_) != 0) {
    ret = io_uring_submit(&ring_);
  }
  // EINTR: a signal; EBUSY/EAGAIN: the kernel is short of room or memory for now; the
  // SQEs stay queued and the next pass retries.
  if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) fail(-ret, "io_uring_submit");
}

void ring::wait(std::optional<std::chrono::nanoseconds> timeout) {
  // A bare io_uring_enter with GETEVENTS: it touches neither the SQ nor the CQ in user
  // space, so it may run while a peer submits or reaps under the reactor's locks.
  __kernel_timespec ts{};
  io_uring_getevents_arg arg{};
  if (timeout) {
    const auto ns = timeout->count() > 0 ? timeout->count() : 0;
    ts.tv_sec = ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    arg.ts = reinterpret_cast<std::uint64_t>(&ts);
  }
  const int ret = io_uring_enter2(static_cast<unsigned>(ring_.ring_fd), 0, 1,
                                  IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, reinterpret_cast<sigset_t*>(&arg),
                                  sizeof arg);
  // ETIME: the timeout passed; EINTR: a signal. Both just end the wait.
  if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) fail(-ret, "io_uring_enter (wait)");
}

}  // namespace coring::detail
