"""The report's charts: each renders in both languages to a PNG of the stated size that shows
something, the same data gives the same bytes, Vietnamese titles keep their diacritics, and
series stay apart in black and white."""

from __future__ import annotations

import dataclasses
import unicodedata
import warnings

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from chromium import assert_not_blank, decode_png
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from simopt.evidence import gather_evidence
from simopt.optimize import optimize
from simopt.plan import robust_plan
from simopt.reporting.charts import (
    DPI,
    NumberFormatter,
    attainment_figure,
    budget_figure,
    charts,
    figures,
    frontier_figure,
    png_bytes,
    schedule_figure,
    schedule_matrix,
)
from simopt.reporting.data import ReportData, from_optimize, from_robust
from simopt.reporting.i18n import TY, messages
from simopt.scenario import load_scenario

LANGS = ("vi", "en")


def _vietnamese_letters(text: str) -> set[str]:
    """The letters of ``text`` that carry a Vietnamese diacritic (a combining mark, or đ)."""
    out = set()
    for ch in text:
        marks = any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", ch))
        if ch in "đĐ" or (ch.isalpha() and marks):
            out.add(ch)
    return out


@pytest.fixture(scope="module")
def plan_data() -> ReportData:
    s = load_scenario("scenarios/long_an.yaml")
    r = robust_plan(s, reps=200)
    return from_robust(r, s, gather_evidence(s, r, seed=0, reps=200, price_levels=None))


@pytest.fixture(scope="module")
def optimize_data() -> ReportData:
    s = load_scenario("scenarios/long_an.yaml")
    return from_optimize(optimize(s, ceiling_vnd=9e10), s)


@pytest.fixture(params=["plan", "optimize"])
def data(
    request: pytest.FixtureRequest, plan_data: ReportData, optimize_data: ReportData
) -> ReportData:
    return plan_data if request.param == "plan" else optimize_data


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


@pytest.mark.parametrize("lang", LANGS)
def test_every_chart_renders_to_a_png_of_its_size_that_is_not_blank(
    data: ReportData, lang: str
) -> None:
    figs = figures(data, lang)
    # no sweep of ceilings in these runs: no frontier, every other chart present
    assert set(figs) == {"schedule", "budget", "attainment"}
    with warnings.catch_warnings():
        # a glyph missing from the font is a warning: here it fails the test
        warnings.simplefilter("error")
        pngs = charts(data, lang)
    assert set(pngs) == set(figs)
    for name, png in pngs.items():
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
        image = decode_png(png)
        width, height = figs[name].get_size_inches() * DPI
        # Agg drops a fraction of a pixel rather than rounding it
        assert abs(image.shape[0] - height) < 1 and abs(image.shape[1] - width) < 1, name
        assert_not_blank(image, f"{name} ({lang})")


def test_the_same_data_gives_the_same_bytes_whatever_the_users_style(
    plan_data: ReportData,
) -> None:
    first = charts(plan_data, "vi")
    # a notebook's own settings must neither leak into the charts nor be changed by them
    with mpl.rc_context({"font.size": 19, "lines.linewidth": 4, "axes.facecolor": "yellow"}):
        second = charts(plan_data, "vi")
        assert mpl.rcParams["font.size"] == 19
    assert first == second
    assert first != charts(plan_data, "en")


@pytest.mark.parametrize("lang", LANGS)
def test_titles_are_in_the_language_asked(data: ReportData, lang: str) -> None:
    m = messages(lang)
    expected = {
        "attainment": m("charts.attainment.title"),
        "budget": m("charts.budget.title"),
        "schedule": m("charts.schedule.title"),
    }
    for name, fig in figures(data, lang).items():
        title = fig.get_suptitle()
        assert title.startswith(expected[name]), (name, title)
        letters = set().union(*(_vietnamese_letters(t) for t in _texts(fig)))
        if lang == "vi":
            assert _vietnamese_letters(expected[name]), expected[name]
            assert _vietnamese_letters(title), title
        else:
            # scenario texts (ids, source names) are English in Long An: nothing Vietnamese
            assert not letters, (name, letters)


