// cancel_source: flags up the chain, callbacks, lazy linking to the parent, races.
#include <coring/core/cancel.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using coring::detail::cancel_callback;
using coring::detail::cancel_source;

namespace {
struct counting_callback : cancel_callback {
  std::atomic<int> runs{0};
  counting_callback() {
    on_cancel = [](cancel_callback& cb) noexcept { static_cast<counting_callback&>(cb).runs.fetch_add(1); };
  }
};
}  // namespace

TEST(cancel_source, request_runs_attached_callbacks_once) {
  cancel_source s;
  counting_callback a, b;
  EXPECT_TRUE(s.attach(a));
  EXPECT_TRUE(s.attach(b));
  s.request();
  s.request();
  EXPECT_EQ(a.runs.load(), 1);
  EXPECT_EQ(b.runs.load(), 1);
  EXPECT_FALSE(s.detach(a));  // already ran
  EXPECT_TRUE(s.requested());
}

TEST(cancel_source, detached_callback_never_runs) {
  cancel_source s;
  counting_callback a;
  EXPECT_TRUE(s.attach(a));
  EXPECT_TRUE(s.detach(a));
  s.request();
  EXPECT_EQ(a.runs.load(), 0);
}

TEST(cancel_source, attach_after_request_is_refused) {
  cancel_source s;
  s.request();
  counting_callback a;
  EXPECT_FALSE(s.attach(a));
  EXPECT_EQ(a.runs.load(), 0);
}

TEST(cancel_source, parent_request_reaches_child_callbacks) {
  cancel_source root;
  cancel_source mid(&root);
  cancel_source leaf(&mid);
  counting_callback a;
  EXPECT_TRUE(leaf.attach(a));  // links leaf into mid, mid into root
  EXPECT_FALSE(leaf.requested());
  root.request();
  EXPECT_TRUE(leaf.requested());
  EXPECT_EQ(a.runs.load(), 1);
}

TEST(cancel_source, attach_under_cancelled_parent_runs_nothing_and_refuses) {
  cancel_source root;
  root.request();
  cancel_source child(&root);
  counting_callback a;
  EXPECT_FALSE(child.attach(a));
  EXPECT_EQ(a.runs.load(), 0);
  EXPECT_TRUE(child.requested());
}

TEST(cancel_source, child_destroyed_before_parent_request_is_unlinked) {
  cancel_source root;
  counting_callback a;
  {
    cancel_source child(&root);
    EXPECT_TRUE(child.attach(a));
    EXPECT_TRUE(child.detach(a));
  }
  root.request();  // must not touch the destroyed child
  EXPECT_EQ(a.runs.load(), 0);
}

TEST(cancel_source, concurrent_request_and_detach_run_each_callback_at_most_once) {
  for (int round = 0; round < 2000; ++round) {
    cancel_source root;
    cancel_source child(&root);
    std::vector<counting_callback> cbs(8);
    for (auto& cb : cbs) ASSERT_TRUE(child.attach(cb));
    std::atomic<int> detached_ok{0};
    std::thread canceller([&] { root.request(); });
    std::thread detacher([&] {
      for (auto& cb : cbs) detached_ok += child.detach(cb) ? 1 : 0;
    });
    canceller.join();
    detacher.join();
    int ran = 0;
    for (auto& cb : cbs) {
      EXPECT_LE(cb.runs.load(), 1);
      ran += cb.runs.load();
    }
    EXPECT_EQ(ran + detached_ok.load(), 8);  // each either ran or was detached, never both
  }
}
