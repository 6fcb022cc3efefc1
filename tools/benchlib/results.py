"""Reading Google Benchmark JSON into per-benchmark samples.

A benchmark is named `<family>/<contender>/<size>` (DESIGN.md §5); Google Benchmark may
append its own components (`/real_time`, `/iterations:N`, ...), which are dropped here.
Every repetition is kept as a sample: the report shows the median and the min–max, and
`--compare` uses the min–max as its noise band. Google Benchmark's own aggregates
(`_mean`, `_median`, ...) are ignored because they are recomputed from the samples.
"""

from __future__ import annotations

import json
import os
import re
import statistics
from dataclasses import dataclass, field

# Keys of a Google Benchmark run that are not user counters.
_BUILTIN_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "aggregate_name", "aggregate_unit",
    "error_occurred", "error_message", "iterations", "real_time", "cpu_time",
    "time_unit", "label", "cpu_coefficient", "real_coefficient", "big_o", "rms",
}
# `threads` is both a builtin (benchmark threads, normally 1) and a counter some of our
# benchmarks report (worker threads); Google Benchmark writes the counter second, so the
# parsed value is the counter's when it exists. It is kept as a counter either way.

_NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# Components Google Benchmark appends to a registered name.
_GB_SUFFIX = re.compile(
    r"^(real_time|manual_time|process_time|iterations:\d+|repeats:\d+|threads:\d+|"
    r"min_time:[\d.e+-]+s?|min_warmup_time:[\d.e+-]+s?)$")

# Families whose natural unit is the cost of one task: contenders run at different
# (capped) sizes stay comparable there.
PER_TASK_FAMILIES = {"spawn_join"}
# Families that run for a fixed time and count what they got done: judged by the cost of
# one unit of work (1e9 / rate), so lower is better like every other metric.
RATE_FAMILIES = {"http_plaintext": ("requests_per_s", "ns/request")}


def split_name(name: str) -> tuple[str, str, str]:
    """`fib/coring/30/real_time` -> ("fib", "coring", "30"). Size may hold slashes."""
    parts = [p for p in name.split("/") if p]
    while len(parts) > 1 and _GB_SUFFIX.match(parts[-1]):
        parts.pop()
    family = parts[0] if parts else name
    contender = parts[1] if len(parts) > 1 else "?"
    size = "/".join(parts[2:])
    return family, contender, size


def size_key(size: str):
    """Sort sizes numerically where they are numbers ("64/512" sorts as (64, 512))."""
    key = []
    for part in size.split("/"):
        try:
            key.append((0, float(part), ""))
        except ValueError:
            key.append((1, 0.0, part))
    return key


@dataclass
class Bench:
    """All repetitions of one benchmark, times in nanoseconds."""
    name: str
    family: str
    contender: str
    size: str
    binary: str = ""
    real_ns: list[float] = field(default_factory=list)
    cpu_ns: list[float] = field(default_factory=list)
    counters: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None and not is_not_run_message(self.error)

    @property
    def not_run(self) -> bool:
        return self.error is not None and is_not_run_message(self.error)

    def counter(self, key: str) -> list[float]:
        return self.counters.get(key, [])

    def capped_at(self) -> str | None:
        """The N a capped contender really ran, or None when it was not capped.

        A `capped` counter of 1 means the size in the name is already the cap; a larger
        value is the N that was run instead of the named size.
        """
        values = self.counter("capped")
        if not values or max(values) <= 0:
            return None
        v = max(values)
        return self.size if v == 1 else f"{v:,.0f}"

    def metric(self) -> tuple[list[float], str]:
        """The samples this benchmark is judged by, lower is better, and their unit.

        Per-task families use the `ns_per_task` counter (real time / size when absent);
        rate families the inverse of their rate counter; others wall time per iteration.
        """
        if self.family in RATE_FAMILIES:
            counter, unit = RATE_FAMILIES[self.family]
            rates = self.counter(counter)
            if rates and all(r > 0 for r in rates):
                return [1e9 / r for r in rates], unit
        if self.family in PER_TASK_FAMILIES:
            per_task = self.counter("ns_per_task")
            if per_task:
                return per_task, "ns/task"
            n = _leading_number(self.size)
            if n:
                return [t / n for t in self.real_ns], "ns/task"
        return self.real_ns, "ns"

    def per_task(self) -> list[float]:
        """ns per task, for comparing runs of different sizes; [] when unknown."""
        values = self.counter("ns_per_task")
        if values:
            return values
        if self.family in PER_TASK_FAMILIES:
            return self.metric()[0]
        return []


