// nqueens: count the placements of N non-attacking queens, forking a task for every
// valid column of every row (DESIGN.md §5). N = 13: 73712 solutions; quick N = 10: 724.
//
// A board is the column of the queen of each filled row, copied into each child (the
// classic formulation: no shared state between tasks). `ns_per_task` divides by the
// nodes of the search tree (one task each), counted once, serially, outside the timing.
#include "harness.hpp"

#include <tbb/task_group.h>

#include <array>
#include <span>
#include <map>
#include <numeric>

namespace {

namespace cb = coring::bench;

using number = std::uint64_t;
constexpr int max_n = 16;

struct board {
  std::array<std::int8_t, max_n> column{};  // column[r] for rows r < the row being filled
};

constexpr number solutions(int n) {
  constexpr std::array<number, max_n + 1> known{1, 1, 0, 0, 2, 10, 4, 40, 92, 352, 724, 2680, 14200, 73712,
                                                365596, 2279184, 14772512};
  return known[static_cast<std::size_t>(n)];
}

// May a queen stand at (row, col), given the queens of rows [0, row)?
inline bool safe(const board& b, int row, int col) {
  for (int r = 0; r < row; ++r) {
    const int d = b.column[static_cast<std::size_t>(r)] - col;
    if (d == 0 || d == row - r || d == r - row) return false;
  }
  return true;
}

inline board place(const board& b, int row, int col) {
  board next = b;
  next.column[static_cast<std::size_t>(row)] = static_cast<std::int8_t>(col);
  return next;
}

[[gnu::noinline]] number queens_serial(int n, int row, const board& b) {
  if (row == n) return 1;
  number count = 0;
  for (int col = 0; col < n; ++col) {
    if (safe(b, row, col)) count += queens_serial(n, row + 1, place(b, row, col));
  }
  return count;
}

// Nodes of the search tree (the root included): the tasks the parallel versions create.
number queens_nodes(int n, int row, const board& b) {
  if (row == n) return 1;
  number nodes = 1;
  for (int col = 0; col < n; ++col) {
    if (safe(b, row, col)) nodes += queens_nodes(n, row + 1, place(b, row, col));
  }
  return nodes;
}

// Children and their counts live in this frame (gather_into): no heap allocation per node.
coring::task<number> queens_coring(int n, int row, board b) {
  if (row == n) co_return 1;
  std::array<coring::task<number>, max_n> children;
  std::array<number, max_n> counts{};
  std::size_t k = 0;
  for (int col = 0; col < n; ++col) {
    if (safe(b, row, col)) children[k++] = queens_coring(n, row + 1, place(b, row, col));
  }
  if (k == 0) co_return 0;
  co_await coring::gather_into(std::span(children.data(), k), std::span(counts.data(), k));
  co_return std::accumulate(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(k), number{0});
}

// Every valid column but the last forked, the last run inline, then wait (like gather).
number queens_tbb(int n, int row, const board& b) {
  if (row == n) return 1;
  std::array<number, max_n> counts{};
  tbb::task_group group;
  int last = -1;
  for (int col = 0; col < n; ++col) {
    if (!safe(b, row, col)) continue;
    if (last >= 0) {
      group.run([&counts, n, row, child = place(b, row, last), last] {
        counts[static_cast<std::size_t>(last)] = queens_tbb(n, row + 1, child);
      });
    }
    last = col;
  }
  if (last >= 0) counts[static_cast<std::size_t>(last)] = queens_tbb(n, row + 1, place(b, row, last));
  group.wait();
  return std::accumulate(counts.begin(), counts.end(), number{0});
}

// The std::thread contender: boards filled breadth-first until there are at least 64 per
// thread (or the rows run out), each then solved serially.
number queens_threads(int n, unsigned thread_count) {
  std::vector<board> frontier{board{}};
  int row = 0;
  while (row < n && frontier.size() < 64 * std::size_t{thread_count}) {
    std::vector<board> next;
    for (const board& b : frontier) {
      for (int col = 0; col < n; ++col) {
        if (safe(b, row, col)) next.push_back(place(b, row, col));
      }
    }
    frontier = std::move(next);
    ++row;
  }
  return cb::sum_on_threads(thread_count, frontier.size(),
                            [&, row](std::size_t i) { return queens_serial(n, row, frontier[i]); });
}

// The search tree's size for `n`, counted once per process (it takes as long as the
// serial solver) and only when a benchmark of that size runs.
number tree_nodes(int n) {
  static std::map<int, number> cache;
  auto [it, fresh] = cache.try_emplace(n, 0);
  if (fresh) it->second = queens_nodes(n, 0, board{});
  return it->second;
}

template <class Job>
void add_contender(const char* contender, int n, unsigned thread_count, Job job) {
  cb::add("nqueens", contender, static_cast<std::uint64_t>(n), [n, thread_count, job](benchmark::State& state) {
    const number nodes = tree_nodes(n);
    const auto result = cb::time_jobs(state, [&] { return job(n); });
    if (!result.ok) return;
    cb::verify(state, result.value, solutions(n), "nqueens(" + std::to_string(n) + ")");
    cb::report_threads(state, thread_count);
    cb::report_ns_per_item(state, "ns_per_task", result, static_cast<double>(nodes));
    state.counters["tasks"] = benchmark::Counter(static_cast<double>(nodes));
  });
}

}  // namespace

void coring::bench::register_benchmarks() {
  const int n = quick() ? 10 : 13;
  const unsigned t = threads();

  add_contender("coring", n, t, [](int k) { return shared_runtime().block_on(queens_coring(k, 0, board{})); });
  add_contender("tbb", n, t, [](int k) {
    number r = 0;
    shared_arena().execute([&] { r = queens_tbb(k, 0, board{}); });
    return r;
  });
  add_contender("std_thread", n, t, [t](int k) { return queens_threads(k, t); });
  add_contender("serial", n, 1, [](int k) { return queens_serial(k, 0, board{}); });
}
