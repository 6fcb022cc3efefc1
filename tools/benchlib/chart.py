"""The speed-up chart: coring over its baseline per benchmark, on a log axis.

Rendered with matplotlib (Debian's python3-matplotlib, installed by tools/setup) and, when
it cannot be imported, with gnuplot. Writes speedup.png and speedup.svg.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

Point = tuple[str, float, str]   # (benchmark label, speed-up, baseline)

TITLE = "coring speed-up over baseline (higher is better; log scale)"


class ChartError(RuntimeError):
    pass


def render(points: list[Point], out_dir: str) -> str:
    """Write speedup.png and speedup.svg into out_dir; returns the renderer used."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        matplotlib = None
    if matplotlib is not None:
        _render_matplotlib(points, out_dir)
        return "matplotlib"
    if shutil.which("gnuplot"):
        _render_gnuplot(points, out_dir)
        return "gnuplot"
    raise ChartError("cannot draw the chart: neither python3-matplotlib (for "
                     f"{os.path.realpath(sys.executable)}) nor gnuplot is installed; "
                     "run tools/setup or `apt-get install python3-matplotlib`")


def _label(p: Point) -> str:
    return f"{p[0]} vs {p[2]}"


def _value_text(s: float) -> str:
    if s >= 100:
        return f"{s:.0f}×"
    if s >= 10:
        return f"{s:.1f}×"
    return f"{s:.2f}×" if s >= 0.1 else f"{s:.2g}×"


def _render_matplotlib(points: list[Point], out_dir: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    height = max(2.5, 0.45 * len(points) + 1.3)
    fig, ax = plt.subplots(figsize=(9, height))
    if points:
        ys = list(range(len(points)))[::-1]   # first benchmark on top
        speedups = [p[1] for p in points]
        colours = ["#2e7d32" if s >= 1 else "#c62828" for s in speedups]
        # Bars grow from 1× so a slow-down points left, a speed-up right.
        ax.barh(ys, [s - 1 for s in speedups], left=1, color=colours, height=0.6)
        ax.set_xscale("log")
        ax.axvline(1, color="black", linewidth=0.8)
        ax.set_yticks(ys, [_label(p) for p in points])
        lo, hi = min(speedups + [1.0]), max(speedups + [1.0])
        ax.set_xlim(lo / 2.5, hi * 2.5)
        for y, s in zip(ys, speedups):
            ax.text(s * (1.08 if s >= 1 else 1 / 1.08), y, _value_text(s),
                    va="center", ha="left" if s >= 1 else "right", fontsize=9)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}×"))
        ax.set_xlabel("speed-up of coring (baseline time / coring time)")
    else:
        ax.text(0.5, 0.5, "no benchmark with both coring and a baseline", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title(TITLE)
    ax.grid(axis="x", which="major", alpha=0.4)
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out_dir, f"speedup.{ext}"), dpi=120)
    plt.close(fig)


def _gp_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_gnuplot(points: list[Point], out_dir: str) -> None:
    height = max(250, 34 * len(points) + 110)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "speedup.dat")
        with open(data, "w", encoding="utf-8") as f:
            for i, p in enumerate(points):
                y = len(points) - 1 - i
                f.write(f"{y} {p[1]:.6g} {_gp_quote(_label(p))} {_gp_quote(_value_text(p[1]))}\n")
        script = [f"set title {_gp_quote(TITLE)}", "set key off", "set grid xtics",
                  "set xlabel 'speed-up of coring (baseline time / coring time)'"]
        if points:
            speedups = [p[1] for p in points]
            lo, hi = min(speedups + [1.0]) / 2.5, max(speedups + [1.0]) * 2.5
            script += ["set logscale x", "set format x '%g×'", f"set xrange [{lo:.6g}:{hi:.6g}]",
                       f"set yrange [-0.7:{len(points) - 0.3}]", "set arrow from 1, graph 0 "
                       "to 1, graph 1 nohead", "set style fill solid 0.8 noborder"]
            plot = (f"plot {_gp_quote(data)} using (($2<1)?$2:1):1:(($2<1)?$2:1):(($2<1)?1:$2):"
                    "($1-0.3):($1+0.3):(($2<1)?0xc62828:0x2e7d32):ytic(3) "
                    "with boxxyerror lc rgb variable, "
                    "'' using 2:1:(($2>=1)?stringcolumn(4):'') with labels left offset 0.5,0, "
                    "'' using 2:1:(($2<1)?stringcolumn(4):'') with labels right offset -0.5,0")
        else:
            script += ["unset border", "unset tics", "set xrange [0:1]", "set yrange [0:1]",
                       "set label 'no benchmark with both coring and a baseline' at 0.5,0.5 "
                       "center"]
            plot = "plot -1 notitle"
        # pngcairo draws better; plain png (libgd) is the fallback of minimal builds.
        for ext, terms in (("png", [f"pngcairo noenhanced size 900,{height}",
                                    f"png noenhanced size 900,{height}"]),
                           ("svg", [f"svg noenhanced size 900,{height} dynamic"])):
            output = _gp_quote(os.path.join(out_dir, f"speedup.{ext}"))
            for term in terms:
                text = "\n".join([f"set terminal {term}", f"set output {output}"]
                                 + script + [plot, "unset output"]) + "\n"
                proc = subprocess.run(["gnuplot"], input=text, text=True, capture_output=True)
                if proc.returncode == 0:
                    break
            else:
                raise ChartError(f"gnuplot failed to write speedup.{ext}: {proc.stderr.strip()}")
