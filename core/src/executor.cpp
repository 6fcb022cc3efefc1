#include <coring/core/executor.hpp>

namespace coring::detail {

constinit thread_local executor* tls_current_executor = nullptr;

}  // namespace coring::detail
