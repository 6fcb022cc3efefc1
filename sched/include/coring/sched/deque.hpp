// A bounded Chase-Lev work-stealing deque: each worker's local run queue.
//
// Algorithm: D. Chase and Y. Lev, "Dynamic Circular Work-Stealing Deque", SPAA 2005,
// with the C11 memory orders of N. M. Le, A. Pop, A. Cohen and F. Zappa Nardelli,
// "Correct and Efficient Work-Stealing for Weak Memory Models", PPoPP 2013 (fig. 1).
// Unlike both papers the buffer never grows: push() reports "full" and the worker
// moves half of its deque to the injection queue instead (see steal_batch()). One
// deliberate change to fig. 1: the owner publishes bottom_ with release *stores*
// instead of a release fence plus relaxed stores. Same code on x86, and ThreadSanitizer
// models it; it does not model fences and reports false races on the paper's form.
//
// Roles. One thread, the *owner* (the worker the deque belongs to), calls push() and
// pop() at the bottom end, like a stack: the task it made last runs next, while its
// frame is still in cache. Any thread, a *thief* (another worker, or the owner itself
// when it spills), calls steal() / steal_batch() at the top end and takes the oldest
// items. Owner-only functions say so; calling them from two threads is a data race.
//
// Indices. top_ and bottom_ are signed 64-bit counters; the items are the slots
// [top_, bottom_) and index i lives in buffer_[i & mask_]. top_ only grows, by CAS.
// bottom_ is written by the owner alone: +1 per push, and pop() steps it back by one
// to claim the bottom slot before it looks at top_. Signed, because that step makes
// bottom_ = top_ - 1 on an empty deque. 2^63 pushes do not happen, so no wrap-around.
//
// The race. pop() claims the slot by storing bottom_ - 1, then reads top_; a thief
// reads top_, then bottom_. A seq_cst fence between the two accesses on each side
// means at least one side sees the other's write, so when more than one item is left
// the owner and the thieves are provably after different slots and the owner needs no
// CAS. Only for the last item do both CAS top_, and exactly one wins.
//
// Slots are std::atomic<T> with relaxed accesses: a thief holding a stale top_ may
// read a slot while the owner overwrites it with a newer item. That thief's CAS then
// fails (the owner reuses a slot only after seeing top_ move past it), so the value it
// read is thrown away; making the slot atomic turns that benign race into defined
// behaviour and keeps ThreadSanitizer quiet.
#pragma once

#include <coring/core/detail/fence.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

// GCC warns that ThreadSanitizer does not model atomic_thread_fence. We do not need it
// to: every happens-before edge that carries data (push -> steal) goes through the
// release stores of bottom_ and the acquire loads in steal(); the seq_cst fences only
// order bottom_ against top_, which TSan does not check anyway.
#if defined(__GNUC__) && !defined(__clang__) && defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#define CORING_DETAIL_DEQUE_GCC_TSAN
#endif

namespace coring::detail {

template <typename T>
class work_deque {
    static_assert(std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T>,
                  "work_deque stores small values such as coroutine handle addresses");
    static_assert(std::atomic<T>::is_always_lock_free,
                  "work_deque slots must be lock-free atomics (pointer-sized T)");

public:
    /// Creates an empty deque holding at most `capacity` items.
    /// Throws std::invalid_argument unless `capacity` is a power of two >= 2
    /// (the index arithmetic is `i & (capacity - 1)`).
    explicit work_deque(std::size_t capacity)
        : buffer_(check_capacity(capacity)), mask_(static_cast<std::int64_t>(capacity) - 1) {}

    work_deque(const work_deque&) = delete;
    work_deque& operator=(const work_deque&) = delete;

    // ---- owner thread only ------------------------------------------------------

