"""The sensitivity chart: a tornado (oat), mu* bars (morris) or variance-share bars (sobol).

Drawn like the report's charts (:mod:`simopt.reporting.charts`): without pyplot, in the pinned
style, readable in black and white (series differ by grey and hatch, intervals are black
whiskers), and saved by :func:`~simopt.reporting.charts.png_bytes`, so the same result gives the
same PNG bytes. Factors run top to bottom in their rank.
"""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

from simopt.reporting.charts import DPI, WIDTH_IN, NumberFormatter, pinned_style, png_bytes
from simopt.reporting.i18n import TY, messages

if TYPE_CHECKING:
    from simopt.experiments.sensitivity import SensitivityResult

LABEL_WIDTH = 38
"""Characters per line of a factor's label beside its bar."""
DARK, LIGHT = "0.3", "0.8"
ERROR_BARS = {"ecolor": "black", "elinewidth": 0.9, "capsize": 2.5}


def _outcome_axis(kind: str) -> tuple[Formatter, str]:
    m = messages("en")
    if kind == "vnd":
        return NumberFormatter(m, scale=TY), "billion VND"
    if kind == "share":
        return NumberFormatter(m, scale=0.01, suffix="%"), "%"
    return NumberFormatter(m), ""


def _wrap(label: str) -> str:
    return "\n".join(textwrap.wrap(label, LABEL_WIDTH)) or label


