// Per-thread recycling allocator for coroutine frames.
//
// Every task's promise allocates its frame here. Frames up to `frame_max_cached` bytes
// are rounded up to a 64-byte size class and recycled through a free list owned by the
// calling thread: allocation and release on the hot path are a few loads and stores,
// with no lock, no atomic and no malloc. A frame may be released on a different thread
// from the one that allocated it (a stolen task finishes on the thief); it then simply
// joins the releasing thread's list. A list longer than `frame_cache_limit` gives half
// of its blocks to a process-wide pool in one batch, and an empty list refills from that
// pool before carving a new 16 KiB slab, so memory migrates between threads in batches
// instead of piling up on the thread that happens to free. When a thread exits, its
// lists go back to the pool. Frame memory is kept for reuse, never returned to malloc:
// the process holds the peak of its concurrently live frames.
//
// Under AddressSanitizer frames go straight to operator new/delete so that a
// use-after-free of a frame is still reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define CORING_FRAME_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORING_FRAME_PASSTHROUGH 1
#endif
#endif

namespace coring::detail {

inline constexpr std::size_t frame_granule = 64;
inline constexpr std::size_t frame_classes = 32;  // sizes up to 2 KiB are cached
inline constexpr std::size_t frame_max_cached = frame_granule * frame_classes;
inline constexpr std::uint32_t frame_cache_limit = 1024;  // blocks per class per thread

// Trivial so that access needs no TLS guard or wrapper call.
struct frame_cache {
  void* head[frame_classes];
  std::uint32_t count[frame_classes];
  bool registered;  // the exit hook that returns this thread's blocks is installed
};
extern constinit thread_local frame_cache tls_frame_cache;

void* allocate_frame_slow(std::size_t size_class);
void deallocate_frame_slow(void* block, std::size_t size_class) noexcept;

inline void* allocate_frame(std::size_t size) {
#ifndef CORING_FRAME_PASSTHROUGH
  const std::size_t cls = (size - 1) / frame_granule;
  if (cls < frame_classes) [[likely]] {
    frame_cache& cache = tls_frame_cache;
    if (void* block = cache.head[cls]) [[likely]] {
      cache.head[cls] = *static_cast<void**>(block);
      --cache.count[cls];
      return block;
    }
    return allocate_frame_slow(cls);
  }
#endif
  return ::operator new(size);
}

inline void deallocate_frame(void* block, std::size_t size) noexcept {
#ifndef CORING_FRAME_PASSTHROUGH
  const std::size_t cls = (size - 1) / frame_granule;
  if (cls < frame_classes) [[likely]] {
    frame_cache& cache = tls_frame_cache;
    if (cache.count[cls] < frame_cache_limit && cache.registered) [[likely]] {
      *static_cast<void**>(block) = cache.head[cls];
      cache.head[cls] = block;
      ++cache.count[cls];
      return;
    }
    deallocate_frame_slow(block, cls);
    return;
  }
#endif
  ::operator delete(block, size);
}

// Blocks currently cached by the calling thread, and in the shared pool (for tests).
std::size_t cached_frames_this_thread() noexcept;
std::size_t pooled_frames() noexcept;

}  // namespace coring::detail