def test_vietnamese_titles_keep_their_diacritics(plan_data: ReportData) -> None:
    texts = _texts(attainment_figure(plan_data, "vi") or Figure())
    assert "Mức đạt chỉ tiêu theo năm" in "\n".join(texts)
    budget = "\n".join(_texts(budget_figure(plan_data, "vi") or Figure()))
    assert "Ngân sách theo năm và nguồn" in budget
    assert "tỷ đồng" in budget


def test_attainment_has_one_panel_per_target_with_its_band_only_when_simulated(
    plan_data: ReportData, optimize_data: ReportData
) -> None:
    for data, simulated in ((plan_data, True), (optimize_data, False)):
        fig = attainment_figure(data, "en")
        assert fig is not None
        panels = [ax for ax in fig.axes if ax.get_visible()]
        assert len(panels) == len(data.targets)
        titles = {ax.get_title(loc="left").split("\n")[0] for ax in panels}
        assert titles == set(data.targets["target"])
        bands = [c for ax in panels for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == (len(panels) if simulated else 0)
        # the probability of each target is written in its panel when there is one
        boxes = [t for ax in panels for t in ax.texts]
        assert len(boxes) == (len(panels) if simulated else 0)


def test_budget_series_differ_by_hatch_and_grey_and_the_ceiling_is_drawn(
    optimize_data: ReportData,
) -> None:
    fig = budget_figure(optimize_data, "vi")
    assert fig is not None
    ax = fig.axes[0]
    stacks = [c for c in ax.containers if isinstance(c, BarContainer)]
    looks = {(c.patches[0].get_hatch() or "", tuple(c.patches[0].get_facecolor())) for c in stacks}
    assert len(stacks) == len(optimize_data.sources)
    assert len(looks) == len(optimize_data.sources), looks
    # each year's stack reaches its spending (drawn in VND; the axis shows tỷ đồng)
    wide = optimize_data.budget_by_year().set_index("year")
    heights: dict[float, float] = {}
    for c in stacks:
        for bar in c.patches:
            assert isinstance(bar, Rectangle)
            heights[bar.get_x()] = max(
                heights.get(bar.get_x(), 0.0), bar.get_y() + bar.get_height()
            )
    assert max(heights.values()) == pytest.approx(float(wide["cost_vnd"].max()))
    ceiling = [p for p in ax.patches if not isinstance(p, Rectangle)]
    assert ceiling, "the yearly ceiling is drawn as steps"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert messages("vi")("charts.budget.ceiling") in labels


def test_axes_use_the_languages_number_format(plan_data: ReportData) -> None:
    vi, en = messages("vi"), messages("en")
    assert NumberFormatter(vi, scale=TY).format_ticks([0.0, 2.5e9, 5e9]) == ["0,0", "2,5", "5,0"]
    assert NumberFormatter(en, scale=TY).format_ticks([0.0, 2.5e9, 5e9]) == ["0.0", "2.5", "5.0"]
    assert NumberFormatter(vi, scale=0.01, suffix="%").format_ticks([0.0, 0.25, 0.5]) == [
        "0%",
        "25%",
        "50%",
    ]
    fig = schedule_figure(plan_data, "vi")
    assert fig is not None
    fig.canvas.draw()
    bar = fig.axes[-1]  # the colour bar, in people
    locs = [v for v in bar.get_yticks() if bar.get_ylim()[0] <= v <= bar.get_ylim()[1]]
    shown = [t.get_text() for t in bar.get_yticklabels() if t.get_text()]
    assert shown == [vi.number(v) for v in locs]
    assert any("." in s for s in shown), shown  # thousands are grouped with a dot in Vietnamese


def test_the_heat_map_annotates_each_cell_with_its_people(plan_data: ReportData) -> None:
    m = messages("vi")
    mats = schedule_matrix(plan_data)
    assert set(mats) == set(plan_data.schedule["course"])
    total = sum(float(t.to_numpy().sum()) for t in mats.values())
    assert total == pytest.approx(float(plan_data.schedule["enrolments"].sum()))
    fig = schedule_figure(plan_data, "vi")
    assert fig is not None
    images = [a for ax in fig.axes for a in ax.get_images() if isinstance(a, AxesImage)]
    assert len(images) == len(mats)
    cmap = images[0].get_cmap()
    greys = cmap(np.linspace(0, 1, 16))[:, :3]
    # a grey ramp: red, green and blue equal everywhere, so it prints as it shows
    assert np.allclose(greys[:, 0], greys[:, 1]) and np.allclose(greys[:, 1], greys[:, 2])
    for ax, table in zip(fig.axes, mats.values(), strict=False):
        written = sorted(t.get_text() for t in ax.texts)
        expected = sorted(m.people(v) for v in table.to_numpy().ravel() if round(v) >= 1)
        assert written == expected


def _frontier(with_probabilities: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "ceiling_vnd": [2e10, 4e10, 6e10, 8e10, 1e11],
            "cost_vnd": [np.nan, np.nan, 5.2e11, 4.9e11, 4.85e11],
        }
    )
    if with_probabilities:
        frame["probability_all_met"] = [np.nan, np.nan, 0.3, 0.55, 0.62]
        frame["min_probability_met"] = [np.nan, np.nan, 0.7, 0.86, 0.9]
    return frame


