"""Build the Release tree, run every benchmark binary, show progress, keep the raw JSON.

Each binary in <build>/bench/bench_* is asked for its benchmark list first
(--benchmark_list_tests), so the runner knows N before it starts and can say "n of N".
Then it runs with Google Benchmark's console output on a pipe (one line per repetition,
flushed when a benchmark finishes) and its JSON in <out>/<binary>.json. The console
output is parsed only for progress; the figures come from the JSON. A binary that is
silent for a while gets a heartbeat line so the run never looks hung.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from . import machine
from .results import format_ns, split_name

HEARTBEAT_S = 15.0
LIST_TIMEOUT_S = 120.0

# Console lines Google Benchmark prints around the results (context block, table header).
_BOILERPLATE = re.compile(
    r"^(\d{4}-\d\d-\d\dT[\d:+.-]+|Running |Run on |CPU Caches:|\s+L\d |Load Average:|"
    r"\*\*\*WARNING\*\*\*|-{10,}|Benchmark\s+Time\s+CPU|\s*$|"
    r"[a-z][a-z0-9_]*: \S*$)")  # the last: AddCustomContext lines, e.g. "coring_threads: 2"
_RESULT_TIME = re.compile(r"^\S+\s+([\d.]+) (ns|us|ms|s)\s")
_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


@dataclass
class Options:
    quick: bool = False
    filter: str | None = None
    repetitions: int = 5
    out: str | None = None
    workers: int | None = None
    compiler: str = "clang"
    no_build: bool = False
    build_dir: str | None = None
    min_time: float | None = None
    command: str = "tools/bench"


@dataclass
class Binary:
    path: str
    names: list[str] = field(default_factory=list)
    exit_code: int | None = None
    error: str | None = None
    duration_s: float = 0.0

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


class RunError(RuntimeError):
    """A step before the benchmarks failed (setup, configure, build, discovery)."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


def preset_for(compiler: str) -> str:
    return {"clang": "release-clang", "gcc": "release"}[compiler]


def default_out(source_dir: str) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
    return os.path.join(source_dir, "bench-results", stamp)


def _step(title: str, cmd: list[str], cwd: str) -> None:
    """Run a setup/build command with its output on stderr; raise if it fails."""
    log(f"bench: {title}: {shlex.join(cmd)}")
    proc = subprocess.run(cmd, cwd=cwd, stdout=sys.stderr, stderr=sys.stderr)
    if proc.returncode != 0:
        raise RunError(f"{title} failed (exit code {proc.returncode}): {shlex.join(cmd)}")


def build(source_dir: str, build_dir: str, preset: str, explicit_build_dir: bool) -> None:
    setup = os.path.join(source_dir, "tools", "setup")
    if os.path.isfile(setup) and os.access(setup, os.X_OK):
        _step("setup", [setup], source_dir)
    if explicit_build_dir:
        if not os.path.isfile(os.path.join(build_dir, "CMakeCache.txt")):
            raise RunError(f"--build-dir {build_dir} is not a configured CMake build tree")
    else:
        _step("configure", ["cmake", "--preset", preset], source_dir)
    # Only the benchmarks and what they link: the test suite is not needed here.
    target = "bench/all"
    probe = subprocess.run(["ninja", "-C", build_dir, "-t", "query", target],
                           capture_output=True, text=True)
    _step("build", ["ninja", "-C", build_dir] + ([target] if probe.returncode == 0 else []),
          source_dir)


def discover(build_dir: str) -> list[Binary]:
    bench_dir = os.path.join(build_dir, "bench")
    if not os.path.isdir(bench_dir):
        raise RunError(f"no benchmark directory {bench_dir}: is CORING_BUILD_BENCH on, "
                       "and was the tree built?")
    found = []
    for entry in sorted(os.listdir(bench_dir)):
        path = os.path.join(bench_dir, entry)
        if (entry.startswith("bench_") and os.path.isfile(path) and os.access(path, os.X_OK)
                and "." not in entry):
            found.append(Binary(path))
    if not found:
        raise RunError(f"no bench_* executables in {bench_dir}")
    return found