    /// Owner thread only. Pushes `item` at the bottom. Returns false, and stores
    /// nothing, when the deque is full; never overwrites an item. No RMW on this path.
    bool push(T item) noexcept {
        // relaxed: bottom_ is only written by this thread.
        const std::int64_t b = bottom_.load(std::memory_order_relaxed);
        // acquire: pairs with the (releasing) CAS of the thief that advanced top_, so
        // its read of the slot we are about to reuse happens before our store to it.
        // A stale top_ only makes us report "full" too early, never overwrite.
        const std::int64_t t = top_.load(std::memory_order_acquire);
        if (b - t > mask_) return false;
        // relaxed: published by the release store of bottom_ just below.
        buffer_[static_cast<std::size_t>(b & mask_)].store(item, std::memory_order_relaxed);
        // release: a thief that reads the new bottom_ (acquire) also sees the slot, and
        // everything the owner wrote before push() (the coroutine frame). The paper uses
        // a release fence and relaxed stores; a release store is the same `mov` on x86,
        // and TSan understands it, which it does not for fences.
        bottom_.store(b + 1, std::memory_order_release);
        return true;
    }

    /// Owner thread only. Pops the newest item (LIFO), or nullopt when the deque is
    /// empty, including when a thief won the race for the last item.
    std::optional<T> pop() noexcept {
        // relaxed: our own variable.
        const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
        // Claim the bottom slot before reading top_. release, not the paper's relaxed:
        // with release *stores* in push() (instead of its fence) a thief reading this
        // value must synchronize with it to see the slots published before it.
        bottom_.store(b, std::memory_order_release);
        // seq_cst fence: orders the store above before the load of top_ below (a
        // store->load order nothing weaker gives). Paired with the fence in
        // try_steal(): either the thief sees our claim, or we see its top_.
        full_fence();  // seq_cst fence (coring/core/detail/fence.hpp)
        // relaxed: ordered by the fence above.
        std::int64_t t = top_.load(std::memory_order_relaxed);
        if (t > b) {  // was already empty: undo the claim (release: see above)
            bottom_.store(b + 1, std::memory_order_release);
            return std::nullopt;
        }
        // relaxed: the owner wrote this slot itself.
        const T item = buffer_[static_cast<std::size_t>(b & mask_)].load(std::memory_order_relaxed);
        if (t < b) return item;  // more than one item: no thief can reach slot b
        // Last item: a thief may be after it too. seq_cst as in the paper: the CAS must
        // take part in the same total order as the fences; relaxed on failure since we
        // then return nothing we read.
        const bool won = top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                                      std::memory_order_relaxed);
        // Either way the deque is now empty with top_ == b + 1; restore bottom_ to match.
        // release: see above.
        bottom_.store(b + 1, std::memory_order_release);
        if (!won) return std::nullopt;
        return item;
    }

    /// Owner thread only. The newest item (the one pop() would return), or T{} when the
    /// deque looks empty; does not remove it. A thief may take it at any time, so only a
    /// following pop() says whether the owner still has it.
    T peek_newest() const noexcept {
        // relaxed: bottom_ is our own; top_ only decides whether to look (a stale top_
        // at worst shows an item that pop() will then find gone).
        const std::int64_t b = bottom_.load(std::memory_order_relaxed);
        if (b <= top_.load(std::memory_order_relaxed)) return T{};
        // relaxed: the owner wrote this slot itself.
        return buffer_[static_cast<std::size_t>((b - 1) & mask_)].load(std::memory_order_relaxed);
    }

