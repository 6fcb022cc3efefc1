"""report.md and the chart of one result folder.

Inputs are the folder's Google Benchmark JSON files and run.json, which the runner writes
(how it was run, the machine, each binary's exit status). A folder without run.json (JSON
copied from elsewhere) still gets a report, with what the JSON itself tells.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from . import chart, tables
from .results import Bench, load_folder
from .targets import family_sort_key


@dataclass
class Report:
    markdown: str
    terminal: str
    problems: list[str]       # failed binaries, wrong answers, unreadable JSON
    chart_renderer: str


def load_meta(folder: str) -> dict:
    try:
        with open(os.path.join(folder, "run.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return {}


def _workers(meta: dict, files) -> int | None:
    """Threads of the parallel contenders: what the harness reported, else what we asked."""
    reported = {f.context.get("coring_threads") for f in files} - {None}
    value = reported.pop() if len(reported) == 1 else meta.get("workers") or \
        meta.get("machine", {}).get("coring_env", {}).get("CORING_WORKERS")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _machine_section(meta: dict, gb_context: dict) -> list[str]:
    m = meta.get("machine", {})
    rows: list[tuple[str, str]] = []
    if m:
        cores = m.get("cores", {})
        cores_txt = (f"{cores.get('available', '?')} available (nproc), "
                     f"{cores.get('online', '?')} online")
        if "cgroup_quota" in cores:
            cores_txt += f", cgroup quota {cores['cgroup_quota']}"
        comp = m.get("compiler", {})
        rows += [("CPU", m.get("cpu", "?")), ("cores", cores_txt),
                 ("memory", m.get("memory", "?")), ("kernel", m.get("kernel", "?")),
                 ("compiler", f"`{comp.get('path', '?')}` — {comp.get('version') or '?'}"),
                 ("build type and flags", f"{comp.get('build_type') or '?'}, "
                  f"`{comp.get('flags') or '(none)'}`"
                  + (f"; on a bench compile line: `{comp['bench_codegen_flags']}`"
                     if comp.get("bench_codegen_flags") else ""))]
        for pkg, version in m.get("packages", {}).items():
            rows.append((pkg, version))
        env = m.get("coring_env", {})
        rows.append(("CORING_* in effect", ", ".join(f"`{k}={v}`" for k, v in env.items())
                     or "none (all defaults, DESIGN.md §4)"))
        rows.append(("commit", m.get("git", "?")))
    else:
        rows.append(("machine", "not recorded (no run.json in this folder)"))
    if gb_context.get("coring_threads"):
        rows.append(("threads per parallel contender", f"{gb_context['coring_threads']} "
                     "(coring workers, oneTBB arena slots, std::thread pool)"))
    if gb_context:
        scaling = gb_context.get("cpu_scaling_enabled")
        load = gb_context.get("load_avg")
        rows.append(("Google Benchmark context",
                     f"{gb_context.get('num_cpus', '?')} CPUs at "
                     f"{gb_context.get('mhz_per_cpu', '?')} MHz"
                     + (", CPU frequency scaling ON (noisier)" if scaling else "")
                     + (f", load average at start {' '.join(f'{x:.2f}' for x in load)}"
                        if load else "")
))
    lines = ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return lines


def _run_line(meta: dict) -> str:
    if not meta:
        return "Results of a folder without run.json."
    parts = [f"`{meta.get('command', 'tools/bench')}`",
             f"started {meta.get('started_utc', '?')}",
             "quick sizes" if meta.get("quick") else "full sizes",
             f"{meta.get('repetitions', '?')} repetitions"]
    if meta.get("filter"):
        parts.append(f"filter `{meta['filter']}`")
    if meta.get("build_dir"):
        parts.append(f"binaries from `{meta['build_dir']}`"
                     + (f" (preset {meta['preset']})" if meta.get("preset") else ""))
    if meta.get("duration_s") is not None:
        parts.append(f"took {meta['duration_s']:.0f} s")
    return "Run: " + ", ".join(parts) + "."


def generate(folder: str) -> Report:
    """Write report.md, speedup.png and speedup.svg into folder."""
    meta = load_meta(folder)
    benches, files, problems = load_folder(folder)
    failed_bins = []
    for b in meta.get("binaries", []):
        if b.get("exit_code") not in (0, None) or b.get("error"):
            failed_bins.append(b["name"])
            problems.append(f"{b['name']}: {b.get('error') or 'exit code ' + str(b['exit_code'])}"
                            f" (log: {b.get('log', '?')})")
    for b in benches.values():
        if b.failed:
            problems.append(f"{b.name}: FAILED: {b.error}")
    context = {"workers": _workers(meta, files), "filter": meta.get("filter"),
               "failed_binaries": failed_bins}

    by_family: dict[str, list[Bench]] = {}
    for b in benches.values():
        by_family.setdefault(b.family, []).append(b)
    families = sorted(by_family, key=family_sort_key)
    family_tables = [tables.build_family(f, by_family[f], context) for f in families]
    panels = [p for p in (tables.chart_family(f, by_family[f], context) for f in families) if p]
    try:
        renderer = chart.render(panels, folder)
    except chart.ChartError as e:
        renderer = "none"
        problems.append(str(e))

    md = ["# coring benchmark report", "", _run_line(meta), ""]
    md += _machine_section(meta, files[0].context if files else {})
    md += ["", "## Results", "",
           "Each benchmark runs the same job on coring and on its baselines in one process "
           "(DESIGN.md §5). Cells are medians over the repetitions with the min–max in "
           "parentheses. `coring/X` is coring's median divided by X's: below 1× coring is "
           "faster, 0.25× means four times faster. Targets are those of DESIGN.md §5, "
           "checked on ratios measured in this run.", ""]
    if problems:
        md += ["**Problems in this run:**", ""] + [f"- {p}" for p in problems] + [""]
    if not family_tables:
        md += ["No benchmark results in this folder.", ""]
    for t in family_tables:
        md.append(tables.render_markdown(t))
    md += ["## Chart", "",
           "Every contender of each family side by side: one panel per family, one group of "
           "bars per size, the family's own metric (the medians of its table; lower is "
           "better), log scale.", "",
           "![contenders side by side](speedup.svg)" if renderer != "none" else
           "(not drawn: see the problems above)", ""]
    markdown = "\n".join(md)
    with open(os.path.join(folder, "report.md"), "w", encoding="utf-8") as f:
        f.write(markdown)

    terminal = "\n".join(tables.render_text(t) for t in family_tables) or \
        "No benchmark results.\n"
    if problems:
        terminal += "\nPROBLEMS:\n" + "\n".join(f"  {p}" for p in problems) + "\n"
    return Report(markdown, terminal, problems, renderer)
