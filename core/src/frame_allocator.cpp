#include <coring/core/frame_allocator.hpp>

#include <algorithm>
#include <mutex>

namespace coring::detail {

constinit thread_local frame_cache tls_frame_cache{};

namespace {

// The process-wide pool behind the per-thread lists. Blocks move in and out in batches
// of half a thread list, under one mutex. Blocks come from slabs and are kept for reuse:
// frame memory stays at its peak (like most allocators' caches).
constexpr std::size_t slab_bytes = 16 * 1024;

std::size_t class_bytes(std::size_t cls) noexcept { return (cls + 1) * frame_granule; }

class frame_pool {
 public:
  // Moves up to `want` blocks into `cache`'s list for `cls`; returns how many it moved.
  std::uint32_t refill(frame_cache& cache, std::size_t cls, std::uint32_t want) {
    std::lock_guard lock(mutex_);
    std::uint32_t moved = 0;
    while (moved < want && head_[cls] != nullptr) {
      void* block = head_[cls];
      head_[cls] = *static_cast<void**>(block);
      *static_cast<void**>(block) = cache.head[cls];
      cache.head[cls] = block;
      ++moved;
    }
    count_[cls] -= moved;
    cache.count[cls] += moved;
    return moved;
  }

  // Takes `n` blocks from the front of `cache`'s list for `cls`.
  void take(frame_cache& cache, std::size_t cls, std::uint32_t n) noexcept {
    std::lock_guard lock(mutex_);
    for (std::uint32_t i = 0; i < n && cache.head[cls] != nullptr; ++i) {
      void* block = cache.head[cls];
      cache.head[cls] = *static_cast<void**>(block);
      --cache.count[cls];
      *static_cast<void**>(block) = head_[cls];
      head_[cls] = block;
      ++count_[cls];
    }
  }

  std::size_t size() noexcept {
    std::lock_guard lock(mutex_);
    std::size_t total = 0;
    for (auto c : count_) total += c;
    return total;
  }

 private:
  std::mutex mutex_;
  void* head_[frame_classes] = {};
  std::uint32_t count_[frame_classes] = {};
};

// Never destroyed: threads may still return blocks while static destructors run. The
// blocks stay reachable from here, so leak checkers do not report them.
frame_pool& pool() {
  static frame_pool* instance = new frame_pool;
  return *instance;
}

// Returns the exiting thread's blocks to the pool.
struct exit_hook {
  ~exit_hook() {
    frame_cache& cache = tls_frame_cache;
    for (std::size_t cls = 0; cls < frame_classes; ++cls) pool().take(cache, cls, cache.count[cls]);
    cache.registered = false;
  }
};

void register_exit_hook(frame_cache& cache) {
  static thread_local exit_hook hook;
  (void)hook;  // odr-use constructs it, which registers its destructor for this thread
  cache.registered = true;
}

// Carves a fresh slab into blocks of class `cls` on `cache`'s list. One malloc per slab
// instead of one per frame: a spawn burst on a worker otherwise pays a malloc (and, in a
// glibc thread arena, page faults and mprotect calls) per frame. Slab blocks are never
// given back to malloc; the pool keeps them (see frame_pool::take).
void refill_from_slab(frame_cache& cache, std::size_t cls) {
  const std::size_t bytes = class_bytes(cls);
  const std::size_t blocks = std::max<std::size_t>(32, slab_bytes / bytes);
  auto* slab = static_cast<unsigned char*>(::operator new(blocks * bytes));
  for (std::size_t i = 0; i < blocks; ++i) {
    void* block = slab + i * bytes;
    *static_cast<void**>(block) = cache.head[cls];
    cache.head[cls] = block;
  }
  cache.count[cls] += static_cast<std::uint32_t>(blocks);
}

}  // namespace

void* allocate_frame_slow(std::size_t cls) {
  frame_cache& cache = tls_frame_cache;
  if (!cache.registered) register_exit_hook(cache);
  if (pool().refill(cache, cls, frame_cache_limit / 2) == 0) refill_from_slab(cache, cls);
  void* block = cache.head[cls];
  cache.head[cls] = *static_cast<void**>(block);
  --cache.count[cls];
  return block;
}

void deallocate_frame_slow(void* block, std::size_t cls) noexcept {
  frame_cache& cache = tls_frame_cache;
  if (!cache.registered) {
    try {
      register_exit_hook(cache);
    } catch (...) {
      ::operator delete(block, class_bytes(cls));
      return;
    }
  }
  if (cache.count[cls] >= frame_cache_limit) pool().take(cache, cls, frame_cache_limit / 2);
  *static_cast<void**>(block) = cache.head[cls];
  cache.head[cls] = block;
  ++cache.count[cls];
}

std::size_t cached_frames_this_thread() noexcept {
  std::size_t total = 0;
  for (auto c : tls_frame_cache.count) total += c;
  return total;
}

std::size_t pooled_frames() noexcept { return pool().size(); }

}  // namespace coring::detail