    /// Owner thread only. Moves up to `max` of the newest items into `out[0..n)`, oldest
    /// first, and returns n: a pop() of several items at once, with one fence. Leaves at
    /// least the oldest item in place; returns 0 (nothing moved) if thieves reached the
    /// range meanwhile. The overflow path of a queue whose owner takes the oldest first.
    ///
    /// As in pop(): bottom_ is lowered to claim [b - n, b) before top_ is read, with the
    /// fences of pop() and try_steal() between. A thief whose fence comes first read a
    /// top_ no later than ours, so with ours below b - n it takes an item below the range;
    /// a thief whose fence comes later sees the lowered bottom_.
    std::size_t take_newest(T* out, std::size_t max) noexcept {
        // relaxed: our own variable.
        const std::int64_t b = bottom_.load(std::memory_order_relaxed);
        // relaxed: only sizes the request; the check after the fence decides.
        const std::int64_t t0 = top_.load(std::memory_order_relaxed);
        if (b - t0 < 2 || max == 0) return 0;
        const auto n = static_cast<std::int64_t>(std::min<std::size_t>(max, static_cast<std::size_t>(b - t0 - 1)));
        const std::int64_t first = b - n;
        // release: see pop().
        bottom_.store(first, std::memory_order_release);
        full_fence();  // seq_cst fence, paired with try_steal's (see pop())
        // relaxed: ordered by the fence above.
        const std::int64_t t = top_.load(std::memory_order_relaxed);
        if (t >= first) {  // thieves got into the range: give it all back (release: see pop())
            bottom_.store(b, std::memory_order_release);
            return 0;
        }
        // relaxed: the owner wrote these slots itself.
        for (std::int64_t i = 0; i < n; ++i) {
            out[i] = buffer_[static_cast<std::size_t>((first + i) & mask_)].load(std::memory_order_relaxed);
        }
        return static_cast<std::size_t>(n);
    }

    /// Owner thread only. Moves up to `max` of the oldest items into `out[0..n)`, oldest
    /// first, with one CAS for the whole range, and returns n (0 if a thief raced it to
    /// the top; the caller may simply retry). Leaves at least the newest item in place.
    /// The overflow path of a full deque (half of it to the injection queue).
    ///
    /// One CAS is safe here, unlike in steal_batch: what makes a multi-slot CAS unsafe for
    /// a thief is the owner popping the same slots without a CAS, and the owner is the
    /// caller. Thieves CAS top_ from the value they read; after ours moved it past their
    /// slot, theirs fails and they discard what they read.
    std::size_t take_oldest(T* out, std::size_t max) noexcept {
        // relaxed: our own variable.
        const std::int64_t b = bottom_.load(std::memory_order_relaxed);
        // acquire: pairs with a thief's CAS, as in try_steal.
        std::int64_t t = top_.load(std::memory_order_acquire);
        if (b - t < 2 || max == 0) return 0;
        const auto n = static_cast<std::int64_t>(std::min<std::size_t>(max, static_cast<std::size_t>(b - t - 1)));
        // relaxed: the owner wrote these slots itself.
        for (std::int64_t i = 0; i < n; ++i) {
            out[i] = buffer_[static_cast<std::size_t>((t + i) & mask_)].load(std::memory_order_relaxed);
        }
        // seq_cst: one total order with the thieves' CASes and the fences (as in
        // try_steal); failure means a thief took the top item first.
        if (!top_.compare_exchange_strong(t, t + n, std::memory_order_seq_cst, std::memory_order_relaxed)) return 0;
        return static_cast<std::size_t>(n);
    }

    // ---- any thread ---------------------------------------------------------------

    /// Any thread. Takes the oldest item, or returns nullopt if the deque was seen empty.
    /// A lost CAS against another thief or the owner's last-item pop is retried, not
    /// reported: losing means someone else took an item, so the loop is lock-free,
    /// and nullopt always means "empty at some instant during the call", which the
    /// idle protocol relies on before a worker parks.
    std::optional<T> steal() noexcept {
        T item{};
        for (;;) {
            switch (try_steal(item)) {
                case attempt::taken: return item;
                case attempt::empty: return std::nullopt;
                case attempt::lost_race: continue;
            }
        }
    }

