// Tests for the scheduler's queues: the bounded Chase-Lev work_deque and the
// mutex-protected injection_queue.
//
// The concurrent tests check that *every item is taken exactly once*: each id gets an
// atomic counter that the taker increments, and after join every counter must be 1.
// Tiny capacities force wrap-around and the overflow path (spill half to the injection
// queue). No sleeps, no timing assertions; meant to run under ThreadSanitizer too.
#include <coring/sched/deque.hpp>
#include <coring/sched/injection_queue.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <latch>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using coring::detail::injection_queue;
using coring::detail::work_deque;

// Enough that the thieves take some 400,000 items between them on two cores; about
// 0.1 s in Release and 2.5 s under ThreadSanitizer, so no scaling down is needed.
constexpr std::size_t stress_items = 1'000'000;

// Items are ids + 1 disguised as pointers, as the runtime stores coroutine addresses.
void* to_item(std::size_t id) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(id) + 1); }
std::size_t to_id(void* item) { return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(item) - 1); }

// Counts how often each id was taken, from any thread.
class seen_counter {
public:
    explicit seen_counter(std::size_t n) : counts_(n) {}

    void mark(void* item) noexcept {
        const std::size_t id = to_id(item);
        if (id >= counts_.size()) {
            bogus_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        // relaxed: read only after join(), which orders it.
        counts_[id].fetch_add(1, std::memory_order_relaxed);
    }

    // Call after all threads have joined.
    void expect_each_exactly_once() const {
        std::size_t missing = 0, duplicated = 0;
        std::optional<std::size_t> first_bad;
        for (std::size_t id = 0; id < counts_.size(); ++id) {
            const unsigned c = counts_[id].load(std::memory_order_relaxed);
            if (c == 1) continue;
            (c == 0 ? missing : duplicated) += 1;
            if (!first_bad) first_bad = id;
        }
        EXPECT_EQ(bogus_.load(), 0u) << "items that were never pushed";
        EXPECT_EQ(missing, 0u) << "first bad id " << first_bad.value_or(0);
        EXPECT_EQ(duplicated, 0u) << "first bad id " << first_bad.value_or(0);
    }

private:
    std::vector<std::atomic<std::uint8_t>> counts_;  // value-initialised to 0 (C++20)
    std::atomic<std::size_t> bogus_{0};
};

// ---- work_deque, single thread ----------------------------------------------------

TEST(WorkDeque, RejectsCapacityThatIsNotAPowerOfTwoAtLeastTwo) {
    for (const std::size_t bad : {0u, 1u, 3u, 6u, 12u, 1000u}) {
        try {
            work_deque<void*> dq(bad);
            ADD_FAILURE() << "capacity " << bad << " accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(std::to_string(bad)), std::string::npos) << e.what();
        }
    }
    for (const std::size_t good : {2u, 4u, 1024u}) {
        const work_deque<void*> dq(good);
        EXPECT_EQ(dq.capacity(), good);
        EXPECT_EQ(dq.size_approx(), 0u);
    }
}

TEST(WorkDeque, PopIsLifoAndPushFailsWhenFull) {
    work_deque<std::uintptr_t> dq(8);
    EXPECT_FALSE(dq.pop().has_value());  // empty pop must leave the deque usable
    for (std::uintptr_t i = 1; i <= 8; ++i) {
        ASSERT_TRUE(dq.push(i));
        EXPECT_EQ(dq.size_approx(), i);
    }
    EXPECT_FALSE(dq.push(9));  // full: refused, nothing overwritten
    EXPECT_EQ(dq.size_approx(), 8u);
    for (std::uintptr_t i = 8; i >= 1; --i) {
        const auto v = dq.pop();
        ASSERT_TRUE(v.has_value());
        EXPECT_EQ(*v, i);
    }
    EXPECT_FALSE(dq.pop().has_value());
    EXPECT_FALSE(dq.pop().has_value());
    EXPECT_EQ(dq.size_approx(), 0u);
    ASSERT_TRUE(dq.push(42));
    EXPECT_EQ(dq.pop(), std::optional<std::uintptr_t>(42));
}

TEST(WorkDeque, StealTakesTheOldestAndStealBatchTakesOldestFirst) {
    work_deque<std::uintptr_t> dq(8);
    EXPECT_FALSE(dq.steal().has_value());
    for (std::uintptr_t i = 1; i <= 6; ++i) ASSERT_TRUE(dq.push(i));
    EXPECT_EQ(dq.steal(), std::optional<std::uintptr_t>(1));
    std::uintptr_t out[8] = {};
    EXPECT_EQ(dq.steal_batch(out, 0), 0u);
    ASSERT_EQ(dq.steal_batch(out, 3), 3u);
    EXPECT_EQ(out[0], 2u);
    EXPECT_EQ(out[1], 3u);
    EXPECT_EQ(out[2], 4u);
    EXPECT_EQ(dq.pop(), std::optional<std::uintptr_t>(6));
    ASSERT_EQ(dq.steal_batch(out, 8), 1u);  // fewer than asked: it ran empty
    EXPECT_EQ(out[0], 5u);
    EXPECT_FALSE(dq.steal().has_value());
    EXPECT_FALSE(dq.pop().has_value());
    EXPECT_EQ(dq.steal_batch(out, 8), 0u);
}

// The owner's spill: the oldest items in order, in one step, always leaving the newest.
TEST(WorkDeque, TakeOldestMovesTheOldestRangeAndLeavesTheNewest) {
    work_deque<std::uintptr_t> dq(8);
    std::uintptr_t out[8] = {};
    EXPECT_EQ(dq.take_oldest(out, 8), 0u);  // empty
    ASSERT_TRUE(dq.push(1));
    EXPECT_EQ(dq.take_oldest(out, 8), 0u);  // one item: it stays
    for (std::uintptr_t i = 2; i <= 8; ++i) ASSERT_TRUE(dq.push(i));
    EXPECT_FALSE(dq.push(9));  // full
    EXPECT_EQ(dq.take_oldest(out, 0), 0u);
    ASSERT_EQ(dq.take_oldest(out, 4), 4u);
    for (std::uintptr_t i = 0; i < 4; ++i) EXPECT_EQ(out[i], i + 1);
    ASSERT_EQ(dq.take_oldest(out, 8), 3u);  // all but the newest
    EXPECT_EQ(out[0], 5u);
    EXPECT_EQ(out[2], 7u);
    EXPECT_EQ(dq.size_approx(), 1u);
    EXPECT_EQ(dq.steal(), std::optional<std::uintptr_t>(8));
    // The freed slots are usable again, across the wrap.
    for (std::uintptr_t i = 10; i < 18; ++i) ASSERT_TRUE(dq.push(i));
    ASSERT_EQ(dq.take_oldest(out, 2), 2u);
    EXPECT_EQ(out[0], 10u);
    EXPECT_EQ(out[1], 11u);
    EXPECT_EQ(dq.pop(), std::optional<std::uintptr_t>(17));
}

// The spawn queue's spill: the newest items, oldest first, leaving the oldest in place.
TEST(WorkDeque, TakeNewestMovesTheNewestRangeAndLeavesTheOldest) {
    work_deque<std::uintptr_t> dq(8);
    std::uintptr_t out[8] = {};
    EXPECT_EQ(dq.take_newest(out, 8), 0u);  // empty
    ASSERT_TRUE(dq.push(1));
    EXPECT_EQ(dq.take_newest(out, 8), 0u);  // one item: it stays
    for (std::uintptr_t i = 2; i <= 8; ++i) ASSERT_TRUE(dq.push(i));
    ASSERT_EQ(dq.take_newest(out, 3), 3u);
    EXPECT_EQ(out[0], 6u);
    EXPECT_EQ(out[1], 7u);
    EXPECT_EQ(out[2], 8u);
    EXPECT_EQ(dq.pop(), std::optional<std::uintptr_t>(5));
    EXPECT_EQ(dq.steal(), std::optional<std::uintptr_t>(1));
    ASSERT_EQ(dq.take_newest(out, 8), 2u);  // all but the oldest
    EXPECT_EQ(out[0], 3u);
    EXPECT_EQ(out[1], 4u);
    EXPECT_EQ(dq.steal(), std::optional<std::uintptr_t>(2));
    EXPECT_FALSE(dq.pop().has_value());
    // The slots given back are reused, across the wrap.
    for (std::uintptr_t i = 10; i < 18; ++i) ASSERT_TRUE(dq.push(i));
    EXPECT_EQ(dq.peek_newest(), 17u);
    ASSERT_EQ(dq.take_newest(out, 1), 1u);
    EXPECT_EQ(out[0], 17u);
    EXPECT_EQ(dq.peek_newest(), 16u);
    EXPECT_EQ(dq.steal(), std::optional<std::uintptr_t>(10));
}

// Random single-threaded operations checked against std::deque, many laps around tiny
// buffers so every slot is reused thousands of times from both ends.
TEST(WorkDeque, WrapAroundMatchesAModelForCapacities2And4And8) {
    for (const std::size_t capacity : {2u, 4u, 8u}) {
        SCOPED_TRACE("capacity " + std::to_string(capacity));
        work_deque<std::uintptr_t> dq(capacity);
        std::deque<std::uintptr_t> model;
        std::minstd_rand rng(static_cast<std::uint32_t>(capacity));
        std::uintptr_t next = 1;
        std::size_t pushes = 0;
        for (int step = 0; step < 200'000; ++step) {
            switch (rng() % 4) {
                case 0:
                case 1: {  // push twice as often, so the deque is often full
                    const bool ok = dq.push(next);
                    ASSERT_EQ(ok, model.size() < capacity);
                    if (ok) {
                        model.push_back(next++);
                        ++pushes;
                    }
                    break;
                }
                case 2: {
                    const auto v = dq.pop();
                    ASSERT_EQ(v.has_value(), !model.empty());
                    if (v) {
                        ASSERT_EQ(*v, model.back());
                        model.pop_back();
                    }
                    break;
                }
                default: {
                    std::uintptr_t out[16];
                    const std::size_t want = rng() % (capacity + 2);  // sometimes more than held
                    const std::size_t got = dq.steal_batch(out, want);
                    ASSERT_EQ(got, std::min(want, model.size()));
                    for (std::size_t i = 0; i < got; ++i) ASSERT_EQ(out[i], model[i]);
                    model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(got));
                    break;
                }
            }
            ASSERT_EQ(dq.size_approx(), model.size());
        }
        // Plus strict fill/drain laps from both ends.
        for (int lap = 0; lap < 10'000; ++lap) {
            while (!model.empty()) {
                ASSERT_EQ(dq.pop(), std::optional<std::uintptr_t>(model.back()));
                model.pop_back();
            }
            for (std::size_t i = 0; i < capacity; ++i) ASSERT_TRUE(dq.push(next + i));
            ASSERT_FALSE(dq.push(0));
            for (std::size_t i = 0; i < capacity; ++i) {
                const auto v = (lap % 2 == 0) ? dq.steal() : dq.pop();
                ASSERT_TRUE(v.has_value());
                ASSERT_EQ(*v, (lap % 2 == 0) ? next + i : next + capacity - 1 - i);
            }
            ASSERT_FALSE(dq.pop().has_value());
            next += capacity;
        }
        EXPECT_GT(pushes, 1'000u * capacity);  // the buffer really went round many times
    }
}

// ---- work_deque, concurrent -------------------------------------------------------

// A thief: alternates steal() and steal_batch() on `dq` and, if given one, polls the
// injection queue like a worker would, until the owner is done and both are empty.
void run_thief(work_deque<void*>& dq, injection_queue* inj, seen_counter& seen,
               const std::atomic<bool>& owner_done, std::latch& start, std::size_t& taken) {
    start.arrive_and_wait();
    void* buf[8];
    for (std::size_t round = 0;; ++round) {
        // Read the flag *before* looking: if it was set, every push happened before our
        // attempts (acquire pairs with the owner's release), so finding nothing is final.
        const bool done = owner_done.load(std::memory_order_acquire);
        std::size_t got = 0;
        if (round % 2 == 0) {
            if (const auto item = dq.steal()) buf[got++] = *item;
        } else {
            got = dq.steal_batch(buf, 1 + round % 8);
        }
        if (inj != nullptr && got == 0) {
            if (round % 3 == 0) {
                if (void* item = inj->try_pop()) buf[got++] = item;
            } else {
                got = inj->pop_batch(buf, 1 + round % 8);
            }
        }
        for (std::size_t i = 0; i < got; ++i) seen.mark(buf[i]);
        taken += got;
        if (got == 0) {
            if (done) return;
            std::this_thread::yield();  // two cores, four threads: let the owner run
        }
    }
}

struct owner_stats {
    std::size_t popped = 0;
    std::size_t spills = 0;
    std::size_t spilled_items = 0;
};

// The owner: pushes ids 0..n in random bursts, popping some back in between so the deque
// often holds one item and owner and thieves race for it. On a full push it does what
// a worker does: move half the deque to `inj` (or, without one, pops an item itself)
// and retries.
owner_stats run_owner(work_deque<void*>& dq, injection_queue* inj, seen_counter& seen,
                      std::size_t n, std::size_t first_id, std::atomic<bool>& owner_done,
                      std::latch& start) {
    owner_stats stats;
    std::vector<void*> spill(dq.capacity() / 2);
    const auto push = [&](void* item) {
        while (!dq.push(item)) {
            if (inj != nullptr) {
                // Both spill paths of the scheduler, alternately: the oldest half (fork
                // deque) and the newest half (spawn queue).
                const std::size_t moved = stats.spills % 2 == 0 ? dq.take_oldest(spill.data(), spill.size())
                                                                : dq.take_newest(spill.data(), spill.size());
                inj->push_batch(spill.data(), moved);
                ++stats.spills;
                stats.spilled_items += moved;
            } else if (const auto mine = dq.pop()) {
                seen.mark(*mine);
                ++stats.popped;
            }
        }
    };
    // Ids below first_id were pushed before the thieves started (see the caller).
    start.arrive_and_wait();
    std::minstd_rand rng(12345);
    std::size_t id = first_id;
    while (id < n) {
        for (std::size_t burst = 1 + rng() % 4; burst > 0 && id < n; --burst) push(to_item(id++));
        for (std::size_t pops = rng() % 4; pops > 0; --pops) {
            const auto item = dq.pop();
            if (!item) break;
            seen.mark(*item);
            ++stats.popped;
        }
    }
    while (const auto item = dq.pop()) {  // drain; nullopt means empty, nobody pushes
        seen.mark(*item);
        ++stats.popped;
    }
    owner_done.store(true, std::memory_order_release);
    return stats;
}

TEST(WorkDeque, EveryItemExactlyOnceWithOneOwnerAndThreeThieves) {
    constexpr std::size_t thieves = 3;
    work_deque<void*> dq(256);
    seen_counter seen(stress_items);
    std::atomic<bool> owner_done{false};
    std::latch start(thieves + 1);
    std::vector<std::size_t> taken(thieves, 0);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < thieves; ++i) {
        threads.emplace_back(run_thief, std::ref(dq), nullptr, std::ref(seen), std::cref(owner_done),
                             std::ref(start), std::ref(taken[i]));
    }
    const owner_stats stats = run_owner(dq, nullptr, seen, stress_items, 0, owner_done, start);
    for (auto& t : threads) t.join();

