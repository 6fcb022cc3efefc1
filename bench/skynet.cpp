// skynet: a 10-ary tree of tasks whose leaves return their id; the root returns the sum
// (DESIGN.md §5). 10^6 leaves (depth 6, 1,111,111 tasks): sum 499999500000; quick: 10^5
// leaves (depth 5): 4999950000.
//
// Peak memory (design target: <= 32 MiB) is measured per run by bench::rss_probe; coring
// is registered first so that its figure stays clean even where the kernel refuses to
// reset the process's high-water mark (see rss_probe in harness.hpp).
#include "harness.hpp"

#include <tbb/task_group.h>

#include <array>
#include <numeric>

namespace {

namespace cb = coring::bench;

using number = std::uint64_t;
constexpr number fanout = 10;

constexpr number pow10(unsigned depth) {
  number p = 1;
  for (unsigned i = 0; i < depth; ++i) p *= fanout;
  return p;
}
// Tasks in the tree: 10^0 + 10^1 + ... + 10^depth.
constexpr number tree_tasks(unsigned depth) { return depth == 0 ? 1 : pow10(depth) + tree_tasks(depth - 1); }
constexpr number leaf_sum(number leaves) { return leaves * (leaves - 1) / 2; }
static_assert(leaf_sum(pow10(6)) == 499999500000 && leaf_sum(pow10(5)) == 4999950000);
static_assert(tree_tasks(6) == 1111111);

// The subtree whose leaves are [first, first + size).
[[gnu::noinline]] number skynet_serial(number first, number size) {
  if (size == 1) return first;
  const number step = size / fanout;
  number sum = 0;
  for (number i = 0; i < fanout; ++i) sum += skynet_serial(first + i * step, step);
  return sum;
}

coring::task<number> skynet_coring(number first, number size) {
  if (size == 1) co_return first;
  const number step = size / fanout;
  // Children and sums live in this frame (gather_into): no heap allocation per node.
  std::array<coring::task<number>, fanout> children;
  std::array<number, fanout> sums{};
  for (number i = 0; i < fanout; ++i) children[i] = skynet_coring(first + i * step, step);
  co_await coring::gather_into(children, sums);
  co_return std::accumulate(sums.begin(), sums.end(), number{0});
}

// Nine children forked, the tenth run inline, then wait (like gather).
number skynet_tbb(number first, number size) {
  if (size == 1) return first;
  const number step = size / fanout;
  std::array<number, fanout> sums{};
  tbb::task_group group;
  for (number i = 0; i + 1 < fanout; ++i) {
    group.run([&sums, i, first, step] { sums[i] = skynet_tbb(first + i * step, step); });
  }
  sums[fanout - 1] = skynet_tbb(first + (fanout - 1) * step, step);
  group.wait();
  return std::accumulate(sums.begin(), sums.end(), number{0});
}

// The std::thread contender: the tree cut into at least 64 subtrees per thread, each
// summed serially.
number skynet_threads(number leaves, unsigned thread_count) {
  number subtrees = 1;
  while (subtrees < 64 * number{thread_count} && subtrees < leaves) subtrees *= fanout;
  const number step = leaves / subtrees;
  return cb::sum_on_threads(thread_count, subtrees, [step](std::size_t i) { return skynet_serial(i * step, step); });
}

template <class Job>
void add_contender(const char* contender, unsigned depth, unsigned thread_count, Job job) {
  const number leaves = pow10(depth);
  cb::add("skynet", contender, leaves, [leaves, depth, thread_count, job](benchmark::State& state) {
    const cb::rss_probe memory;
    const auto result = cb::time_jobs(state, [&] { return job(leaves); });
    if (!result.ok) return;
    memory.report(state);
    cb::verify(state, result.value, leaf_sum(leaves), "sum of leaf ids");
    cb::report_threads(state, thread_count);
    cb::report_ns_per_item(state, "ns_per_task", result, static_cast<double>(tree_tasks(depth)));
    state.counters["tasks"] = benchmark::Counter(static_cast<double>(tree_tasks(depth)));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const unsigned depth = quick() ? 5 : 6;
  const unsigned t = threads();

  // coring first: see the note on peak memory at the top.
  add_contender("coring", depth, t, [](number leaves) { return shared_runtime().block_on(skynet_coring(0, leaves)); });
  add_contender("tbb", depth, t, [](number leaves) {
    number r = 0;
    shared_arena().execute([&] { r = skynet_tbb(0, leaves); });
    return r;
  });
  add_contender("std_thread", depth, t, [t](number leaves) { return skynet_threads(leaves, t); });
  add_contender("serial", depth, 1, [](number leaves) { return skynet_serial(0, leaves); });
}
