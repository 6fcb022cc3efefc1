#!/usr/bin/env python3
"""Unit tests of tools/bench's result parsing and --compare verdicts, on fixture JSON.

fixtures/compare_old and fixtures/compare_new hold Google Benchmark 1.7.1 output (names
with the harness's `/iterations:1/real_time` suffix, times in ms, aggregates included)
built so that each verdict occurs once.
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from benchlib import compare, results  # noqa: E402
from benchlib.results import Stats  # noqa: E402

OLD = os.path.join(HERE, "fixtures", "compare_old")
NEW = os.path.join(HERE, "fixtures", "compare_new")


def s(median, lo, hi, n=3):
    return Stats(median, lo, hi, n)


class DriftTest(unittest.TestCase):
    def pairs(self, coring_pct, baseline_pcts):
        out = [("coring", s(100, 100, 100), s(100 + coring_pct, 100 + coring_pct, 100 + coring_pct))]
        out += [("tbb", s(100, 100, 100), s(100 + p, 100 + p, 100 + p)) for p in baseline_pcts]
        return out

    def test_drift_is_the_median_baseline_change(self):
        drift, band = compare.machine_drift(self.pairs(0, [-2, -3, -1, -9, 2]))
        self.assertAlmostEqual(drift, -2.0)
        self.assertAlmostEqual(band, 7.0)

    def test_too_few_baselines_give_no_drift(self):
        self.assertIsNone(compare.machine_drift(self.pairs(0, [5, 6, 7])))

    def test_band_is_capped(self):
        _, band = compare.machine_drift(self.pairs(0, [0, 0, 0, 40]))
        self.assertEqual(band, compare.MAX_BAND_PCT)

    def test_coring_moving_with_the_machine_is_same(self):
        # The machine got 10% slower; coring too: not a regression.
        self.assertEqual(compare.verdict(s(100, 100, 100), s(110, 110, 110), 3.0, drift=10.0)[0], "same")

    def test_coring_regression_beyond_drift_and_band_is_slower(self):
        self.assertEqual(compare.verdict(s(100, 100, 100), s(130, 130, 130), 7.0, drift=-2.0)[0], "slower")


class VerdictTest(unittest.TestCase):
    def test_small_change_is_same_even_without_spread(self):
        self.assertEqual(compare.verdict(s(100, 100, 100, 1), s(102.9, 102.9, 102.9, 1))[0],
                         "same")

    def test_change_of_3_percent_without_spread_counts(self):
        v, pct = compare.verdict(s(100, 100, 100, 1), s(104, 104, 104, 1))
        self.assertEqual(v, "slower")
        self.assertAlmostEqual(pct, 4.0)

    def test_change_within_combined_spread_is_same(self):
        # medians 10 apart; spreads 12 and 8 -> combined (mean) spread 10 -> same
        self.assertEqual(compare.verdict(s(100, 94, 106), s(110, 106, 114))[0], "same")

    def test_change_beyond_combined_spread(self):
        v, pct = compare.verdict(s(100, 99, 101), s(80, 79, 81))
        self.assertEqual(v, "faster")
        self.assertAlmostEqual(pct, -20.0)
        self.assertEqual(compare.verdict(s(100, 99, 101), s(120, 119, 121))[0], "slower")

    def test_zero_old_median(self):
        self.assertEqual(compare.verdict(s(0, 0, 0), s(0, 0, 0))[0], "same")


class ParseTest(unittest.TestCase):
    def test_split_name_drops_google_benchmark_suffixes(self):
        self.assertEqual(results.split_name("fib/coring/35/iterations:1/real_time"),
                         ("fib", "coring", "35"))
        self.assertEqual(results.split_name("tcp_echo/coring/64/1000"),
                         ("tcp_echo", "coring", "64/1000"))

    def test_aggregates_ignored_and_units_converted(self):
        benches, files, problems = results.load_folder(OLD)
        self.assertEqual(problems, [])
        b = benches["fib/coring/27"]
        self.assertEqual(len(b.real_ns), 3)                   # not the 4 aggregates
        self.assertAlmostEqual(b.real_ns[0], 10.0e6)         # 10 ms in ns
        self.assertEqual(b.counters["tasks"], [832039.0] * 3)
        self.assertEqual(files[0].context["coring_threads"], "2")

    def test_error_marks_the_benchmark(self):
        benches, _, _ = results.load_folder(NEW)
        b = benches["nqueens/coring/10"]
        self.assertTrue(b.failed)
        self.assertFalse(b.not_run)
        self.assertTrue(results.Bench("x", "f", "c", "1", error="not run: too many").not_run)

    def test_truncated_json_is_a_problem_not_a_crash(self):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "bench_x.json"), "w") as f:
                f.write('{"context": {}, "benchmarks": [ {"name": "fib/cor')
            benches, _, problems = results.load_folder(tmp)
            self.assertEqual(benches, {})
            self.assertEqual(len(problems), 1)
            self.assertIn("did the benchmark crash", problems[0])


class CompareFixturesTest(unittest.TestCase):
    def setUp(self):
        old, _, _ = results.load_folder(OLD)
        new, _, _ = results.load_folder(NEW)
        self.changes = {c.name: c for c in compare.compare(old, new)}

    def test_each_verdict(self):
        expected = {
            "fib/coring/27": "same",         # +1%: under the 3% floor
            "fib/tbb/27": "same",            # +9%, but within the noisy runs' spread
            "fib/serial/27": "faster",       # -20%, tight spreads
            "fib/std_thread/27": "slower",   # +20%, tight spreads
            "fib/std_async/27": "only in OLD",
            "fib/coring/30": "only in NEW",
            "nqueens/coring/10": "n/a",      # failed in NEW
        }
        self.assertEqual({k: c.verdict for k, c in self.changes.items()}, expected)
        self.assertIn("failed in NEW", self.changes["nqueens/coring/10"].why)

    def test_render_summary(self):
        text = compare.render(list(self.changes.values()), OLD, NEW)
        self.assertIn("summary: 7 benchmarks: 2 same, 1 faster, 1 slower, 1 n/a, "
                      "1 only in OLD, 1 only in NEW", text)
        self.assertIn("slower 19.9%", text)
        self.assertIn("faster 19.8%", text)

    def test_same_folder_is_all_same(self):
        old, _, _ = results.load_folder(OLD)
        verdicts = {c.verdict for c in compare.compare(old, old)}
        self.assertEqual(verdicts, {"same"})

    def test_command_line_exits_zero(self):
        proc = subprocess.run([os.path.join(ROOT, "tools", "bench"), "--compare", OLD, NEW],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("summary: 7 benchmarks", proc.stdout)

    def test_command_line_missing_folder(self):
        proc = subprocess.run([os.path.join(ROOT, "tools", "bench"), "--compare", OLD,
                               os.path.join(HERE, "no-such-folder")],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no such result folder", proc.stderr)


if __name__ == "__main__":
    unittest.main()