    std::size_t stolen = 0;
    for (const std::size_t t : taken) stolen += t;
    EXPECT_EQ(stats.popped + stolen, stress_items);
    // Informational (no assertion: how much the thieves get depends on scheduling).
    RecordProperty("popped_by_owner", std::to_string(stats.popped));
    RecordProperty("taken_by_thieves", std::to_string(stolen));
    EXPECT_EQ(dq.size_approx(), 0u);
    seen.expect_each_exactly_once();
}

TEST(WorkDeque, EveryItemExactlyOnceWithCapacity4SpillingToTheInjectionQueue) {
    constexpr std::size_t thieves = 3;
    work_deque<void*> dq(4);
    injection_queue inj;
    seen_counter seen(stress_items);
    std::atomic<bool> owner_done{false};
    std::latch start(thieves + 1);
    // Overfill before any thief runs, so the spill path is taken at least once for sure.
    owner_stats prefill;
    for (std::size_t id = 0; id < 5; ++id) {
        while (!dq.push(to_item(id))) {
            void* spill[2];
            const std::size_t moved = dq.take_oldest(spill, 2);
            ASSERT_EQ(moved, 2u);
            inj.push_batch(spill, moved);
            ++prefill.spills;
        }
    }
    ASSERT_EQ(prefill.spills, 1u);
    ASSERT_EQ(inj.size_approx(), 2u);
    ASSERT_EQ(dq.size_approx(), 3u);

    std::vector<std::size_t> taken(thieves, 0);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < thieves; ++i) {
        threads.emplace_back(run_thief, std::ref(dq), &inj, std::ref(seen), std::cref(owner_done),
                             std::ref(start), std::ref(taken[i]));
    }
    const owner_stats stats = run_owner(dq, &inj, seen, stress_items, 5, owner_done, start);
    for (auto& t : threads) t.join();

    std::size_t stolen = 0;
    for (const std::size_t t : taken) stolen += t;
    EXPECT_EQ(stats.popped + stolen, stress_items);
    // Informational (no assertion: how much the thieves get depends on scheduling).
    RecordProperty("popped_by_owner", std::to_string(stats.popped));
    RecordProperty("taken_by_thieves", std::to_string(stolen));
    EXPECT_EQ(dq.size_approx(), 0u);
    EXPECT_TRUE(inj.empty());
    EXPECT_EQ(inj.try_pop(), nullptr);
    seen.expect_each_exactly_once();
    RecordProperty("spills", std::to_string(prefill.spills + stats.spills));
    RecordProperty("spilled_items", std::to_string(2 + stats.spilled_items));
}

