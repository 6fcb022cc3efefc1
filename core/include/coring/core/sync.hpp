// The synchronisation primitives of coring, none of which blocks a thread: a task that
// waits is suspended and later resumed through the executor it suspended on.
//   coring::mutex        FIFO hand-off lock, `co_await m.lock()` -> scoped guard
//   coring::semaphore    counting semaphore
//   coring::event        set/clear/wait flag; set() wakes every waiter
//   coring::channel<T>   bounded or unbounded MPMC queue with close()
// The shared suspension/cancellation protocol is described in detail/wait_queue.hpp.
#pragma once

#include <coring/core/channel.hpp>
#include <coring/core/event.hpp>
#include <coring/core/mutex.hpp>
#include <coring/core/semaphore.hpp>
