// The frame allocator recycles frames per thread and accepts frames freed elsewhere.
#include <coring/core/frame_allocator.hpp>
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

using namespace coring::detail;

#ifndef CORING_FRAME_PASSTHROUGH
TEST(frame_allocator, recycles_on_the_same_thread) {
  void* a = allocate_frame(100);
  deallocate_frame(a, 100);
  void* b = allocate_frame(90);  // same 128-byte class
  EXPECT_EQ(a, b);
  deallocate_frame(b, 90);
}

TEST(frame_allocator, thread_list_is_bounded_and_spills_to_pool) {
  std::vector<void*> blocks;
  for (int i = 0; i < 3000; ++i) blocks.push_back(allocate_frame(200));
  const std::size_t pooled_before = pooled_frames();
  for (void* b : blocks) deallocate_frame(b, 200);
  EXPECT_LE(cached_frames_this_thread(), 32u * frame_cache_limit);
  EXPECT_GT(pooled_frames(), pooled_before);
}

TEST(frame_allocator, exiting_thread_returns_its_blocks) {
  const std::size_t before = pooled_frames();
  std::thread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 100; ++i) blocks.push_back(allocate_frame(300));
    for (void* b : blocks) deallocate_frame(b, 300);
  }).join();
  EXPECT_GE(pooled_frames(), before + 100);
}
#endif

TEST(frame_allocator, frames_freed_on_another_thread) {
  // Producer allocates, consumer frees: every block distinct while live, nothing lost.
  constexpr int n = 200000;
  std::vector<void*> blocks(n);
  for (int round = 0; round < 3; ++round) {
    std::thread producer([&] {
      for (auto& b : blocks) {
        b = allocate_frame(150);
        *static_cast<int*>(b) = round;
      }
    });
    producer.join();
    std::set<void*> distinct(blocks.begin(), blocks.end());
    EXPECT_EQ(distinct.size(), static_cast<std::size_t>(n));
    std::thread consumer([&] {
      for (void* b : blocks) deallocate_frame(b, 150);
    });
    consumer.join();
  }
}

TEST(frame_allocator, large_frames_bypass_the_cache) {
  void* p = allocate_frame(frame_max_cached + 1);
  ASSERT_NE(p, nullptr);
  deallocate_frame(p, frame_max_cached + 1);
}
