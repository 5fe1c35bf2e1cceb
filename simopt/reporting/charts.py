"""The report's charts, in Vietnamese or English, drawn from a :class:`ReportData`.

Each chart is one function returning a matplotlib :class:`~matplotlib.figure.Figure` (for a
notebook to show) or None when there is nothing to draw; :func:`charts` renders them all to PNG
bytes for the HTML report. Figures are built without pyplot, so no global figure state leaks into
a notebook or a server, and drawn on the Agg canvas.

The charts are printed by provincial offices, often in black and white: series differ by hatch,
marker and line style, never by colour alone, and the heat-map uses a grey ramp. The same data
gives the same PNG bytes: the style is pinned (matplotlib's defaults plus the few settings below,
whatever a user's matplotlibrc says) and the PNG carries no software version or date.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, MaxNLocator

from simopt.reporting.data import ReportData
from simopt.reporting.i18n import TY, Messages, messages

DPI = 150
"""Print-friendly: a 7.5-inch-wide chart is 1,125 pixels, sharp on an A4 page."""
WIDTH_IN = 7.5
"""A little wider than an A4 page's text column (184 mm ≈ 7.2 in): the report scales charts
down to the column, never up, so text is drawn at least at its stated size."""

STYLE: dict[str, Any] = {
    # DejaVu Sans ships with matplotlib and has every Vietnamese diacritic; naming it (rather than
    # "sans-serif") keeps another installed font from changing the bytes or dropping a glyph.
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9,
    "figure.titlesize": 11,
    "legend.fontsize": 8,
    "hatch.linewidth": 0.6,
    "hatch.color": "black",
    # a notebook saving a chart as SVG gets the same element ids every time
    "svg.hashsalt": "simopt",
}
"""Pinned on top of matplotlib's defaults for every chart (see :func:`pinned_style`)."""

# Black-and-white series: a fill grey and a hatch per funding source, a marker and a dash per
# line. The greys stay light enough for hatches and annotations to remain visible on top.
FILL_GREYS = ("0.35", "0.75", "1.0", "0.55", "0.9", "0.15")
HATCHES = ("", "///", "...", "xx", "\\\\\\", "oo")
HEAT_CMAP = ListedColormap(mpl.colormaps["Greys"](np.linspace(0.0, 0.85, 256)), name="simopt_grey")
"""White for nobody, dark grey (not black) for the most, so that annotations stay readable."""


@contextmanager
def pinned_style() -> Iterator[None]:
    """Matplotlib's default style and :data:`STYLE`, for the time a chart is built and saved.

    rcParams are read when artists are created and when they are drawn, so both must happen
    inside; the user's own settings come back on exit.
    """
    with matplotlib.style.context(["default", STYLE]):
        yield


# ---------------------------------------------------------------------------------- axis formats
class NumberFormatter(Formatter):
    """Tick labels with the language's separators (1.234,5 in Vietnamese), as many decimals as
    the tick spacing needs; ``scale`` divides first (VND → tỷ đồng), ``suffix`` follows ("%")."""

    def __init__(self, m: Messages, scale: float = 1.0, suffix: str = "") -> None:
        self.m = m
        self.scale = scale
        self.suffix = suffix
        self.digits = 0

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.m.number(x / self.scale, self.digits) + self.suffix

    def format_ticks(self, values: Any) -> list[str]:
        ticks = np.asarray(values, dtype=float) / self.scale
        steps = np.diff(np.unique(ticks))
        step = float(steps.min()) if steps.size else 1.0
        self.digits = _digits_for(step)
        return [self(float(v)) for v in values]


def _digits_for(step: float) -> int:
    """Decimals needed to tell ticks ``step`` apart: 10 → 0, 2.5 → 1, 0.25 → 2."""
    if step <= 0 or not math.isfinite(step):
        return 0
    digits = 0
    while digits < 4 and abs(round(step, digits) - step) > 1e-9 * max(1.0, abs(step)):
        digits += 1
    return digits


