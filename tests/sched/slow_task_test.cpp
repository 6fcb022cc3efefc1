// The slow-task detector (issue 12, item 1): a task that keeps its worker from every other
// task for longer than CORING_SLOW_TASK_MS is reported on stderr, with the worker's stack
// (the test binary is linked with ENABLE_EXPORTS, so its own functions show by name), and
// a second line once the worker runs again.
#include "co_test.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <cstdlib>

// Not in an anonymous namespace: the stack names only exported functions.
[[gnu::noinline]] void coring_test_block_until_reported(std::size_t reports_before) {
  // Blocks its worker without a co_await until the detector has reported it (at most
  // 30 s): how soon that happens is a figure for bench/, not something to assert here.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (coring::slow_task_reports() == reports_before && std::chrono::steady_clock::now() < give_up) {
  }
}

coring::task<void> coring_test_blocking_task(std::size_t reports_before) {
  coring_test_block_until_reported(reports_before);
  co_return;
}

namespace {

coring::task<int> quick(int i) { co_return i; }

}  // namespace

TEST(slow_task, a_task_that_blocks_its_worker_is_reported_with_the_workers_stack) {
  const std::size_t before = coring::slow_task_reports();
  testing::internal::CaptureStderr();
  {
    coring::runtime_options o = coring::testing::co_test_options(2);
    o.slow_task_ms = 50;
    coring::runtime rt(o);
    rt.block_on(coring_test_blocking_task(before));
    EXPECT_EQ(rt.block_on(quick(7)), 7);  // the runtime goes on as before
  }  // ~runtime stops the watchdog, which ends the report with its "running again" line
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(coring::slow_task_reports(), before + 1) << err;
  EXPECT_NE(err.find("coring: slow task: worker "), std::string::npos) << err;
  EXPECT_NE(err.find("CORING_SLOW_TASK_MS=50"), std::string::npos) << err;
  EXPECT_NE(err.find("coring_test_block_until_reported"), std::string::npos) << "no stack with names:\n" << err;
  EXPECT_NE(err.find("is running again"), std::string::npos) << err;
}

TEST(slow_task, off_by_default_and_bad_values_are_refused_by_name) {
  const coring::runtime_config c = coring::resolve_config(coring::runtime_options{});
  if (std::getenv("CORING_SLOW_TASK_MS") == nullptr) {
    EXPECT_EQ(c.slow_task_ms, 0U);
  }
  coring::runtime_options o;
  o.slow_task_ms = 60001;
  try {
    (void)coring::resolve_config(o);
    ADD_FAILURE() << "60001 accepted";
  } catch (const coring::config_error& e) {
    EXPECT_NE(std::string(e.what()).find("runtime_options::slow_task_ms"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[0, 60000]"), std::string::npos) << e.what();
  }
}
