// full_fence(): a store->load (seq_cst) fence at the cost the hardware asks for.
//
// std::atomic_thread_fence(seq_cst) is `mfence` under clang-19 (33 ns on the EPYC this
// project measures on) and `lock or` on a stack slot under g++ 12 (5 ns). On x86 every
// locked read-modify-write is a full barrier for ordinary loads and stores, so
// full_fence() emits the locked OR with both compilers: an OR of zero into the word at
// the stack pointer, which leaves it unchanged. The "memory" clobber keeps the compiler
// from moving loads and stores across it, as the standard fence does.
//
// ThreadSanitizer models only the standard fences, so its builds (and other
// architectures) use std::atomic_thread_fence(seq_cst) itself.
#pragma once

#include <atomic>

#if defined(__SANITIZE_THREAD__)
#define CORING_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CORING_TSAN_BUILD 1
#endif
#endif

namespace coring::detail {

inline void full_fence() noexcept {
#if defined(__x86_64__) && !defined(CORING_TSAN_BUILD)
  asm volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace coring::detail