def _our_flags(opts: Options) -> list[str]:
    flags = ["--quick"] if opts.quick else []
    if opts.workers is not None:
        flags += ["--workers", str(opts.workers)]
    return flags


def list_benchmarks(b: Binary, opts: Options) -> None:
    cmd = [b.path] + _our_flags(opts) + ["--benchmark_list_tests=true"]
    if opts.filter:
        cmd.append(f"--benchmark_filter={opts.filter}")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=LIST_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        b.error = f"listing its benchmarks timed out after {LIST_TIMEOUT_S:.0f} s"
        return
    if proc.returncode != 0:
        b.exit_code = proc.returncode
        b.error = f"listing its benchmarks failed (exit code {proc.returncode}): " + \
            (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return
    b.names = [line.strip() for line in proc.stdout.splitlines() if line.strip()]


class Progress:
    """n of N benchmarks, elapsed time, and an estimate from the benchmarks done so far."""

    def __init__(self, total: int):
        self.total = total
        self.done = 0
        self.start = time.monotonic()
        self.last_done = self.start

    def count(self, n: int = 1) -> None:
        self.done += n
        self.last_done = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        """Mean time per finished benchmark × those left, less what the running one has
        already taken (but never below the ones not started yet)."""
        per = (self.last_done - self.start) / self.done
        remaining = self.total - self.done
        running_for = time.monotonic() - self.last_done
        return max(per * (remaining - 1), per * remaining - running_for)

    def line(self, text: str) -> str:
        if self.done >= self.total:
            left = "done"
        elif self.done:
            left = f"~{fmt_duration(self.left())} left"
        else:
            left = "estimating"
        width = len(str(self.total))
        return (f"[{self.done:>{width}}/{self.total} | {fmt_duration(self.elapsed())} elapsed | "
                f"{left}] {text}")


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\r\n"))
    lines.put(None)


def run_binary(b: Binary, index: int, count: int, opts: Options, out_dir: str,
               progress: Progress) -> None:
    json_path = os.path.join(out_dir, f"{b.name}.json")
    cmd = [b.path] + _our_flags(opts) + [
        f"--benchmark_repetitions={opts.repetitions}",
        "--benchmark_report_aggregates_only=false",
        f"--benchmark_out={json_path}", "--benchmark_out_format=json",
        "--benchmark_format=console", "--benchmark_color=false"]
    if opts.filter:
        cmd.append(f"--benchmark_filter={opts.filter}")
    if opts.min_time is not None:
        cmd.append(f"--benchmark_min_time={opts.min_time:g}")
    log(progress.line(f"{b.name} ({index}/{count} binaries, {len(b.names)} benchmarks) "
                      "starting"))
    started = time.monotonic()
    pending = {name: [] for name in b.names}   # name -> console times of its repetitions
    names = set(b.names)
    with open(os.path.join(out_dir, f"{b.name}.log"), "w", encoding="utf-8") as logf:
        logf.write(f"$ {shlex.join(cmd)}\n")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace")
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
        last_news = time.monotonic()
        current = None
        while True:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                if time.monotonic() - last_news >= HEARTBEAT_S:
                    upcoming = next((n for n in b.names if n in pending), "?")
                    log(progress.line(f"{b.name}: still running {_display(upcoming)} "
                                      f"({fmt_duration(time.monotonic() - last_news)} since "
                                      "the last result)"))
                    last_news = time.monotonic()
                continue
            if line is None:
                break
            logf.write(line + "\n")
            name = line.split(None, 1)[0] if line.strip() else ""
            if name in pending:
                if current is not None and current != name:
                    _finish(current, pending, b, progress)
                current = name
                m = _RESULT_TIME.match(line)
                pending[name].append(float(m.group(1)) * _NS[m.group(2)] if m else
                                     line.split(None, 1)[1].strip())
                if len(pending[name]) >= opts.repetitions:
                    _finish(name, pending, b, progress)
                    current = None
                last_news = time.monotonic()
            elif name not in names and not _BOILERPLATE.match(line) and \
                    not _is_aggregate(name, names):
                log(f"    | {line}")
        if current is not None:
            _finish(current, pending, b, progress)
        b.exit_code = proc.wait()
    b.duration_s = time.monotonic() - started
    missing = [n for n in b.names if n in pending]
    progress.count(len(missing))   # count them so the estimate stays honest
    if b.exit_code != 0:
        b.error = f"exit code {b.exit_code}" + (f"; no result for {len(missing)} of "
                                                 f"{len(b.names)} benchmarks" if missing else "")
        log(progress.line(f"{b.name} FAILED: {b.error} (see {b.name}.log)"))
    else:
        log(progress.line(f"{b.name} finished in {fmt_duration(b.duration_s)}"))


def _is_aggregate(name: str, names: set[str]) -> bool:
    base, _, suffix = name.rpartition("_")
    return base in names and suffix in {"mean", "median", "stddev", "cv"}


def _finish(name: str, pending: dict, b: Binary, progress: Progress) -> None:
    """One benchmark's repetitions are all in: count it and print one line."""
    samples = pending.pop(name, None)
    if samples is None:
        return
    progress.count()
    times = [s for s in samples if isinstance(s, float)]
    if times:
        what = f"median {format_ns(statistics.median(times))}"
    else:
        what = str(samples[0]) if samples else "?"
    log(progress.line(f"{b.name}: {_display(name)}  {what}"))


def _display(name: str) -> str:
    """The name without Google Benchmark's suffixes: fib/coring/35."""
    return "/".join(p for p in split_name(name) if p)


def run(opts: Options, source_dir: str) -> tuple[str, list[Binary]]:
    """Build (unless --no-build), run everything, write run.json; returns the folder."""
    preset = preset_for(opts.compiler)
    build_dir = os.path.abspath(opts.build_dir or os.path.join(source_dir, "build", preset))
    out_dir = os.path.abspath(opts.out or default_out(source_dir))
    if opts.workers is not None:
        os.environ["CORING_WORKERS"] = str(opts.workers)
    started_utc = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    t0 = time.monotonic()

    if not opts.no_build:
        build(source_dir, build_dir, preset, explicit_build_dir=opts.build_dir is not None)
    binaries = discover(build_dir)
    os.makedirs(out_dir, exist_ok=True)
    for stale in os.listdir(out_dir):   # a reused --out folder must not mix two runs
        if stale.startswith("bench_") and stale.endswith((".json", ".log")):
            os.remove(os.path.join(out_dir, stale))

    log(f"bench: listing benchmarks of {len(binaries)} binaries in {build_dir}/bench")
    for b in binaries:
        list_benchmarks(b, opts)
        if b.error:
            log(f"bench: {b.name}: {b.error}")
    selected = [b for b in binaries if b.names]
    total = sum(len(b.names) for b in selected)
    if total == 0 and not any(b.error for b in binaries):
        raise RunError("no benchmark matches" + (f" --filter '{opts.filter}'"
                                                 if opts.filter else ""))
    log(f"bench: {total} benchmarks in {len(selected)} binaries × {opts.repetitions} "
        f"repetitions ({'quick' if opts.quick else 'full'} sizes), results in {out_dir}")

    progress = Progress(total)
    for i, b in enumerate(selected, 1):
        run_binary(b, i, len(selected), opts, out_dir, progress)

    meta = {
        "command": opts.command,
        "started_utc": started_utc,
        "duration_s": time.monotonic() - t0,
        "preset": preset if opts.build_dir is None else None,
        "build_dir": build_dir,
        "quick": opts.quick,
        "repetitions": opts.repetitions,
        "filter": opts.filter,
        "workers": opts.workers,
        "machine": machine.describe(build_dir, source_dir),
        "binaries": [{"name": b.name, "exit_code": b.exit_code, "error": b.error,
                      "duration_s": round(b.duration_s, 3), "benchmarks": b.names,
                      "json": f"{b.name}.json" if b.names else None,
                      "log": f"{b.name}.log" if b.names else None}
                     for b in binaries if b.names or b.error],
    }
    with open(os.path.join(out_dir, "run.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
    return out_dir, binaries
