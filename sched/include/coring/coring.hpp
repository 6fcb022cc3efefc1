// The whole public API of coring.
#pragma once

#include <coring/core/cancel.hpp>
#include <coring/core/executor.hpp>
#include <coring/core/gather.hpp>
#include <coring/core/generator.hpp>
#include <coring/core/sync.hpp>
#include <coring/core/task.hpp>
#include <coring/core/when_any.hpp>
#include <coring/io/blocking.hpp>
#include <coring/io/buffered_reader.hpp>
#include <coring/io/error.hpp>
#include <coring/io/file.hpp>
#include <coring/io/io_context.hpp>
#include <coring/io/net.hpp>
#include <coring/io/pipe.hpp>
#include <coring/io/process.hpp>
#include <coring/io/reactor.hpp>
#include <coring/io/signal.hpp>
#include <coring/io/timer.hpp>
#include <coring/sched/compute.hpp>
#include <coring/sched/config.hpp>
#include <coring/sched/join_handle.hpp>
#include <coring/sched/runtime.hpp>
#include <coring/sched/task_group.hpp>