def is_not_run_message(message: str) -> bool:
    """Benchmarks mark a deliberately skipped size with SkipWithError("not run: why")."""
    m = message.strip().lower()
    return m.startswith("not run") or m.startswith("skipped")


def _leading_number(size: str) -> float | None:
    try:
        n = float(size.split("/")[0])
    except ValueError:
        return None
    return n if n > 0 else None


@dataclass
class Stats:
    median: float
    lo: float
    hi: float
    n: int

    @property
    def spread(self) -> float:
        return self.hi - self.lo


def stats(values: list[float]) -> Stats | None:
    if not values:
        return None
    return Stats(statistics.median(values), min(values), max(values), len(values))


@dataclass
class ResultFile:
    path: str
    context: dict
    benches: list[Bench]


def load_json(path: str) -> ResultFile:
    """Parse one Google Benchmark JSON file. Raises ValueError when it is not one."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e}); did the benchmark crash?") from e
    if not isinstance(doc, dict) or "benchmarks" not in doc:
        raise ValueError(f"{path}: not Google Benchmark output (no 'benchmarks' list)")
    binary = os.path.basename(doc.get("context", {}).get("executable", "")) or \
        os.path.splitext(os.path.basename(path))[0]
    by_name: dict[str, Bench] = {}
    for entry in doc["benchmarks"]:
        if entry.get("run_type", "iteration") == "aggregate":
            continue
        run_name = entry.get("run_name") or entry.get("name", "?")
        family, contender, size = split_name(run_name)
        key = f"{family}/{contender}/{size}"
        b = by_name.get(key)
        if b is None:
            b = by_name[key] = Bench(key, family, contender, size, binary)
        if entry.get("error_occurred"):
            b.error = entry.get("error_message") or "error"
            continue
        scale = _NS_PER_UNIT.get(entry.get("time_unit", "ns"), 1.0)
        if "real_time" in entry:
            b.real_ns.append(float(entry["real_time"]) * scale)
        if "cpu_time" in entry:
            b.cpu_ns.append(float(entry["cpu_time"]) * scale)
        for k, v in entry.items():
            if k not in _BUILTIN_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool):
                b.counters.setdefault(k, []).append(float(v))
    return ResultFile(path, doc.get("context", {}), list(by_name.values()))


def result_files(folder: str) -> list[str]:
    """The Google Benchmark JSON files of a result folder (run.json is the runner's)."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: no such result folder")
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith(".json") and f != "run.json")


def load_folder(folder: str) -> tuple[dict[str, Bench], list[ResultFile], list[str]]:
    """All benchmarks of a result folder by name, the parsed files, and load problems."""
    benches: dict[str, Bench] = {}
    files: list[ResultFile] = []
    problems: list[str] = []
    for path in result_files(folder):
        try:
            rf = load_json(path)
        except ValueError as e:
            problems.append(str(e))
            continue
        files.append(rf)
        for b in rf.benches:
            benches[b.name] = b
    return benches, files, problems


def format_ns(ns: float) -> str:
    """A duration in the unit that keeps 3 significant digits readable."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(ns) >= scale:
            return f"{_sig(ns / scale)} {unit}"
    return f"{_sig(ns)} ns"


def _sig(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def format_stats(s: Stats, unit: str) -> str:
    """"1.23 (1.20–1.31) ms": median and min–max, in the median's unit."""
    if unit.split("/")[0] == "ns":
        scale, suffix = next(((f, u) for u, f in (("s", 1e9), ("ms", 1e6), ("µs", 1e3))
                              if s.median >= f), (1.0, "ns"))
        suffix += unit[2:]
    else:
        scale, suffix = 1.0, unit

    def num(x: float) -> str:
        x /= scale
        return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else \
            f"{x:.2f}" if x >= 1 else f"{x:.3g}"
    if s.n == 1 or s.lo == s.hi:
        return f"{num(s.median)} {suffix}"
    return f"{num(s.median)} ({num(s.lo)}–{num(s.hi)}) {suffix}"