// The runtime pushes coroutine frame addresses: whatever the owner wrote to a frame
// before push() must be visible to the thread that takes it. Plain (non-atomic) payloads
// make ThreadSanitizer check that push -> steal really is a happens-before edge.
TEST(WorkDeque, TakerSeesWhatTheOwnerWroteBeforePush) {
    constexpr std::size_t thieves = 3;
    const std::size_t n = stress_items / 4;
    struct payload {
        std::size_t value;  // written by the owner, read by whoever takes the item
        std::size_t id;
    };
    std::vector<payload> payloads(n);
    work_deque<void*> dq(8);
    std::atomic<std::size_t> wrong{0}, taken{0};
    std::atomic<bool> owner_done{false};
    std::latch start(thieves + 1);
    const auto check = [&](void* item) {
        const payload& p = *static_cast<const payload*>(item);
        if (p.value != 3 * p.id + 1) wrong.fetch_add(1, std::memory_order_relaxed);
        taken.fetch_add(1, std::memory_order_relaxed);
    };
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < thieves; ++i) {
        threads.emplace_back([&] {
            start.arrive_and_wait();
            for (;;) {
                const bool done = owner_done.load(std::memory_order_acquire);
                if (const auto item = dq.steal()) {
                    check(*item);
                } else if (done) {
                    return;
                } else {
                    std::this_thread::yield();
                }
            }
        });
    }
    start.arrive_and_wait();
    for (std::size_t id = 0; id < n; ++id) {
        payloads[id] = payload{3 * id + 1, id};
        while (!dq.push(&payloads[id])) {
            if (const auto mine = dq.pop()) check(*mine);
        }
        if (id % 3 == 0) {
            if (const auto mine = dq.pop()) check(*mine);
        }
    }
    while (const auto mine = dq.pop()) check(*mine);
    owner_done.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
    EXPECT_EQ(taken.load(), n);
    EXPECT_EQ(wrong.load(), 0u);
}

