#!/usr/bin/env python3
"""Asserts the STRUCTURE of a tools/bench result folder, never its timings.

    check_bench_report.py RESULT_DIR [FAMILY ...]

Checks: run.json, report.md, speedup.png and speedup.svg exist and are non-empty; every
bench_*.json parses as Google Benchmark output with at least one benchmark named
<family>/<contender>/<size>; report.md has the machine section (CPU, cores, kernel,
compiler, liburing, oneTBB, CORING_*) and a table for each FAMILY given (default: fib).
Prints "N passed, N failed" and exits non-zero on any failure.
"""

import json
import os
import re
import sys

checks = []


def check(ok: bool, what: str) -> None:
    checks.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {what}")


def non_empty(path: str) -> bool:
    return os.path.isfile(path) and os.path.getsize(path) > 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    folder, families = argv[0], argv[1:] or ["fib"]
    for name in ("run.json", "report.md", "speedup.png", "speedup.svg"):
        check(non_empty(os.path.join(folder, name)), f"{name} exists and is not empty")

    if non_empty(os.path.join(folder, "speedup.png")):
        with open(os.path.join(folder, "speedup.png"), "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", "speedup.png is a PNG")
    if non_empty(os.path.join(folder, "speedup.svg")):
        with open(os.path.join(folder, "speedup.svg"), encoding="utf-8") as f:
            check("<svg" in f.read(), "speedup.svg is an SVG")

    raw = sorted(f for f in os.listdir(folder) if f.startswith("bench_") and f.endswith(".json")) \
        if os.path.isdir(folder) else []
    check(bool(raw), "at least one raw bench_*.json")
    for name in raw:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                doc = json.load(f)
            names = [b["name"] for b in doc["benchmarks"]]
            check(bool(names) and all(re.match(r"^[a-z_]+/[a-z][a-z0-9_]*/\d", n) for n in names),
                  f"{name} parses, benchmarks named <family>/<contender>/<size>")
        except (OSError, ValueError, KeyError, TypeError) as e:
            check(False, f"{name} parses as Google Benchmark JSON ({e})")

    try:
        with open(os.path.join(folder, "run.json"), encoding="utf-8") as f:
            meta = json.load(f)
        check(isinstance(meta.get("machine"), dict) and bool(meta.get("binaries")),
              "run.json has the machine and the binaries")
    except (OSError, ValueError) as e:
        check(False, f"run.json parses ({e})")

    try:
        with open(os.path.join(folder, "report.md"), encoding="utf-8") as f:
            report = f.read()
    except OSError:
        report = ""
    check("## Machine" in report, "report.md has a machine section")
    for row in ("CPU", "cores", "kernel", "compiler", "build type and flags", "liburing-dev",
                "libtbb-dev", "CORING_* in effect"):
        check(f"| {row} |" in report, f"machine section names {row}")
    for family in families:
        table = re.search(rf"^### {re.escape(family)}\n(.*?)(?=^##|\Z)", report, re.M | re.S)
        check(table is not None, f"report.md has a {family} section")
        if table:
            body = table.group(1)
            check(re.search(r"^\| size \| coring \|", body, re.M) is not None,
                  f"{family} table has the size and coring columns")
            check(len(re.findall(r"^\| \S+ \| ", body, re.M)) >= 2,
                  f"{family} table has at least one row")
            check(re.search(r"\| coring/\w+ \|", body) is not None,
                  f"{family} table has a ratio column")
    check("![contenders side by side](speedup.svg)" in report, "report.md shows the chart")

    passed = sum(checks)
    print(f"{passed} passed, {len(checks) - passed} failed")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