def _frame(result: SensitivityResult) -> tuple[Figure, Axes, np.ndarray]:
    """A figure tall enough for its factors; y positions with rank 1 at the top."""
    k = len(result.table)
    lines = sum(max(1, math.ceil(len(str(s)) / LABEL_WIDTH)) for s in result.table["label"])
    height = 1.6 + 0.22 * max(lines, k) + 0.12 * k
    fig = Figure(figsize=(WIDTH_IN, max(2.6, height)), layout="constrained", dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    y = np.arange(k, dtype=float)[::-1]
    ax.set_yticks(y)
    ax.set_yticklabels([_wrap(str(s)) for s in result.table["label"]], fontsize=7.5)
    ax.set_ylim(-0.7, k - 0.3)
    ax.grid(axis="x", color="0.85", linewidth=0.5)
    ax.set_axisbelow(True)
    return fig, ax, y


def _legend(fig: Figure, ax: Axes) -> None:
    """Below the chart, where no bar can be under it."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncols=len(labels), frameon=False, fontsize=7
    )


def _title(fig: Figure, result: SensitivityResult, what: str) -> None:
    from simopt.experiments.sensitivity import METHOD_TITLES, outcome_words

    words, _ = outcome_words(result.outcome)
    s = result.settings
    sub = [str(s["scenario"])] if "scenario" in s else []
    sub += [f"{len(result.table)} factors", f"{result.runs:,} runs"]
    if "n" in s:
        sub.append(f"N = {s['n']:,}")
    fig.suptitle(
        f"{METHOD_TITLES[result.method]}: {what}\n{words} · " + " · ".join(sub),
        fontsize=10,
        linespacing=1.5,
    )


def tornado_figure(result: SensitivityResult) -> Figure:
    """Each uncertainty's outcome at its low and high end, as bars from the stated outcome."""
    from simopt.experiments.sensitivity import END_QUANTILES, outcome_words

    t = result.table
    _, kind = outcome_words(result.outcome)
    fmt, unit = _outcome_axis(kind)
    with pinned_style():
        fig, ax, y = _frame(result)
        stated = t["outcome_stated"].to_numpy(dtype=float)
        centre = float(stated[0]) if len(stated) else 0.0
        q0, q1 = (f"{q:.0%}" for q in END_QUANTILES)
        for col, colour, hatch, offset, name in (
            ("outcome_low", "white", "////", 0.18, f"uncertainty at its {q0} quantile"),
            ("outcome_high", DARK, "", -0.18, f"uncertainty at its {q1} quantile"),
        ):
            ends = t[col].to_numpy(dtype=float)
            ok = np.isfinite(ends)
            ax.barh(
                y[ok] + offset,
                ends[ok] - centre,
                left=centre,
                height=0.36,
                color=colour,
                hatch=hatch,
                edgecolor="black",
                linewidth=0.6,
                label=name,
            )
            for yy in y[~ok]:
                ax.text(centre, yy + offset, " no plan", va="center", fontsize=7)
        ax.axvline(centre, color="black", linewidth=1.0, linestyle="--", label="stated values")
        ax.xaxis.set_major_formatter(fmt)
        ax.set_xlabel(f"{result.outcome}" + (f" ({unit})" if unit else ""))
        _legend(fig, ax)
        _title(fig, result, "each uncertainty alone at its ends")
    return fig


def morris_figure(result: SensitivityResult) -> Figure:
    """mu* with its bootstrap interval, and sigma beside it."""
    from simopt.experiments.sensitivity import outcome_words

    t = result.table
    _, kind = outcome_words(result.outcome)
    fmt, unit = _outcome_axis(kind)
    with pinned_style():
        fig, ax, y = _frame(result)
        ax.barh(
            y + 0.17,
            t["mu_star"].to_numpy(dtype=float),
            xerr=t["mu_star_conf"].to_numpy(dtype=float),
            height=0.34,
            color=LIGHT,
            edgecolor="black",
            linewidth=0.6,
            error_kw=ERROR_BARS,
            label="mu*: mean absolute effect (95% interval)",
        )
        sigma = t["sigma"].to_numpy(dtype=float)
        ok = np.isfinite(sigma)
        ax.barh(
            y[ok] - 0.17,
            sigma[ok],
            height=0.34,
            color="white",
            hatch="....",
            edgecolor="black",
            linewidth=0.6,
            label="sigma: spread of effects (interactions, curvature)",
        )
        ax.set_xlim(left=0.0)
        ax.xaxis.set_major_formatter(fmt)
        ax.set_xlabel(
            f"change of {result.outcome} per move across the 5–95% quantiles"
            + (f" ({unit})" if unit else "")
        )
        _legend(fig, ax)
        _title(fig, result, "elementary effects")
    return fig


def sobol_figure(result: SensitivityResult) -> Figure:
    """First-order and total shares of the variance, with their bootstrap intervals."""
    t = result.table
    m = messages("en")
    with pinned_style():
        fig, ax, y = _frame(result)
        for col, colour, hatch, offset, name in (
            ("S1", DARK, "", 0.17, "alone (first-order)"),
            ("ST", "white", "////", -0.17, "with interactions (total)"),
        ):
            ax.barh(
                y + offset,
                t[col].to_numpy(dtype=float),
                xerr=t[f"{col}_conf"].to_numpy(dtype=float),
                height=0.34,
                color=colour,
                hatch=hatch,
                edgecolor="black",
                linewidth=0.6,
                error_kw=ERROR_BARS,
                label=f"{name}, 95% interval",
            )
        low = float(np.nanmin((t["S1"] - t["S1_conf"]).to_numpy(dtype=float), initial=0.0))
        high = float(np.nanmax((t["ST"] + t["ST_conf"]).to_numpy(dtype=float), initial=1.0))
        ax.set_xlim(min(0.0, low) - 0.02, max(1.0, high) + 0.02)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.xaxis.set_major_formatter(NumberFormatter(m, scale=0.01, suffix="%"))
        ax.set_xlabel(f"share of the variance of {result.outcome}")
        _legend(fig, ax)
        _title(fig, result, "shares of the variance")
    return fig


def sensitivity_figure(result: SensitivityResult) -> Figure:
    """The method's chart."""
    draw = {"oat": tornado_figure, "morris": morris_figure, "sobol": sobol_figure}
    return draw[result.method](result)


def sensitivity_png(result: SensitivityResult, dpi: int = DPI) -> bytes:
    """The chart as PNG bytes: the same result gives the same bytes."""
    return png_bytes(sensitivity_figure(result), dpi=dpi)
