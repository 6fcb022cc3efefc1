// The g++ < 13 co_await-temporary bug (issue 11; GCC PRs 99576, 100611, 101367, 101976):
// an aggregate or a capturing lambda built inside a co_await operand, or in the arguments
// of a coroutine call, is destroyed twice. Each case below sends, offloads or spawns a
// std::string longer than the small-string buffer, so a double destruction is a double
// free that AddressSanitizer reports (tools/test asan-gcc runs this under g++).
//
// The safe forms, which every compiler builds correctly, run everywhere: a named value
// moved in, or a type with a user-declared constructor. The forms g++ 12 miscompiles run
// only where the compiler is not affected, so that they stay tested there.
#include "co_test.hpp"

#include <coring/core/channel.hpp>
#include <coring/io/blocking.hpp>

#include <string>
#include <utility>

namespace {

const std::string long_name(48, 'n');  // on the heap: a double free is visible

struct msg {  // an aggregate: the unsafe case in a co_await operand under g++ < 13
  std::string name;
};

struct named_msg {  // a user-declared constructor: safe everywhere
  explicit named_msg(std::string n) : name(std::move(n)) {}
  std::string name;
};

coring::task<std::size_t> length_of(msg m) {
  co_await coring::yield();
  co_return m.name.size();
}

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#define CORING_AFFECTED_GCC 1
#endif

}  // namespace

CO_TEST(gcc_aggregate, named_value_moved_into_send) {
  coring::channel<msg> ch(4);
  std::string name = long_name;
  msg m{name};
  co_await ch.send(std::move(m));
  auto got = co_await ch.recv();
  CO_ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, long_name);
}

CO_TEST(gcc_aggregate, type_with_a_constructor_in_send) {
  coring::channel<named_msg> ch(4);
  co_await ch.send(named_msg(long_name));
  auto got = co_await ch.recv();
  CO_ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, long_name);
}

CO_TEST(gcc_aggregate, named_lambda_moved_into_blocking) {
  std::string s = long_name;
  auto fn = [s] { return s.size(); };
  EXPECT_EQ(co_await coring::blocking(std::move(fn)), long_name.size());
}

CO_TEST(gcc_aggregate, named_task_moved_into_spawn) {
  msg m{long_name};
  auto t = length_of(std::move(m));
  auto h = coring::spawn(std::move(t));
  EXPECT_EQ(co_await std::move(h), long_name.size());
}

#if !defined(CORING_AFFECTED_GCC) || defined(CORING_TEST_UNSAFE_FORMS)
// The spellings that double-free under g++ < 13: correct on clang and g++ >= 13.
// (-DCORING_TEST_UNSAFE_FORMS builds them on g++ 12 too, to watch ASan report the bug.)
CO_TEST(gcc_aggregate, unsafe_forms_on_unaffected_compilers) {
  std::string name = long_name;
  coring::channel<msg> ch(4);
  co_await ch.send(msg{name});
  auto got = co_await ch.recv();
  CO_ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, long_name);
  EXPECT_EQ(co_await coring::blocking([name] { return name.size(); }), long_name.size());
  EXPECT_EQ(co_await coring::spawn(length_of(msg{name})), long_name.size());
}
#endif
