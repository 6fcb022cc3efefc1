// CORING_SANITIZED is defined when the test is built with ThreadSanitizer or
// AddressSanitizer (g++ or clang spelling), so stress tests can scale their sizes down.
#pragma once

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define CORING_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define CORING_SANITIZED 1
#endif
#endif