// ---- injection_queue --------------------------------------------------------------

TEST(InjectionQueue, IsFifoAndReportsEmpty) {
    injection_queue q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.size_approx(), 0u);
    EXPECT_EQ(q.try_pop(), nullptr);
    for (std::size_t id = 0; id < 100; ++id) q.push(to_item(id));
    EXPECT_FALSE(q.empty());
    EXPECT_EQ(q.size_approx(), 100u);
    for (std::size_t id = 0; id < 100; ++id) {
        void* item = q.try_pop();
        ASSERT_NE(item, nullptr);
        EXPECT_EQ(to_id(item), id);
    }
    EXPECT_EQ(q.try_pop(), nullptr);
    EXPECT_TRUE(q.empty());
}

TEST(InjectionQueue, BatchesKeepOrderAndRespectMax) {
    injection_queue q;
    std::vector<void*> in;
    for (std::size_t id = 0; id < 10; ++id) in.push_back(to_item(id));
    q.push_batch(in.data(), 0);
    EXPECT_TRUE(q.empty());
    q.push_batch(in.data(), 5);
    q.push(to_item(5));
    q.push_batch(in.data() + 6, 4);
    EXPECT_EQ(q.size_approx(), 10u);

    void* out[16] = {};
    EXPECT_EQ(q.pop_batch(out, 0), 0u);
    ASSERT_EQ(q.pop_batch(out, 4), 4u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(to_id(out[i]), i);
    EXPECT_EQ(to_id(q.try_pop()), 4u);
    ASSERT_EQ(q.pop_batch(out, 16), 5u);  // fewer than asked: all that is left
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(to_id(out[i]), 5 + i);
    EXPECT_EQ(q.pop_batch(out, 16), 0u);
    EXPECT_TRUE(q.empty());
}

TEST(InjectionQueue, EveryItemExactlyOnceWithFourProducersAndFourConsumers) {
    constexpr std::size_t producers = 4, consumers = 4;
    constexpr std::size_t per_producer = stress_items / 10;
    constexpr std::size_t n = producers * per_producer;
    injection_queue q;
    seen_counter seen(n);
    std::atomic<std::size_t> producers_done{0};
    std::latch start(producers + consumers);
    std::vector<std::size_t> taken(consumers, 0), order_violations(consumers, 0);
    std::vector<std::thread> threads;

    for (std::size_t p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            start.arrive_and_wait();
            void* batch[7];
            std::size_t id = p * per_producer;
            const std::size_t end = id + per_producer;
            for (std::size_t round = 0; id < end; ++round) {
                if (round % 2 == 0) {
                    q.push(to_item(id++));
                } else {
                    std::size_t k = 0;
                    while (k < 1 + round % 7 && id < end) batch[k++] = to_item(id++);
                    q.push_batch(batch, k);
                }
            }
            producers_done.fetch_add(1, std::memory_order_release);  // pairs with consumers' acquire
        });
    }
    for (std::size_t c = 0; c < consumers; ++c) {
        threads.emplace_back([&, c] {
            start.arrive_and_wait();
            // One FIFO queue and sequential pops: from each producer, this consumer must
            // see increasing ids.
            std::vector<std::size_t> next_min(producers, 0);
            void* buf[8];
            for (std::size_t round = 0;; ++round) {
                const bool done = producers_done.load(std::memory_order_acquire) == producers;
                std::size_t got = 0;
                if (round % 2 == 0) {
                    if (void* item = q.try_pop()) buf[got++] = item;
                } else {
                    got = q.pop_batch(buf, 1 + round % 8);
                }
                for (std::size_t i = 0; i < got; ++i) {
                    seen.mark(buf[i]);
                    const std::size_t id = to_id(buf[i]);
                    const std::size_t p = id / per_producer;
                    if (p >= producers || id < next_min[p]) {
                        ++order_violations[c];
                    } else {
                        next_min[p] = id + 1;
                    }
                }
                taken[c] += got;
                if (got == 0) {
                    if (done) return;
                    std::this_thread::yield();
                }
            }
        });
    }
    for (auto& t : threads) t.join();

    std::size_t total = 0;
    for (const std::size_t t : taken) total += t;
    EXPECT_EQ(total, n);
    for (const std::size_t v : order_violations) EXPECT_EQ(v, 0u);
    EXPECT_TRUE(q.empty());
    seen.expect_each_exactly_once();
}

}  // namespace