def _years_axis(ax: Axes, years: Sequence[int]) -> None:
    """Whole years as plain numbers: 2025, never 2.025 in Vietnamese."""
    ax.set_xticks(list(years))
    ax.set_xticklabels([str(y) for y in years])


# ------------------------------------------------------------------------------------ helpers
def _subtitle(data: ReportData, m: Messages) -> str:
    if data.kind == "plan":
        confidence = data.question.get("confidence")
        key = "charts.subtitle.plan_joint" if data.question.get("joint") else "charts.subtitle.plan"
        return m(key, scenario=data.scenario, confidence=m.share(confidence))
    return m("charts.subtitle.optimize", scenario=data.scenario)


def _title(fig: Figure, title: str, subtitle: str) -> None:
    fig.suptitle(f"{title}\n{subtitle}", fontsize=STYLE["figure.titlesize"], linespacing=1.5)


def _finite(x: Any) -> bool:
    return isinstance(x, int | float | np.floating | np.integer) and math.isfinite(float(x))


def _wrap_id(text: str, width: int = 20) -> str:
    """A long id over several lines, broken after its underscores: the id itself unchanged."""
    if len(text) <= width:
        return text
    lines: list[str] = []
    line = ""
    for part in text.split("_"):
        piece = part if not line else "_" + part
        if line and len(line) + len(piece) > width:
            lines.append(line + "_")
            line = part
        else:
            line += piece
    lines.append(line)
    return "\n".join(lines)


