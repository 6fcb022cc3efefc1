"""The targets of DESIGN.md §5 ("The benchmark suite"), as data.

Keep this table in step with the `target` column of DESIGN.md §5. A target is checked in
the same run (a ratio between contenders measured side by side, never against a number
from another machine), at every size the report shows; where the size differs from the
one DESIGN.md states the target for, the verdict is marked as indicative.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    family: str
    text: str                  # how DESIGN.md §5 states it
    short: str                 # table header
    kind: str                  # see evaluate() in report.py
    baseline: str | None = None
    limit: float = 0.0
    counter: str | None = None
    defined_at: tuple[str, ...] = ()   # sizes the target is stated for; () = any
    workers: int | None = None         # applies only when run on this many workers
    contender: str = "coring"          # whose figure is judged (coring_1worker: the pinned case)


TARGETS: list[Target] = [
    # kind "ratio_max": coring / baseline <= limit (lower metric is better).
    # kind "cheaper_min": baseline / coring >= limit, per task.
    # kind "counter_max": coring's counter (worst repetition) <= limit.
    # kind "counter_ratio_max": median of the contender's counter / median of the
    #   baseline's same counter <= limit (latency percentiles side by side).
    # kind "manual": stated for the reader, not checked by the runner.
    Target("spawn_join", "≤ 0.5× oneTBB task_group (ns per task)",
           "≤ 0.5× tbb", "ratio_max", baseline="tbb", limit=0.5),
    Target("spawn_join", "≥ 300× cheaper per task than std::thread",
           "≥ 300× cheaper than std_thread", "cheaper_min", baseline="std_thread", limit=300),
    Target("fib", "fib(35) ≤ 0.30× oneTBB task_group (stretch 0.20×)",
           "≤ 0.30× tbb", "ratio_max", baseline="tbb", limit=0.30, defined_at=("35",)),
    Target("skynet", "1M leaves ≤ 0.40× oneTBB task_group",
           "≤ 0.40× tbb", "ratio_max", baseline="tbb", limit=0.40,
           defined_at=("1000000",)),
    Target("skynet", "1M leaves in ≤ 32 MiB peak RSS",
           "≤ 32 MiB peak RSS", "counter_max", counter="peak_rss_mib", limit=32,
           defined_at=("1000000",)),
    Target("nqueens", "nqueens(13) ≤ 0.85× oneTBB task_group",
           "≤ 0.85× tbb", "ratio_max", baseline="tbb", limit=0.85, defined_at=("13",)),
    Target("nqueens", "nqueens(13) ≤ 1.15× serial on 1 worker",
           "≤ 1.15× serial (1 worker)", "ratio_max", baseline="serial", limit=1.15,
           defined_at=("13",), workers=1),
    Target("ping_pong", "≤ 100 ns per round trip on one worker", "", "manual"),
    Target("channel_mpmc", "4 producers × 4 consumers, 10M items: ≥ 20M items/s", "",
           "manual"),
    # sleep_many: the start-up ratio compares the start_ms counters of two contenders,
    # which no kind checks; the 1M limits are coring's own counters.
    Target("sleep_many", "10k sleepers: ≥ 50× faster to start than 10k std::threads "
           "(start_ms)", "", "manual"),
    Target("sleep_many", "1M × 100 ms done in ≤ 1.5 s",
           "1M done ≤ 1.5 s", "counter_max", counter="wall_s", limit=1.5,
           defined_at=("1000000",)),
    Target("sleep_many", "1M × 100 ms in ≤ 256 MiB peak RSS",
           "≤ 256 MiB peak RSS", "counter_max", counter="peak_rss_mib", limit=256,
           defined_at=("1000000",)),
    # "≥ k× X" in throughput is "coring's wall time ≤ 1/k × X's" for the same job (issue 9).
    # Sizes are connections/message bytes.
    Target("tcp_echo", "≥ 1.10× the raw io_uring loop (round trips/s) at 64, 512, 2000 × 64 B "
           "and 64 × 4 KiB", "≥ 1.10× raw_io_uring", "ratio_max", baseline="raw_io_uring",
           limit=1 / 1.10, defined_at=("64/64", "512/64", "2000/64", "64/4096")),
    Target("tcp_echo", "p99 on 2 workers ≤ 1.2× p99 on 1 worker at the same load",
           "p99 ≤ 1.2× coring_1worker", "counter_ratio_max", baseline="coring_1worker",
           counter="p99_us", limit=1.2, defined_at=("64/64", "512/64", "2000/64", "64/4096"),
           workers=2),
    Target("offload", "blocking(noop) ≤ 10 µs median", "", "manual"),
    # stall: each kind's worst lateness over every round (the runs are few and long, so
    # the max stands for p99).
    Target("stall", "woken work on a worker that computes 300 ms runs elsewhere within 2 ms (channel)",
           "channel ≤ 2 ms", "counter_max", counter="channel_max_us", limit=2000, defined_at=("300",)),
    Target("stall", "... (socket read completion)",
           "read ≤ 2 ms", "counter_max", counter="read_max_us", limit=2000, defined_at=("300",)),
    Target("stall", "... (timer)",
           "timer ≤ 2 ms", "counter_max", counter="timer_max_us", limit=2000, defined_at=("300",)),
    Target("file_read", "≥ 1.0× pread on 2 threads (1 GiB)",
           "≥ 1.0× pread (2 threads)", "ratio_max", baseline="std_thread", limit=1.0,
           defined_at=("1024",)),
    # http_plaintext is judged by 1 s / requests_per_s (results.RATE_FAMILIES).
    Target("http_plaintext", "≥ 1.3× nginx's requests/s (2 workers each) at 64, 256, 1024 "
           "connections", "≥ 1.3× nginx", "ratio_max", baseline="nginx", limit=1 / 1.3,
           defined_at=("64", "256", "1024")),
    Target("http_plaintext", "p99 ≤ nginx's p99", "p99 ≤ nginx", "counter_ratio_max",
           baseline="nginx", counter="p99_us", limit=1.0, defined_at=("64", "256", "1024")),
    Target("http_plaintext", "1 worker pinned beside a pinned wrk: p99 ≤ nginx's (1 worker) "
           "at 256 connections", "1-worker p99 ≤ nginx_1worker", "counter_ratio_max",
           baseline="nginx_1worker", counter="p99_us", limit=1.0, defined_at=("256",),
           contender="coring_1worker"),
    Target("http_plaintext", "≤ 1 KiB of server memory per idle keep-alive connection", "",
           "manual"),
    # slow_task (issue 12): the job time of slow_task/coring/100 is the mean delay; the
    # counter is the worst round.
    Target("slow_task", "a task blocking a worker 300 ms with CORING_SLOW_TASK_MS=100 is reported "
           "within 150 ms of crossing it", "report ≤ 150 ms late", "counter_max",
           counter="report_max_ms", limit=150, defined_at=("100",)),
    Target("slow_task", "the detector on costs ≤ 2% (fib by gather)", "on ≤ 1.02× off", "ratio_max",
           baseline="coring", limit=1.02, contender="coring_detector", defined_at=("32",)),
    # subprocess (issue 13): the job is 1,000 children started and reaped; zombies and
    # leaked descriptors are checked as the answer (a job with either fails).
    Target("subprocess", "1,000 concurrent /bin/true started and reaped in ≤ 1 s, 0 zombies, "
           "0 descriptors leaked", "1,000 in ≤ 1 s", "counter_max", counter="wall_s", limit=1.0,
           defined_at=("1000",)),
]

# Order of contender columns; unknown contenders follow alphabetically.
CONTENDER_ORDER = ["coring", "coring_1worker", "tbb", "std_thread", "std_async", "serial",
                   "nginx", "nginx_1worker", "raw_io_uring", "thread_per_conn"]

FAMILY_ORDER = ["spawn_join", "fib", "fib_spawn", "skynet", "nqueens", "ping_pong", "channel_mpmc",
                "sleep_many", "stall", "tcp_echo", "offload", "file_read", "http_plaintext",
                "slow_task", "subprocess"]


def targets_for(family: str) -> list[Target]:
    return [t for t in TARGETS if t.family == family]


def contender_sort_key(name: str):
    if name in CONTENDER_ORDER:
        return (CONTENDER_ORDER.index(name), name)
    return (len(CONTENDER_ORDER), name)


def family_sort_key(name: str):
    if name in FAMILY_ORDER:
        return (FAMILY_ORDER.index(name), name)
    return (len(FAMILY_ORDER), name)
