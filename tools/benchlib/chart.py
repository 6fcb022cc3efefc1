"""The chart: every contender of each family side by side (issue 9 item 7).

One panel per family, one group of bars per size, one bar per contender in a colour of
its own (the same colour in every panel), in the family's own metric (the medians of its
table: wall time per run, ns per task or ns per request; lower is better) on a log axis.
No ratio against a baseline whose meaning changes from row to row: the reader sees coring,
oneTBB, std::thread, nginx and the raw io_uring loop as measured.

Rendered with matplotlib (Debian's python3-matplotlib, installed by tools/setup) and, when
it cannot be imported, with gnuplot. Writes speedup.png and speedup.svg (the names the
README and the runner's tests refer to).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from .tables import ChartFamily

TITLE = "contenders side by side (median, lower is better; log scale)"

# One colour per contender, stable across panels; others get the fallback cycle.
COLOURS = {"coring": "#2e7d32", "coring_1worker": "#81c784", "tbb": "#1565c0",
           "std_thread": "#c62828", "std_async": "#ef6c00", "serial": "#757575",
           "nginx": "#6a1b9a", "nginx_1worker": "#ba68c8", "raw_io_uring": "#00838f",
           "thread_per_conn": "#8d6e63"}
_FALLBACK = ["#f9a825", "#5d4037", "#455a64", "#ad1457", "#9e9d24"]


class ChartError(RuntimeError):
    pass


def colour(contender: str, others: list[str]) -> str:
    if contender in COLOURS:
        return COLOURS[contender]
    return _FALLBACK[others.index(contender) % len(_FALLBACK)] if contender in others else \
        _FALLBACK[0]


def unit_label(unit: str) -> str:
    return {"ns": "wall time per run (ns)", "ns/task": "ns per task",
            "ns/request": "ns per request"}.get(unit, unit)


def render(panels: list[ChartFamily], out_dir: str) -> str:
    """Write speedup.png and speedup.svg into out_dir; returns the renderer used."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        matplotlib = None
    if matplotlib is not None:
        _render_matplotlib(panels, out_dir)
        return "matplotlib"
    if shutil.which("gnuplot"):
        _render_gnuplot(panels, out_dir)
        return "gnuplot"
    raise ChartError("cannot draw the chart: neither python3-matplotlib (for "
                     f"{os.path.realpath(sys.executable)}) nor gnuplot is installed; "
                     "run tools/setup or `apt-get install python3-matplotlib`")


def _unknown(panels: list[ChartFamily]) -> list[str]:
    return sorted({c for p in panels for c in p.contenders if c not in COLOURS})


def _render_matplotlib(panels: list[ChartFamily], out_dir: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = _unknown(panels)
    n = max(1, len(panels))
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.8 * n + 0.8), squeeze=False)
    if not panels:
        ax = axes[0][0]
        ax.text(0.5, 0.5, "no benchmark results", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
    for ax, p in zip((row[0] for row in axes), panels):
        k = len(p.contenders)
        width = 0.8 / max(1, k)
        for j, c in enumerate(p.contenders):
            xs, ys = [], []
            for i, size in enumerate(p.sizes):
                if (size, c) in p.values:
                    xs.append(i - 0.4 + width * (j + 0.5))
                    ys.append(p.values[(size, c)])
            ax.bar(xs, ys, width=width, color=colour(c, others), label=c)
            for x, y in zip(xs, ys):
                ax.text(x, y * 1.05, _short(y), ha="center", va="bottom", fontsize=6)
        ax.set_yscale("log")
        # A log axis has no natural floor: the same one for every bar of the panel, well
        # below the smallest, so bar heights compare.
        ax.set_ylim(min(p.values.values()) / 3, max(p.values.values()) * 2)
        ax.set_xticks(range(len(p.sizes)), p.sizes)
        ax.set_title(f"{p.family}", fontsize=10, loc="left")
        ax.set_ylabel(unit_label(p.unit), fontsize=8)
        ax.grid(axis="y", which="major", alpha=0.4)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(TITLE)
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out_dir, f"speedup.{ext}"), dpi=110)
    plt.close(fig)


def _short(v: float) -> str:
    """3 significant digits with an SI suffix: 12345678 -> 12.3M."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def _gp_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_gnuplot(panels: list[ChartFamily], out_dir: str) -> None:
    others = _unknown(panels)
    height = 280 * max(1, len(panels)) + 60
    with tempfile.TemporaryDirectory() as tmp:
        script = ["set datafile missing '?'", "set style data histograms",
                  "set style histogram clustered gap 1", "set style fill solid 0.85 noborder",
                  "set logscale y", "set grid ytics", "set key outside right top",
                  "set format y '%g'"]
        if panels:
            script.append(f"set multiplot layout {len(panels)},1 title {_gp_quote(TITLE)}")
        for n, p in enumerate(panels):
            data = os.path.join(tmp, f"family{n}.dat")
            with open(data, "w", encoding="utf-8") as f:
                f.write("size " + " ".join(_gp_quote(c) for c in p.contenders) + "\n")
                for size in p.sizes:
                    cells = [f"{p.values[(size, c)]:.6g}" if (size, c) in p.values else "?"
                             for c in p.contenders]
                    f.write(_gp_quote(size) + " " + " ".join(cells) + "\n")
            lo = min(p.values.values()) / 2
            hi = max(p.values.values()) * 2
            plots = ", ".join(
                f"{_gp_quote(data)} using {j + 2}:xtic(1) title columnheader({j + 2}) "
                f"lc rgb {_gp_quote(colour(c, others))}" for j, c in enumerate(p.contenders))
            script += [f"set title {_gp_quote(p.family)}",
                       f"set ylabel {_gp_quote(unit_label(p.unit))}",
                       f"set yrange [{lo:.6g}:{hi:.6g}]", f"plot {plots}"]
        if panels:
            script.append("unset multiplot")
        else:
            script += ["unset border", "unset tics", "unset logscale y", "set xrange [0:1]",
                       "set yrange [0:1]",
                       "set label 'no benchmark results' at 0.5,0.5 center", "plot -1 notitle"]
        # pngcairo draws better; plain png (libgd) is the fallback of minimal builds.
        for ext, terms in (("png", [f"pngcairo noenhanced size 1000,{height}",
                                    f"png noenhanced size 1000,{height}"]),
                           ("svg", [f"svg noenhanced size 1000,{height} dynamic"])):
            output = _gp_quote(os.path.join(out_dir, f"speedup.{ext}"))
            for term in terms:
                text = "\n".join([f"set terminal {term}", f"set output {output}"]
                                 + script + ["unset output"]) + "\n"
                proc = subprocess.run(["gnuplot"], input=text, text=True, capture_output=True)
                if proc.returncode == 0:
                    break
            else:
                raise ChartError(f"gnuplot failed to write speedup.{ext}: {proc.stderr.strip()}")