    /// Any thread. Moves up to `max` of the oldest items into `out[0..n)`, oldest first,
    /// and returns n; n < max means the deque was seen empty. (The owner spills with
    /// take_oldest, one CAS per batch.)
    ///
    /// Items are taken one CAS each. A single CAS advancing top_ by n would not be safe:
    /// pop() takes an item without a CAS whenever it sees more than one item left, so
    /// after the thief has read bottom_ the owner may pop slots in [top_, top_ + n) with
    /// no write to top_ that could make the thief's CAS fail; both would return them.
    /// One slot at a time is safe because the owner CASes for the last item, the only
    /// one a single-slot thief can share with it.
    std::size_t steal_batch(T* out, std::size_t max) noexcept {
        std::size_t n = 0;
        while (n < max) {
            switch (try_steal(out[n])) {
                case attempt::taken: ++n; break;
                case attempt::empty: return n;
                case attempt::lost_race: break;  // retry, see steal()
            }
        }
        return n;
    }

    /// Any thread. Number of items, clamped to [0, capacity()]; exact on the owner
    /// thread when no thief is active, otherwise a snapshot that may already be stale.
    std::size_t size_approx() const noexcept {
        // relaxed: a hint; nothing is read on the strength of it.
        const std::int64_t b = bottom_.load(std::memory_order_relaxed);
        const std::int64_t t = top_.load(std::memory_order_relaxed);
        const std::int64_t n = b - t;  // < 0 inside pop(); > capacity with a stale top_
        if (n <= 0) return 0;
        return n > mask_ ? capacity() : static_cast<std::size_t>(n);
    }

    /// Any thread. The capacity given to the constructor.
    std::size_t capacity() const noexcept { return static_cast<std::size_t>(mask_) + 1; }

private:
    enum class attempt { taken, empty, lost_race };

    // One steal attempt, one CAS: figure 1's steal() of Le et al.
    attempt try_steal(T& out) noexcept {
        // acquire: pairs with the CAS that wrote this top_ (owner's last-item pop or
        // another thief), so what we read below is no older than what that thread saw.
        std::int64_t t = top_.load(std::memory_order_acquire);
        // seq_cst fence: top_ is read before bottom_; pairs with the fence in pop(), so
        // if the owner's claim of slot b is not visible to us, our top_ is to the owner.
        full_fence();  // seq_cst fence (coring/core/detail/fence.hpp)
        // acquire: pairs with the owner's release stores of bottom_, making the slots
        // below bottom_ (and the data their items point to) visible to this thread.
        const std::int64_t b = bottom_.load(std::memory_order_acquire);
        if (t >= b) return attempt::empty;
        // relaxed: published by the acquire above; if the owner has meanwhile reused the
        // slot, top_ has moved past t and the CAS below fails, discarding the value.
        out = buffer_[static_cast<std::size_t>(t & mask_)].load(std::memory_order_relaxed);
        // seq_cst: one total order with the owner's CAS and the fences. Success also
        // releases our slot read to the owner's acquire load of top_ in push().
        if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
            return attempt::lost_race;
        }
        return attempt::taken;
    }

    static std::unique_ptr<std::atomic<T>[]> check_capacity(std::size_t capacity) {
        if (capacity < 2 || !std::has_single_bit(capacity) || capacity > (std::size_t{1} << 62)) {
            throw std::invalid_argument("coring: work_deque capacity must be a power of two >= 2, got " +
                                        std::to_string(capacity));
        }
        return std::make_unique<std::atomic<T>[]>(capacity);  // value-initialised slots
    }

    // top_ is written by thieves, bottom_ by the owner: separate cache lines so pushes
    // and pops do not bounce the thieves' line, and the read-mostly buffer pointer and
    // mask sit on a third line. 64 bytes, not std::hardware_destructive_interference_size,
    // whose value GCC warns may differ between translation units.
    static constexpr std::size_t cache_line = 64;
    alignas(cache_line) std::atomic<std::int64_t> top_{0};
    alignas(cache_line) std::atomic<std::int64_t> bottom_{0};
    alignas(cache_line) const std::unique_ptr<std::atomic<T>[]> buffer_;
    const std::int64_t mask_;  // capacity - 1
};

}  // namespace coring::detail

#if defined(CORING_DETAIL_DEQUE_GCC_TSAN)
#pragma GCC diagnostic pop
#undef CORING_DETAIL_DEQUE_GCC_TSAN
#endif
