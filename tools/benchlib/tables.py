"""One table per benchmark family: medians, ratios coring/baseline, targets met or missed.

The cells are built once (build_family) and rendered twice: as Markdown for report.md and
as aligned plain text for the terminal.

Row sizes are the sizes coring (or any uncapped contender) ran. A contender that was
capped (the `capped` counter, e.g. std::thread in spawn_join) appears in every row with
its largest capped run, compared per task (`ns_per_task`) and labelled with its N.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .results import Bench, Stats, format_stats, size_key, stats
from .targets import Target, contender_sort_key, targets_for


@dataclass
class Cell:
    """What one contender measured in one row, and how to compare it with coring."""
    bench: Bench | None
    text: str
    value: Stats | None = None        # in the family's metric
    per_task: Stats | None = None     # ns/task, for comparisons across sizes
    substituted: bool = False         # a capped run standing in for this row's size


@dataclass
class FamilyTable:
    family: str
    metric_label: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def fmt_ratio(r: float) -> str:
    if r >= 100:
        return f"{r:.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    if r >= 0.1:
        return f"{r:.2f}×"
    return f"{r:.2g}×"


def _capped_runs(benches: list[Bench]) -> list[Bench]:
    return sorted((b for b in benches if b.capped_at() and not b.error and b.per_task()),
                  key=lambda b: size_key(b.size))


def _cell(family_benches: dict[str, dict[str, Bench]], contender: str, size: str,
          context: dict) -> Cell:
    own = family_benches.get(contender, {})
    b = own.get(size)
    if b is not None and b.failed:
        return Cell(b, f"**FAILED**: {b.error}")
    if b is not None and not b.not_run:
        values, unit = b.metric()
        s = stats(values)
        text = format_stats(s, unit) if s else "no samples"
        if b.capped_at():
            text += f" (capped at N={b.capped_at()})"
        return Cell(b, text, s, stats(b.per_task()))
    # Not run at this size: a capped run at a smaller size stands in, compared per task.
    capped = _capped_runs(list(own.values()))
    if capped:
        smaller = [c for c in capped if size_key(c.size) <= size_key(size)]
        c = (smaller or capped)[-1]
        pt = stats(c.per_task())
        return Cell(c, f"{format_stats(pt, 'ns/task')} (capped at N={c.capped_at()})",
                    None, pt, substituted=True)
    if b is not None:
        return Cell(b, f"not run ({_reason_text(b.error)})")
    return Cell(None, f"not run ({_missing_reason(own, context)})")


def _reason_text(error: str | None) -> str:
    text = (error or "").strip()
    for prefix in ("not run:", "not run", "skipped:", "skipped"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):].strip()
            break
    return text or "skipped by the benchmark"


def _missing_reason(own: dict[str, Bench], context: dict) -> str:
    if own:
        return "not measured at this size"
    if context.get("failed_binaries"):
        return "no result; failed: " + ", ".join(context["failed_binaries"])
    if context.get("filter"):
        return "no result; filtered out or not measured"
    return "no result"


def _compare(coring: Cell, other: Cell) -> tuple[float | None, bool]:
    """coring / other on the family metric, or per task when sizes differ."""
    if other.substituted or (coring.bench and other.bench and
                             (coring.bench.capped_at() or other.bench.capped_at())):
        if coring.per_task and other.per_task and other.per_task.median > 0:
            return coring.per_task.median / other.per_task.median, True
        return None, True
    if coring.value and other.value and other.value.median > 0:
        return coring.value.median / other.value.median, False
    return None, False


def _evaluate(t: Target, size: str, cells: dict[str, Cell], context: dict) -> str:
    """The verdict of one target in one row: met / **missed** / n/a (why)."""
    if t.kind == "manual":
        return "not checked automatically"
    if t.workers is not None and context.get("workers") != t.workers:
        return f"n/a (needs --workers {t.workers})"
    judged = cells.get(t.contender)   # coring, or coring_1worker for the pinned case
    who = t.contender
    if judged is None or judged.value is None:
        return f"n/a ({who} FAILED)" if judged and judged.bench and judged.bench.failed else \
            f"n/a ({who} not run)"
    mark = "" if not t.defined_at or size in t.defined_at else "†"
    if t.kind == "counter_max":
        values = judged.bench.counter(t.counter) if judged.bench else []
        if not values:
            return f"n/a (no {t.counter} counter)"
        worst = max(values)  # the worst repetition: a limit holds for every run
        unit = " MiB" if t.counter.endswith("_mib") else ""
        return f"{'met' if worst <= t.limit else '**missed**'} ({worst:.1f}{unit}){mark}"
    other = cells.get(t.baseline)
    if other is None or (other.value is None and other.per_task is None):
        return f"n/a ({t.baseline} not run)"
    if t.kind == "counter_ratio_max":
        mine = stats(judged.bench.counter(t.counter)) if judged.bench else None
        theirs = stats(other.bench.counter(t.counter)) if other.bench else None
        if mine is None or theirs is None or theirs.median <= 0:
            return f"n/a (no {t.counter} counter)"
        ratio = mine.median / theirs.median
        ok = ratio <= t.limit
        return (f"{'met' if ok else '**missed**'} ({mine.median:.0f} vs {theirs.median:.0f}, "
                f"{fmt_ratio(ratio)}){mark}")
    ratio, _ = _compare(judged, other)
    if ratio is None:
        return "n/a (not comparable)"
    if t.kind == "ratio_max":
        ok = ratio <= t.limit
        return f"{'met' if ok else '**missed**'} ({fmt_ratio(ratio)}){mark}"
    if t.kind == "cheaper_min":
        cheaper = 1.0 / ratio if ratio > 0 else float("inf")
        ok = cheaper >= t.limit
        return f"{'met' if ok else '**missed**'} ({fmt_ratio(cheaper)} cheaper){mark}"
    raise ValueError(f"unknown target kind {t.kind}")


def build_family(family: str, benches: list[Bench], context: dict) -> FamilyTable:
    """context: {"workers": int|None, "filter": str|None, "failed_binaries": [...]}"""
    by_contender: dict[str, dict[str, Bench]] = {}
    for b in benches:
        by_contender.setdefault(b.contender, {})[b.size] = b
    targets = targets_for(family)
    contenders = set(by_contender) | {"coring"} | {t.baseline for t in targets if t.baseline}
    others = sorted((c for c in contenders if c != "coring"), key=contender_sort_key)

    row_sizes = set(by_contender.get("coring", {}))
    for c, runs in by_contender.items():
        row_sizes |= {s for s, b in runs.items() if not b.capped_at()}
    sizes = sorted(row_sizes, key=size_key)

    unit = "ns"
    for b in benches:
        if not b.error:
            unit = b.metric()[1]
            break
    metric_label = ("cost per task (ns_per_task)" if unit == "ns/task"
                    else "cost per request (1 s / requests_per_s)" if unit == "ns/request"
                    else "wall time per run (real_time)")

    checked = [t for t in targets if t.kind != "manual"]
    header = (["size", "coring"] + others + [f"coring/{c}" for c in others]
              + [f"target {t.short}" for t in checked])
    table = FamilyTable(family, metric_label, header, [])
    capped_notes: dict[str, str] = {}
    skipped_notes: dict[str, str] = {}
    indicative = False
    for size in sizes:
        cells = {c: _cell(by_contender, c, size, context) for c in ["coring"] + others}
        row = [size or "-", cells["coring"].text] + [cells[c].text for c in others]
        for c in others:
            ratio, per_task = _compare(cells["coring"], cells[c])
            if ratio is None:
                row.append("—")
            else:   # say so when a time table compares a capped contender per task
                row.append(fmt_ratio(ratio) + (" per task" if per_task and unit != "ns/task"
                                               else ""))
            if cells[c].bench and cells[c].bench.capped_at():
                capped_notes[c] = cells[c].bench.capped_at()
            own = by_contender.get(c, {}).get(size)
            if cells[c].substituted and own is not None and own.not_run:
                skipped_notes.setdefault(c, f"{size}: {_reason_text(own.error)}")
        for t in checked:
            verdict = _evaluate(t, size, cells, context)
            indicative |= verdict.endswith("†")
            row.append(verdict)
        table.rows.append(row)

    for c, n in capped_notes.items():
        why = f" (not run at {skipped_notes[c]})" if c in skipped_notes else ""
        table.notes.append(f"{c} was capped at N={n}{why}; it is compared with coring per "
                           "task (ns_per_task).")
    if indicative:
        sizes_txt = "; ".join(f"{t.text}: N={', '.join(t.defined_at)}" for t in checked
                              if t.defined_at)
        table.notes.append(f"† the target is stated for another size ({sizes_txt}); "
                           "at this size the verdict is indicative only.")
    if checked:
        table.notes.append("Targets (DESIGN.md §5): " + "; ".join(t.text for t in checked)
                           + ".")
    for t in targets:
        if t.kind == "manual":
            table.notes.append(f"Target (DESIGN.md §5, not checked automatically): {t.text}.")
    return table


def render_markdown(t: FamilyTable) -> str:
    lines = [f"### {t.family}", "", f"Metric: {t.metric_label}; median (min–max) over the "
             "repetitions; lower is better. A ratio coring/X below 1× means coring is faster.",
             "", "| " + " | ".join(t.header) + " |",
             "|" + "|".join("---" for _ in t.header) + "|"]
    for row in t.rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    if t.notes:
        lines.append("")
        lines += [f"- {n}" for n in t.notes]
    return "\n".join(lines) + "\n"


def render_text(t: FamilyTable) -> str:
    """Aligned columns for the terminal (Markdown emphasis removed)."""
    rows = [t.header] + [[c.replace("**", "") for c in r] for r in t.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(t.header))]
    out = [f"== {t.family} — {t.metric_label}"]
    for n, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    out += [f"  {n}" for n in t.notes]
    return "\n".join(out) + "\n"


@dataclass
class ChartFamily:
    """One panel of the chart: every contender of a family, side by side, per size."""
    family: str
    unit: str                               # of the values; lower is better
    sizes: list[str]
    contenders: list[str]
    values: dict[tuple[str, str], float]    # (size, contender) -> median


def chart_family(family: str, benches: list[Bench], context: dict) -> ChartFamily | None:
    """The medians the family's table shows, in its own metric, for every contender at
    every size it ran; None when nothing ran. A capped run stands in at other sizes only
    where the family is measured per task."""
    by_contender: dict[str, dict[str, Bench]] = {}
    for b in benches:
        by_contender.setdefault(b.contender, {})[b.size] = b
    unit = next((b.metric()[1] for b in benches if not b.error), None)
    if unit is None:
        return None
    sizes = sorted({b.size for b in benches if not b.capped_at()} or
                   {b.size for b in benches}, key=size_key)
    contenders = sorted(by_contender, key=contender_sort_key)
    values: dict[tuple[str, str], float] = {}
    for size in sizes:
        for c in contenders:
            cell = _cell(by_contender, c, size, context)
            if cell.value is not None and not cell.substituted and not (
                    cell.bench and cell.bench.capped_at() and unit != "ns/task"):
                values[(size, c)] = cell.value.median
            elif cell.per_task is not None and unit == "ns/task":
                values[(size, c)] = cell.per_task.median
    if not values:
        return None
    sizes = [s for s in sizes if any((s, c) in values for c in contenders)]
    contenders = [c for c in contenders if any((s, c) in values for s in sizes)]
    return ChartFamily(family, unit, sizes, contenders, values)
