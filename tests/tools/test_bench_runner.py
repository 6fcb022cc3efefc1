#!/usr/bin/env python3
"""End-to-end tests of tools/bench against a stand-in benchmark binary.

fixtures/fake_build is a pretend build tree: bench/bench_fake speaks Google Benchmark
1.7.1's flags and output formats with made-up timings, so these tests check the runner
(listing, progress, JSON, report, chart, exit status) in a second, without building
coring and without timing anything real. The report's table logic is tested directly on
hand-made benchmarks at the end.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from benchlib import tables  # noqa: E402
from benchlib.results import Bench  # noqa: E402

BENCH = os.path.join(ROOT, "tools", "bench")
FAKE_BUILD = os.path.join(HERE, "fixtures", "fake_build")
CHECK = os.path.join(HERE, "check_bench_report.py")


def run_bench(*args, env=None):
    full_env = dict(os.environ)
    full_env.pop("CORING_WORKERS", None)
    full_env.update(env or {})
    return subprocess.run([BENCH, "--no-build", "--build-dir", FAKE_BUILD, *args],
                          capture_output=True, text=True, timeout=120, env=full_env)


class RunnerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bench-test-")
        self.out = os.path.join(self.tmp, "out")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def read(self, name):
        with open(os.path.join(self.out, name), encoding="utf-8") as f:
            return f.read()

    def test_quick_run_writes_a_complete_folder(self):
        proc = run_bench("--quick", "--out", self.out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # progress: n of N, elapsed, estimate; one line per benchmark
        # (the elapsed time itself depends on the machine's load, so only its shape is checked)
        self.assertRegex(proc.stderr, r"\[1/9 \| \d+:\d\d elapsed \|")
        self.assertIn("[9/9 |", proc.stderr)
        self.assertIn("left]", proc.stderr)
        self.assertIn("bench_fake: fib/coring/10  median", proc.stderr)
        # the tables at the end, on stdout
        self.assertIn("== fib", proc.stdout)
        self.assertIn("== spawn_join", proc.stdout)
        check = subprocess.run([sys.executable, CHECK, self.out, "fib", "spawn_join"],
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout)
        meta = json.loads(self.read("run.json"))
        self.assertTrue(meta["quick"])
        self.assertEqual(meta["repetitions"], 3)
        self.assertEqual(meta["binaries"][0]["exit_code"], 0)
        self.assertTrue(os.path.isfile(os.path.join(self.out, "bench_fake.log")))

    def test_report_says_capped_and_not_run(self):
        proc = run_bench("--quick", "--out", self.out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        report = self.read("report.md")
        self.assertIn("(capped at N=100)", report)
        self.assertIn("std_thread was capped at N=100 (not run at 1000: 1000 threads exceed "
                      "the cap of 100)", report)
        self.assertIn("met (400× cheaper)", report)           # 20 µs vs 50 ns per task
        self.assertIn("not run (no result)", report)          # spawn_join has no tbb
        self.assertIn("**missed** (0.33×)†", report)          # fib coring/tbb, not at N=35

    def test_filter_and_repetitions(self):
        proc = run_bench("--quick", "--filter", "fib/(coring|serial)", "--repetitions", "1",
                         "--out", self.out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("[4/4 |", proc.stderr)
        report = self.read("report.md")
        self.assertIn("### fib", report)
        self.assertNotIn("### spawn_join", report)
        self.assertIn("filter `fib/(coring|serial)`", report)
        self.assertIn("not run (no result; filtered out or not measured)", report)  # fib/tbb

    def test_filter_matching_nothing_is_an_error(self):
        proc = run_bench("--filter", "nothing_matches_this", "--out", self.out)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no benchmark matches --filter 'nothing_matches_this'", proc.stderr)

    def test_workers_sets_the_environment(self):
        proc = run_bench("--quick", "--filter", "fib/coring", "--repetitions", "1",
                         "--workers", "3", "--out", self.out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        meta = json.loads(self.read("run.json"))
        self.assertEqual(meta["workers"], 3)
        self.assertEqual(meta["machine"]["coring_env"], {"CORING_WORKERS": "3"})
        self.assertIn("`CORING_WORKERS=3`", self.read("report.md"))
        with open(os.path.join(self.out, "bench_fake.json")) as f:
            self.assertEqual(json.load(f)["benchmarks"][0]["threads"], 3.0)  # got --workers 3

    def test_failing_binary_is_reported_and_fails_the_run(self):
        proc = run_bench("--quick", "--out", self.out, env={"FAKE_BENCH_CRASH": "1"})
        self.assertEqual(proc.returncode, 1)
        self.assertIn("wrong answer", proc.stderr)             # the binary's message, echoed
        self.assertIn("bench_fake FAILED: exit code 1", proc.stderr)
        report = self.read("report.md")
        self.assertIn("**Problems in this run:**", report)
        self.assertIn("bench_fake: exit code 1", report)
        self.assertTrue(os.path.getsize(os.path.join(self.out, "speedup.png")) > 0)

    def test_reused_out_folder_drops_stale_results(self):
        os.makedirs(self.out)
        with open(os.path.join(self.out, "bench_stale.json"), "w") as f:
            f.write("{}")
        proc = run_bench("--quick", "--filter", "fib/coring", "--repetitions", "1",
                         "--out", self.out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.out, "bench_stale.json")))

    def test_report_of_a_folder_without_run_json(self):
        shutil.copytree(os.path.join(HERE, "fixtures", "compare_old"), self.out)
        proc = subprocess.run([BENCH, "--report", self.out], capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        report = self.read("report.md")
        self.assertIn("not recorded (no run.json in this folder)", report)
        self.assertIn("### fib", report)


def bench(name, real_ms=None, error=None, **counters):
    family, contender, size = name.split("/", 2)
    b = Bench(name, family, contender, size, "bench_x", error=error)
    if real_ms is not None:
        b.real_ns = [t * 1e6 for t in real_ms]
    b.counters = {k: list(v) for k, v in counters.items()}
    return b


class TableTest(unittest.TestCase):
    def build(self, family, benches, workers=2):
        return tables.build_family(family, benches, {"workers": workers, "filter": None,
                                                     "failed_binaries": []})

    def test_counter_target_uses_the_worst_repetition(self):
        t = self.build("skynet", [
            bench("skynet/coring/1000000", [10, 11, 12], peak_rss_mib=[20, 33, 21]),
            bench("skynet/tbb/1000000", [40, 40, 40]),
        ])
        row = t.rows[0]
        self.assertEqual(row[0], "1000000")
        self.assertIn("met (0.28×)", row)                  # 11 / 40, at the target's size
        self.assertIn("**missed** (33.0 MiB)", row)

    def test_one_worker_target_needs_one_worker(self):
        benches = [bench("nqueens/coring/13", [11, 11, 11]),
                   bench("nqueens/serial/13", [10, 10, 10]),
                   bench("nqueens/tbb/13", [20, 20, 20])]
        self.assertIn("n/a (needs --workers 1)", self.build("nqueens", benches).rows[0])
        self.assertIn("met (1.10×)", self.build("nqueens", benches, workers=1).rows[0])

    def test_failed_contender_is_loud(self):
        t = self.build("fib", [bench("fib/coring/35", [1, 1, 1]),
                               bench("fib/tbb/35", error="fib(35): got 1, expected 9227465")])
        self.assertIn("**FAILED**: fib(35): got 1, expected 9227465", t.rows[0])
        self.assertIn("n/a (tbb not run)", t.rows[0])

    def test_chart_shows_every_contender_side_by_side(self):
        benches = [bench("fib/coring/35", [10, 10, 10]), bench("fib/tbb/35", [20, 20, 20]),
                   bench("fib/std_thread/35", [50, 50, 50])]
        panel = tables.chart_family("fib", benches, {})
        self.assertEqual(panel.contenders, ["coring", "tbb", "std_thread"])
        self.assertEqual(panel.sizes, ["35"])
        self.assertEqual(panel.values, {("35", "coring"): 10e6, ("35", "tbb"): 20e6,
                                        ("35", "std_thread"): 50e6})   # ns, as in the table
        self.assertIsNone(tables.chart_family("fib", [bench("fib/tbb/35", error="boom")], {}))

    def test_echo_targets(self):
        t = self.build("tcp_echo", [
            bench("tcp_echo/coring/64/64", [80, 80, 80], p99_us=[300, 300, 300]),
            bench("tcp_echo/coring_1worker/64/64", [90, 90, 90], p99_us=[200, 200, 200]),
            bench("tcp_echo/raw_io_uring/64/64", [100, 100, 100], p99_us=[250, 250, 250]),
        ], workers=2)
        row = t.rows[0]
        self.assertEqual(row[0], "64/64")
        self.assertIn("met (0.80×)", row)                      # 80 / 100 <= 1 / 1.1
        self.assertIn("**missed** (300 vs 200, 1.50×)", row)   # p99 2 workers vs 1

    def test_http_targets_against_nginx(self):
        t = self.build("http_plaintext", [
            bench("http_plaintext/coring/256", [1, 1, 1], requests_per_s=[140e3] * 3,
                  p99_us=[900] * 3),
            bench("http_plaintext/nginx/256", [1, 1, 1], requests_per_s=[100e3] * 3,
                  p99_us=[1000] * 3),
            bench("http_plaintext/coring_1worker/256", [1, 1, 1], requests_per_s=[70e3] * 3,
                  p99_us=[6000] * 3),
            bench("http_plaintext/nginx_1worker/256", [1, 1, 1], requests_per_s=[70e3] * 3,
                  p99_us=[5000] * 3),
        ])
        row = t.rows[0]
        self.assertIn("met (0.71×)", row)                       # 1/140k over 1/100k
        self.assertIn("met (900 vs 1000, 0.90×)", row)
        self.assertIn("**missed** (6000 vs 5000, 1.20×)", row)  # the pinned 1-worker case


if __name__ == "__main__":
    unittest.main()
