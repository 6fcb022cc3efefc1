// Who searches for work and who sleeps: the idle protocol of the worker pool.
//
// Modelled on Tokio's `idle.rs` and Go's spinning Ms. Two counters packed in one atomic
// word: how many workers are not parked ("unparked") and how many of those are
// searching (stealing) for work. Waking a parked worker costs 25-40 us on this class of
// machine, so the rules are about waking nobody needlessly:
//
// * Whoever makes work available (fork, post from outside) calls `notify_one`. It wakes
//   a sleeper only if nobody is searching: a searcher will find the work anyway, and
//   when the last searcher stops searching because it found work, it calls
//   `notify_one` again so that the rest of the work is looked for by someone.
// * At most half of the workers search at once (`try_begin_search`).
// * A woken worker starts as a searcher (the notifier counted it as one), so a burst
//   of notifies wakes one worker, not all of them.
//
// Local pushes. A worker pushing onto its own deque notifies only when the deque was
// empty before the push. That is enough: a worker parks only after its re-check (below)
// found every deque empty, so a deque that stayed non-empty since its last notify cannot
// be hiding from a sleeper. The one race left, a thief emptying the deque while the
// owner's stale view of `top` still counts the old items, can delay parallelism until
// the owner's next push onto an empty deque, never lose work: the owner is awake and
// pops its own deque before it ever parks. Pushes to the injection queue (work from
// outside the pool) always notify.
//
// No lost wake-ups. The race is between a notifier that makes work visible and then
// reads the counters, and a worker that announces it is parking (updates the counters
// under the lock) and then re-checks every queue before it sleeps. The notifier issues
// a seq_cst fence between its queue write and its counter read, and the parker's
// counter update is a seq_cst read-modify-write followed by its queue reads. Sequential
// consistency of the two then guarantees that either the notifier sees the parker
// counted as parked (and wakes it), or the parker's re-check sees the work (and does
// not sleep). Acquire/release alone would allow both to miss each other (store-load
// reordering), hence seq_cst. The parker sleeps in its reactor; the notifier sets the
// parker's flag and then wakes the reactor (an eventfd write the ring remembers), so an
// unpark that arrives before the sleep is not lost either.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace coring::detail {

// How a worker sleeps: in its reactor (io_uring_submit_and_wait_timeout), so that an
// I/O completion or a due timer wakes it as well as a notifier. `notified` is the flag a
// notifier sets before waking the ring; it makes an unpark that arrives before the
// sleep count (the reactor's wake() is likewise remembered by its eventfd).
struct park_flag {
  // acquire/release: whatever the notifier did before unparking is visible to the
  // worker that consumes the flag.
  bool consume() noexcept { return notified.exchange(0, std::memory_order_acquire) != 0; }
  void set() noexcept { notified.store(1, std::memory_order_release); }
  std::atomic<std::uint32_t> notified{0};
};

class idle_set {
 public:
  explicit idle_set(std::size_t workers);

  // A sleeper to wake, already counted as unparked and searching, or -1 when waking
  // nobody is right (someone searches, or nobody sleeps). The caller unparks it.
  int worker_to_notify() noexcept;

  // Tries to become a searcher; false when half of the workers already search.
  bool try_begin_search() noexcept;
  // Stops searching; true if this was the last searcher (the caller then notifies).
  bool end_search() noexcept;

  // Announces that `worker` parks; `searching` says whether it was counted as a
  // searcher. After this the caller must re-check the queues before sleeping.
  void announce_park(int worker, bool searching) noexcept;
  // Undoes announce_park for a worker that found work in its re-check. Returns false if
  // a notifier already took it off the sleeper list (then it is counted as searching
  // and an unpark is on its way, which the caller consumes by parking once).
  bool cancel_park(int worker) noexcept;

  std::size_t searching() const noexcept { return state_.load(std::memory_order_seq_cst) & mask; }
  std::size_t unparked() const noexcept { return state_.load(std::memory_order_seq_cst) >> shift; }

 private:
  static constexpr unsigned shift = 16;
  static constexpr std::uint32_t mask = (1u << shift) - 1;
  static constexpr std::uint32_t one_unparked = 1u << shift;

  const std::uint32_t workers_;
  std::atomic<std::uint32_t> state_;  // (unparked << 16) | searching
  std::mutex mutex_;                  // guards sleepers_
  std::vector<int> sleepers_;
};

}  // namespace coring::detail
