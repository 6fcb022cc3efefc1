"""`tools/bench --compare OLD [NEW]`: per-benchmark change between two result folders.

The verdict is noise-aware, with two sources of evidence:

* Within a run: each side has a median and a min–max over its repetitions. Medians that
  differ by no more than the mean of the two min–max ranges are "same" (for ranges
  centred on their medians, exactly where they stop overlapping).
* Between runs: the baselines (oneTBB, std::thread, std::async, serial) run code that a
  coring commit cannot change, so how far *they* moved measures the machine itself
  (frequency, neighbours). Their median change is the machine drift, and their largest
  deviation from it is the run-to-run noise band. Every change is judged after
  subtracting the drift, against max(MIN_CHANGE_PCT, band). Measured here: two runs of
  one commit drifted by -2.5% with baselines scattered up to 7% around that, wider than
  any single run's min–max shows.

Otherwise a change is "faster" or "slower" by the percentage of the median. Lower is
better for every metric compared here (time, or ns per task).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .results import Bench, Stats, format_stats, load_folder, size_key, stats
from .targets import contender_sort_key, family_sort_key

MIN_CHANGE_PCT = 3.0
# Drift is estimated only from at least this many baselines, and the band it implies is
# capped, so that a few baselines that really changed cannot hide a coring regression.
MIN_BASELINES = 4
MAX_BAND_PCT = 10.0


@dataclass
class Change:
    name: str
    old: Stats | None
    new: Stats | None
    unit: str
    verdict: str        # same / faster / slower / only in OLD / only in NEW / n/a
    pct: float | None = None
    why: str = ""
    threshold: float = MIN_CHANGE_PCT
    drift: float = 0.0


def verdict(old: Stats, new: Stats, min_pct: float = MIN_CHANGE_PCT,
            drift: float = 0.0) -> tuple[str, float]:
    """("same" | "faster" | "slower", change of the median in %).

    `drift` is the machine's own change in % (see machine_drift); `min_pct` the band
    within which a drift-corrected change counts as noise."""
    if old.median == 0:
        return ("same" if new.median == 0 else "slower"), 0.0
    delta = new.median - old.median
    pct = 100.0 * delta / old.median
    noise = (old.spread + new.spread) / 2.0
    if abs(pct - drift) <= min_pct or abs(delta) <= noise:
        return "same", pct
    return ("faster" if pct < drift else "slower"), pct


def machine_drift(pairs: list[tuple[str, Stats, Stats]]) -> tuple[float, float] | None:
    """(drift %, band %) from the baselines' changes, or None with too few baselines.

    `pairs` holds (contender, old, new) for every benchmark present in both runs."""
    pcts = sorted(100.0 * (n.median - o.median) / o.median
                  for contender, o, n in pairs if contender != "coring" and o.median)
    if len(pcts) < MIN_BASELINES:
        return None
    mid = len(pcts) // 2
    drift = pcts[mid] if len(pcts) % 2 else (pcts[mid - 1] + pcts[mid]) / 2.0
    return drift, min(MAX_BAND_PCT, max(abs(p - drift) for p in pcts))


def _samples(b: Bench) -> tuple[Stats | None, str]:
    values, unit = b.metric()
    return stats(values), unit


def compare(old: dict[str, Bench], new: dict[str, Bench],
            min_pct: float = MIN_CHANGE_PCT) -> list[Change]:
    changes = []
    def order(name):
        b = old.get(name) or new[name]
        return (family_sort_key(b.family), contender_sort_key(b.contender), size_key(b.size))
    pairs = []
    for name in set(old) & set(new):
        o, n = old[name], new[name]
        so, sn = _samples(o)[0], _samples(n)[0]
        if not (o.error or n.error or so is None or sn is None):
            pairs.append((o.contender, so, sn))
    measured = machine_drift(pairs)
    drift, band = measured if measured else (0.0, 0.0)
    threshold = max(min_pct, band)
    for name in sorted(set(old) | set(new), key=order):
        o, n = old.get(name), new.get(name)
        if o is None or n is None:
            b = o or n
            s, unit = _samples(b)
            changes.append(Change(name, s if o else None, s if n else None, unit,
                                  "only in OLD" if o else "only in NEW"))
            continue
        (so, unit), (sn, _) = _samples(o), _samples(n)
        if o.error or n.error or so is None or sn is None:
            why = "; ".join(f"{'failed' if b.failed else 'not run'} in {side}: {b.error}"
                            for side, b in (("OLD", o), ("NEW", n)) if b.error) or "no samples"
            changes.append(Change(name, so, sn, unit, "n/a", why=why))
            continue
        v, pct = verdict(so, sn, threshold, drift)
        changes.append(Change(name, so, sn, unit, v, pct, threshold=threshold, drift=drift))
    return changes


def _cell(s: Stats | None, unit: str) -> str:
    return "-" if s is None else format_stats(s, unit)


def render(changes: list[Change], old_dir: str, new_dir: str,
           min_pct: float = MIN_CHANGE_PCT) -> str:
    rows = [["benchmark", "OLD median (min–max)", "NEW median (min–max)", "change",
             "verdict"]]
    for c in changes:
        change = "" if c.pct is None else f"{c.pct:+.1f}%"
        if c.verdict == "same" and c.pct is not None and abs(c.pct) >= min_pct:
            v = "same (within noise)"   # a real-looking change, but inside drift/spread
        elif c.verdict in ("faster", "slower"):
            v = f"{c.verdict} {abs(c.pct):.1f}%"
        else:
            v = c.verdict
        if c.why:
            v += f" ({c.why})"
        rows.append([c.name, _cell(c.old, c.unit), _cell(c.new, c.unit), change, v])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    measured = [c for c in changes if c.pct is not None]
    drift = measured[0].drift if measured else 0.0
    band = measured[0].threshold if measured else min_pct
    out = [f"OLD: {old_dir}", f"NEW: {new_dir}",
           f"machine drift (median change of the baselines, which coring cannot change): "
           f"{drift:+.1f}%; run-to-run noise band: {band:.1f}%",
           f"verdict: 'same' when the change minus the drift is within ±{band:.1f}% "
           f"(at least {min_pct:g}%), or the medians differ by no more than the mean of the "
           "two runs' min–max spreads (lower is better)", ""]
    for i, r in enumerate(rows):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    order = ["same", "faster", "slower", "n/a", "only in OLD", "only in NEW"]
    summary = ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))
    out += ["", f"summary: {len(changes)} benchmarks: {summary or 'nothing to compare'}"]
    return "\n".join(out) + "\n"


def latest_result(results_root: str, exclude: str) -> str | None:
    """The most recently written result folder under results_root other than exclude."""
    if not os.path.isdir(results_root):
        return None
    candidates = []
    for entry in os.listdir(results_root):
        path = os.path.join(results_root, entry)
        if os.path.isdir(path) and os.path.realpath(path) != os.path.realpath(exclude) and \
                any(f.endswith(".json") and f != "run.json" for f in os.listdir(path)):
            candidates.append((os.path.getmtime(path), path))
    return max(candidates)[1] if candidates else None


def run(old_dir: str, new_dir: str, min_pct: float = MIN_CHANGE_PCT) -> tuple[str, list[str]]:
    """The comparison text and any problems loading either folder."""
    old, _, problems_old = load_folder(old_dir)
    new, _, problems_new = load_folder(new_dir)
    problems = [f"OLD: {p}" for p in problems_old] + [f"NEW: {p}" for p in problems_new]
    return render(compare(old, new, min_pct), old_dir, new_dir, min_pct), problems
