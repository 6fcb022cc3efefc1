#include <coring/core/frame_allocator.hpp>

#include <mutex>

namespace coring::detail {

constinit thread_local frame_cache tls_frame_cache{};

namespace {

// The process-wide pool behind the per-thread lists. Blocks move in and out in batches
// of half a thread list, under one mutex; beyond `pool_limit` blocks per class the pool
// returns memory to malloc instead of hoarding it.
constexpr std::uint32_t pool_limit = 64 * 1024;

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
      if (count_[cls] >= pool_limit) {
        ::operator delete(block, class_bytes(cls));
        continue;
      }
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

}  // namespace

void* allocate_frame_slow(std::size_t cls) {
  frame_cache& cache = tls_frame_cache;
  if (!cache.registered) register_exit_hook(cache);
  if (pool().refill(cache, cls, frame_cache_limit / 2) != 0) {
    void* block = cache.head[cls];
    cache.head[cls] = *static_cast<void**>(block);
    --cache.count[cls];
    return block;
  }
  return ::operator new(class_bytes(cls));
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