# ------------------------------------------------------------------------------- attainment
def attainment_figure(data: ReportData, lang: str = "vi") -> Figure | None:
    """Each target's share at its level, year by year: the mean (simulated, or the optimiser's
    expectation), the 95% range of replications when simulated, the required share and the
    target's year; one small panel per target, a column per milestone year."""
    m = messages(lang)
    traj = data.trajectory
    if traj.empty:
        return None
    infos = {str(r["target"]): r for r in data.targets.to_dict("records")}
    order = list(dict.fromkeys(traj["target"].astype(str)))
    target_years = {t: int(traj.loc[traj["target"] == t, "target_year"].iloc[0]) for t in order}
    columns = sorted(set(target_years.values()))
    if len(columns) > 3:
        # many milestones: a plain grid in the scenario's order
        grid: list[list[str | None]] = [[*order[i : i + 3]] for i in range(0, len(order), 3)]
        ncols = 3
    else:
        per_year = [[t for t in order if target_years[t] == y] for y in columns]
        nrows = max(len(c) for c in per_year)
        ncols = len(columns)
        grid = [[c[i] if i < len(c) else None for c in per_year] for i in range(nrows)]
    nrows = len(grid)
    simulated = bool(traj["share_low95"].notna().any())
    years = sorted(int(y) for y in traj["year"].unique())
    with pinned_style():
        fig = Figure(figsize=(WIDTH_IN, 1.3 + 1.75 * nrows), layout="constrained", dpi=DPI)
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
        fmt = NumberFormatter(m, scale=0.01, suffix="%")
        for r, row in enumerate(grid):
            for c, tid in enumerate(row):
                ax = axes[r][c]
                if tid is None:
                    ax.set_visible(False)
                    continue
                t = traj[traj["target"] == tid].sort_values("year")
                info = infos.get(tid)
                _attainment_panel(ax, t, info, m, simulated, fmt)
                _years_axis(ax, years)
                ax.tick_params(axis="x", labelrotation=90 if len(years) > 8 else 0)
                if c == 0:
                    ax.set_ylabel(m("charts.attainment.ylabel"))
                if r == nrows - 1 or grid[r + 1][c] is None:
                    ax.set_xlabel(m("charts.attainment.xlabel"))
        handles: list[Any] = [
            Line2D(
                [],
                [],
                color="black",
                marker="o",
                markersize=3.5,
                label=m("charts.attainment.mean" if simulated else "charts.attainment.expected"),
            )
        ]
        if simulated:
            handles.append(
                Patch(
                    facecolor="0.85",
                    edgecolor="0.5",
                    linewidth=0.5,
                    label=m("charts.attainment.band"),
                )
            )
        handles += [
            Line2D([], [], color="black", linestyle="--", label=m("charts.attainment.required")),
            Line2D(
                [],
                [],
                color="black",
                linestyle=":",
                marker="D",
                markersize=4,
                markerfacecolor="white",
                label=m("charts.attainment.target_year"),
            ),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        _title(fig, m("charts.attainment.title"), _subtitle(data, m))
    return fig


def _attainment_panel(
    ax: Axes,
    t: pd.DataFrame,
    info: dict[Any, Any] | None,
    m: Messages,
    simulated: bool,
    fmt: NumberFormatter,
) -> None:
    x = t["year"].to_numpy(dtype=float)
    mean = t["mean_share"].to_numpy(dtype=float)
    required = float(t["required_share"].iloc[0])
    target_year = int(t["target_year"].iloc[0])
    # a pool with nobody in it has no share in any year: nothing to scale the axis by
    tops = [float(np.nanmax(mean))] if np.isfinite(mean).any() else []
    if simulated:
        low = t["share_low95"].to_numpy(dtype=float)
        high = t["share_high95"].to_numpy(dtype=float)
        ax.fill_between(x, low, high, facecolor="0.85", edgecolor="0.5", linewidth=0.5)
        if np.isfinite(high).any():
            tops.append(float(np.nanmax(high)))
    ax.plot(x, mean, color="black", marker="o", markersize=3, linewidth=1.3)
    if math.isfinite(required):
        ax.axhline(required, color="black", linestyle="--", linewidth=1.0)
        ax.plot(
            [target_year],
            [required],
            marker="D",
            markersize=5,
            color="black",
            markerfacecolor="white",
            zorder=5,
        )
        tops.append(required)
    ax.axvline(target_year, color="black", linestyle=":", linewidth=0.9)
    ax.set_ylim(0.0, max(0.05, 1.12 * max(tops, default=0.0)))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.yaxis.set_major_formatter(fmt)
    ax.grid(axis="y", color="0.85", linewidth=0.5)
    level = int(info["min_level"]) if info is not None and _finite(info["min_level"]) else ""
    tid = str(t["target"].iloc[0])
    if math.isfinite(required):
        title = m("charts.attainment.panel", share=m.share(required), level=level, year=target_year)
    else:
        count = info["required_count"] if info is not None else None
        title = m(
            "charts.attainment.panel_count", count=m.people(count), level=level, year=target_year
        )
    # the target's id on a line of its own: the panel is too narrow for id and requirement
    ax.set_title(f"{tid}\n{title}", loc="left", fontsize=8)
    if info is not None and _finite(info.get("probability_met")):
        text = m(
            "charts.attainment.probability",
            probability=m.share(float(info["probability_met"])),
            interval=m.interval(info["probability_low95"], info["probability_high95"]),
        )
        ax.text(
            0.02,
            0.95,
            text,
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=7.5,
            bbox={
                "facecolor": "white",
                "edgecolor": "0.6",
                "linewidth": 0.5,
                "boxstyle": "round,pad=0.25",
            },
        )


# ------------------------------------------------------------------------------------- budget
def budget_figure(data: ReportData, lang: str = "vi") -> Figure | None:
    """Spending per year stacked by funding source (public sources at the bottom, so that their
    stack meets the public ceiling's line), in tỷ đồng, with the yearly ceiling as steps."""
    m = messages(lang)
    wide = data.budget_by_year()
    if wide.empty:
        return None
    # every year from the start, spending or not, so that the years line up with the schedule's
    span = range(min(data.start_year, int(wide["year"].min())), int(wide["year"].max()) + 1)
    wide = wide.set_index(wide["year"].astype(int)).reindex(span, fill_value=0.0)
    years = list(span)
    x = np.arange(len(years), dtype=float)
    sources = sorted(data.sources, key=lambda s: not s.public)  # stable: public first
    with pinned_style():
        fig = Figure(figsize=(WIDTH_IN, 4.6), layout="constrained", dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        bottom = np.zeros(len(years))
        for i, s in enumerate(sources):
            values = wide[s.id].to_numpy(dtype=float) if s.id in wide else np.zeros(len(years))
            label = m("charts.budget.public", name=s.name) if s.public else s.name
            ax.bar(
                x,
                values,
                0.7,
                bottom=bottom,
                label=label,
                color=FILL_GREYS[i % len(FILL_GREYS)],
                hatch=HATCHES[i % len(HATCHES)],
                edgecolor="black",
                linewidth=0.6,
            )
            bottom = bottom + values
        if not data.ceilings.empty:
            caps = dict(
                zip(data.ceilings["year"].astype(int), data.ceilings["ceiling_vnd"], strict=True)
            )
            y = np.array([float(caps.get(yr, np.nan)) for yr in years])
            # steps spanning each bar's whole slot: the ceiling of a year covers its bar
            edges = np.concatenate([x - 0.5, [x[-1] + 0.5]])
            ax.stairs(
                y,
                edges,
                color="black",
                linestyle="--",
                linewidth=1.6,
                baseline=None,
                label=m("charts.budget.ceiling"),
            )
        ax.set_xticks(x)
        ax.set_xticklabels([str(y) for y in years])
        ax.set_xlim(-0.6, len(years) - 0.4)
        ax.set_xlabel(m("charts.budget.xlabel"))
        ax.set_ylabel(m("charts.budget.ylabel"))
        ax.yaxis.set_major_formatter(NumberFormatter(m, scale=TY))
        ax.grid(axis="y", color="0.85", linewidth=0.5)
        ax.set_axisbelow(True)
        # below the bars, never over them
        fig.legend(loc="outside lower center", ncols=2, frameon=False)
        _title(fig, m("charts.budget.title"), _subtitle(data, m))
    return fig


# ----------------------------------------------------------------------------------- frontier
COST_COLUMNS = ("cost_vnd", "min_cost_vnd")
"""The frontier's cost column: ``cost_vnd``; ``min_cost_vnd`` (the ceilings sweep's name) too."""


def frontier_figure(
    frontier: pd.DataFrame,
    lang: str = "vi",
    *,
    confidence: float | None = None,
    subtitle: str | None = None,
) -> Figure | None:
    """The finance frontier: the minimum cost at each yearly ceiling and, when simulated, the
    probability that every target is met and the lowest probability of any one target.

    ``frontier`` needs only ``ceiling_vnd`` and ``cost_vnd`` (or ``min_cost_vnd``; NaN where no
    schedule fits); ``probability_all_met`` and ``min_probability_met`` are drawn when present,
    and a ``feasible`` column, when present, marks the ceilings with no schedule. ``confidence``
    draws the asked confidence on the probability panel. None for an empty table.
    """
    m = messages(lang)
    if frontier.empty or "ceiling_vnd" not in frontier.columns:
        return None
    cost_col = next((c for c in COST_COLUMNS if c in frontier.columns), None)
    if cost_col is None:
        raise ValueError(f"a frontier needs ceiling_vnd and one of {', '.join(COST_COLUMNS)}")
    f = frontier.sort_values("ceiling_vnd")
    x = f["ceiling_vnd"].to_numpy(dtype=float)
    cost = pd.to_numeric(f[cost_col], errors="coerce").to_numpy(dtype=float)
    feasible = np.isfinite(cost)
    if "feasible" in f.columns:
        feasible &= f["feasible"].fillna(False).astype(bool).to_numpy()
    probs = [
        (col, key, marker, dash)
        for col, key, marker, dash in (
            ("probability_all_met", "charts.frontier.all_met", "s", "-"),
            ("min_probability_met", "charts.frontier.min_met", "^", "--"),
        )
        if col in f.columns and pd.to_numeric(f[col], errors="coerce").notna().any()
    ]
    with pinned_style():
        height = 5.4 if probs else 3.4
        fig = Figure(figsize=(WIDTH_IN, height), layout="constrained", dpi=DPI)
        FigureCanvasAgg(fig)
        axes = fig.subplots(2 if probs else 1, 1, sharex=True, squeeze=False)[:, 0]
        ax = axes[0]
        ax.plot(
            x[feasible],
            cost[feasible],
            color="black",
            marker="o",
            markersize=4,
            linewidth=1.3,
            label=m("charts.frontier.cost"),
        )
        if (~feasible).any():
            # no cost to plot where nothing fits: crosses along the bottom edge say so
            ax.plot(
                x[~feasible],
                np.full(int((~feasible).sum()), 0.04),
                linestyle="none",
                marker="x",
                markersize=6,
                color="black",
                transform=ax.get_xaxis_transform(),
                label=m("charts.frontier.infeasible"),
            )
        ax.set_ylabel(m("charts.frontier.cost_ylabel"))
        ax.yaxis.set_major_formatter(NumberFormatter(m, scale=TY))
        ax.grid(color="0.85", linewidth=0.5)
        # a fixed corner: "best" depends on a layout that is still moving at the first draw
        ax.legend(loc="upper right", framealpha=1.0, edgecolor="0.6")
        if probs:
            pax = axes[1]
            for col, key, marker, dash in probs:
                p = pd.to_numeric(f[col], errors="coerce").to_numpy(dtype=float)
                ok = np.isfinite(p)
                pax.plot(
                    x[ok],
                    p[ok],
                    color="black",
                    marker=marker,
                    markersize=4,
                    markerfacecolor="white",
                    linestyle=dash,
                    linewidth=1.2,
                    label=m(key),
                )
            if confidence is not None:
                pax.axhline(
                    confidence,
                    color="0.4",
                    linestyle=":",
                    linewidth=1.2,
                    label=m("charts.frontier.confidence", confidence=m.share(confidence)),
                )
            pax.set_ylim(-0.02, 1.02)
            pax.set_ylabel(m("charts.frontier.probability_ylabel"))
            pax.yaxis.set_major_formatter(NumberFormatter(m, scale=0.01, suffix="%"))
            pax.grid(color="0.85", linewidth=0.5)
            pax.legend(loc="lower right", framealpha=1.0, edgecolor="0.6")
        axes[-1].set_xlabel(m("charts.frontier.xlabel"))
        axes[-1].xaxis.set_major_formatter(NumberFormatter(m, scale=TY))
        fig.suptitle(
            m("charts.frontier.title") + (f"\n{subtitle}" if subtitle else ""),
            fontsize=STYLE["figure.titlesize"],
            linespacing=1.5,
        )
    return fig


# ----------------------------------------------------------------------------------- schedule
def schedule_matrix(data: ReportData) -> dict[str, pd.DataFrame]:
    """People enrolled per course: groups × intake years (pools summed), every year of the
    horizon a column so that panels line up."""
    s = data.schedule
    if s.empty:
        return {}
    years = list(range(data.start_year, data.end_year + 1))
    years += sorted(int(y) for y in s["year"].unique() if int(y) not in years)
    groups = list(dict.fromkeys(s["group"].astype(str)))
    out: dict[str, pd.DataFrame] = {}
    # courses by name (level3 before level4), as the report's table lists them
    for course in sorted(set(s["course"].astype(str))):
        rows = s[s["course"].astype(str) == course]
        table = rows.pivot_table(
            index="group", columns="year", values="enrolments", aggfunc="sum", fill_value=0
        )
        out[course] = table.reindex(index=groups, columns=years, fill_value=0.0).astype(float)
    return out


def schedule_figure(data: ReportData, lang: str = "vi") -> Figure | None:
    """The schedule as a heat-map: one panel per course, groups × years, each cell the people
    enrolled (annotated); one grey scale for all panels."""
    m = messages(lang)
    mats = schedule_matrix(data)
    if not mats:
        return None
    vmax = max(float(t.to_numpy().max()) for t in mats.values()) or 1.0
    norm = Normalize(vmin=0.0, vmax=vmax)
    n_groups = max(len(t.index) for t in mats.values())
    with pinned_style():
        height = 1.3 + sum(0.45 + 0.36 * len(t.index) for t in mats.values())
        fig = Figure(figsize=(WIDTH_IN, max(3.0, height)), layout="constrained", dpi=DPI)
        FigureCanvasAgg(fig)
        axes = fig.subplots(
            len(mats),
            1,
            sharex=True,
            squeeze=False,
            height_ratios=[len(t.index) for t in mats.values()],
        )[:, 0]
        image = None
        for ax, (course, table) in zip(axes, mats.items(), strict=True):
            values = table.to_numpy(dtype=float)
            image = ax.imshow(values, cmap=HEAT_CMAP, norm=norm, aspect="auto")
            for (i, j), v in np.ndenumerate(values):
                if round(v) < 1:
                    continue  # nobody (or a fraction of a person): an empty cell reads best
                dark = norm(v) > 0.55
                ax.text(
                    j,
                    i,
                    m.people(v),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
            ax.set_yticks(range(len(table.index)))
            ax.set_yticklabels([_wrap_id(str(g)) for g in table.index], fontsize=7)
            ax.set_xticks(range(len(table.columns)))
            ax.set_xticklabels([str(int(y)) for y in table.columns])
            # cell borders, so that neighbouring cells of one grey stay apart on paper
            ax.set_xticks(np.arange(-0.5, len(table.columns)), minor=True)
            ax.set_yticks(np.arange(-0.5, len(table.index)), minor=True)
            ax.grid(which="minor", color="white", linewidth=1.2)
            ax.tick_params(which="minor", length=0)
            ax.set_title(m("charts.schedule.panel", course=course), loc="left")
        axes[-1].set_xlabel(m("charts.schedule.xlabel"))
        assert image is not None
        bar = fig.colorbar(
            image,
            ax=list(axes),
            shrink=0.9 if n_groups > 2 else 1.0,
            pad=0.01,
            format=NumberFormatter(m),
        )
        bar.set_label(m("charts.schedule.colorbar"))
        _title(fig, m("charts.schedule.title"), _subtitle(data, m))
    return fig


# ------------------------------------------------------------------------------------- output
def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes, with no software version or date in them (same data, same
    bytes). Its layout is fixed by the first call: a later call gives the same bytes."""
    buf = io.BytesIO()
    with pinned_style():
        if fig.get_layout_engine() is not None:
            # Constrained layout moves axes by a hundredth of a pixel at each draw: lay the
            # figure out once and keep those positions, so that saving twice gives one result.
            fig.draw_without_rendering()
            fig.set_layout_engine("none")
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


CHART_NAMES = ("attainment", "budget", "frontier", "schedule")


def figures(data: ReportData, lang: str = "vi") -> dict[str, Figure]:
    """Every chart the data has (name → Figure), in the report's order."""
    confidence = data.question.get("confidence")
    built = {
        "schedule": schedule_figure(data, lang),
        "budget": budget_figure(data, lang),
        "frontier": frontier_figure(
            data.frontier,
            lang,
            confidence=confidence if isinstance(confidence, float) else None,
            subtitle=_subtitle(data, messages(lang)),
        ),
        "attainment": attainment_figure(data, lang),
    }
    return {name: fig for name, fig in built.items() if fig is not None}


def charts(data: ReportData, lang: str = "vi") -> dict[str, bytes]:
    """Every chart the data has as PNG bytes at :data:`DPI`: ``schedule``, ``budget``,
    ``frontier`` (when the run swept ceilings) and ``attainment``."""
    return {name: png_bytes(fig) for name, fig in figures(data, lang).items()}