@pytest.mark.parametrize("lang", LANGS)
def test_the_frontier_draws_cost_infeasible_ceilings_and_probabilities(lang: str) -> None:
    frame = _frontier()
    fig = frontier_figure(frame, lang, confidence=0.9)
    assert fig is not None
    cost_ax, prob_ax = fig.axes
    crosses = [ln for ln in cost_ax.get_lines() if ln.get_marker() == "x"]
    assert len(crosses) == 1
    assert np.asarray(crosses[0].get_xdata()).size == int(frame["cost_vnd"].isna().sum())
    costs = [ln for ln in cost_ax.get_lines() if ln.get_marker() == "o"]
    assert np.asarray(costs[0].get_ydata()).tolist() == frame["cost_vnd"].dropna().tolist()
    styles = {(ln.get_marker(), ln.get_linestyle()) for ln in prob_ax.get_lines()}
    assert len(styles) == len(prob_ax.get_lines()) == 3  # two probabilities and the confidence
    image = decode_png(png_bytes(fig))
    assert_not_blank(image, f"frontier ({lang})")
    assert png_bytes(fig) == png_bytes(frontier_figure(frame, lang, confidence=0.9) or Figure())


def test_the_frontier_needs_only_ceiling_and_cost() -> None:
    fig = frontier_figure(_frontier(with_probabilities=False), "vi")
    assert fig is not None and len(fig.axes) == 1
    # the ceilings sweep names its cost min_cost_vnd, with a feasible column: read as well
    sweep = _frontier().rename(columns={"cost_vnd": "min_cost_vnd"})
    sweep["feasible"] = sweep["min_cost_vnd"].notna()
    fig = frontier_figure(sweep, "en")
    assert fig is not None and len(fig.axes) == 2
    with pytest.raises(ValueError, match="cost_vnd"):
        frontier_figure(pd.DataFrame({"ceiling_vnd": [1e10]}), "en")


def test_the_frontier_is_none_for_an_empty_table(plan_data: ReportData) -> None:
    assert frontier_figure(pd.DataFrame(), "vi") is None
    assert frontier_figure(pd.DataFrame(columns=["ceiling_vnd", "cost_vnd"]), "en") is None
    assert "frontier" not in charts(plan_data, "vi")


def test_a_run_with_nothing_scheduled_draws_only_what_it_has() -> None:
    s = load_scenario("scenarios/long_an.yaml")
    best_effort = from_optimize(optimize(s, ceiling_vnd=5e9), s)  # far too little: infeasible
    assert best_effort.status == "infeasible" and not best_effort.schedule.empty
    data = dataclasses.replace(
        best_effort,
        schedule=best_effort.schedule.iloc[0:0],
        budget=best_effort.budget.iloc[0:0],
        classes=pd.DataFrame(),
    )
    assert schedule_figure(data, "vi") is None and budget_figure(data, "vi") is None
    assert set(charts(data, "vi")) == {"attainment"}


def test_lines_differ_by_marker_or_dash_in_the_attainment_legend(plan_data: ReportData) -> None:
    fig = attainment_figure(plan_data, "vi")
    assert fig is not None
    handles = [h for h in fig.legends[0].legend_handles if isinstance(h, Line2D)]
    looks = {(h.get_marker(), h.get_linestyle()) for h in handles}
    assert len(looks) == len(handles) >= 3
