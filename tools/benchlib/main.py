"""Command line of tools/bench: run the benchmarks, report, compare."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from . import compare, report, runner

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DESCRIPTION = """\
Build coring in Release, run every benchmark in bench/ (DESIGN.md §5) against its
baselines and write a result folder: the raw Google Benchmark JSON per binary, a log per
binary, run.json (how and where it ran), report.md (machine, one table per family with
ratios and targets) and the chart of every contender side by side, speedup.png / speedup.svg. The tables are
printed at the end; progress goes to stderr.
"""

EPILOG = """\
examples:
  tools/bench --quick                         whole suite at small sizes (< 2 minutes)
  tools/bench --filter 'fib|skynet'           two families, full sizes
  tools/bench --workers 1 --filter nqueens    the 1-worker target of nqueens
  tools/bench --compare bench-results/A bench-results/B
  tools/bench --compare bench-results/A       A against the newest other result folder

exit status: 0 when every benchmark ran and verified its answer, 1 when a benchmark
failed or a binary crashed (the report is still written), 2 on a usage or build error.
--compare always exits 0 once both folders were read.
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tools/bench", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="small sizes and 3 repetitions: the whole suite in under 2 minutes")
    p.add_argument("--filter", metavar="REGEX",
                   help="run only benchmarks whose name <family>/<contender>/<size> "
                        "matches (Google Benchmark --benchmark_filter)")
    p.add_argument("--repetitions", type=int, metavar="N",
                   help="repetitions per benchmark; median and min–max are reported "
                        "(default 5, 3 with --quick)")
    p.add_argument("--out", metavar="DIR",
                   help="result folder (default bench-results/<UTC timestamp>/)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker threads: sets CORING_WORKERS and passes --workers N")
    p.add_argument("--compiler", choices=["gcc", "clang"], default="gcc",
                   help="build with preset release (g++ 12, default: faster for coring here) or release-clang (clang-19)")
    p.add_argument("--build-dir", metavar="DIR",
                   help="use this configured build tree instead of build/<preset>")
    p.add_argument("--no-build", action="store_true",
                   help="do not run tools/setup or build; use the binaries already built")
    p.add_argument("--min-time", type=float, metavar="SECONDS",
                   help="Google Benchmark --benchmark_min_time per repetition")
    p.add_argument("--compare", nargs="+", metavar="DIR",
                   help="compare two result folders OLD [NEW] (NEW defaults to the newest "
                        "other folder in bench-results/); runs nothing")
    p.add_argument("--threshold", type=float, metavar="PCT", default=3.0,
                   help="with --compare: changes below PCT %% are 'same' whatever the "
                        "spread (default 3)")
    p.add_argument("--report", metavar="DIR",
                   help="regenerate report.md and the chart of an existing result folder")
    args = p.parse_args(argv)
    if args.compare and len(args.compare) > 2:
        p.error("--compare takes OLD_DIR [NEW_DIR]")
    if args.repetitions is not None and args.repetitions < 1:
        p.error("--repetitions must be at least 1")
    if args.workers is not None and args.workers < 1:
        p.error("--workers must be at least 1")
    return args


def _compare(dirs: list[str], threshold: float) -> int:
    old = dirs[0]
    new = dirs[1] if len(dirs) > 1 else compare.latest_result(
        os.path.join(SOURCE_DIR, "bench-results"), exclude=old)
    if new is None:
        print("tools/bench: --compare OLD needs NEW: no other result folder in "
              "bench-results/", file=sys.stderr)
        return 2
    try:
        text, problems = compare.run(old, new, threshold)
    except FileNotFoundError as e:
        print(f"tools/bench: {e}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"tools/bench: warning: {problem}", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def _report(folder: str) -> int:
    rep = report.generate(folder)
    sys.stdout.write(rep.terminal)
    print(f"\nreport: {os.path.join(folder, 'report.md')} (chart by {rep.chart_renderer})",
          file=sys.stderr)
    return 1 if rep.problems else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.compare:
        return _compare(args.compare, args.threshold)
    if args.report:
        try:
            return _report(args.report)
        except FileNotFoundError as e:
            print(f"tools/bench: {e}", file=sys.stderr)
            return 2
    opts = runner.Options(
        quick=args.quick, filter=args.filter,
        repetitions=args.repetitions or (3 if args.quick else 5),
        out=args.out, workers=args.workers, compiler=args.compiler,
        no_build=args.no_build, build_dir=args.build_dir, min_time=args.min_time,
        command=shlex.join(["tools/bench"] + argv))
    try:
        out_dir, _ = runner.run(opts, SOURCE_DIR)
    except runner.RunError as e:
        print(f"tools/bench: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tools/bench: interrupted", file=sys.stderr)
        return 130
    return _report(out_dir)
