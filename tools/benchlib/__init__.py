"""tools/bench: the benchmark runner, its report, chart and comparisons (issue 5).

Modules, one concern each: main (command line), runner (build, run, progress), results
(Google Benchmark JSON), targets (DESIGN.md §5), tables, report, chart, compare, machine.
"""
