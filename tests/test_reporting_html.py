"""The HTML report: one self-contained page per run and language — nothing fetched from the
network, every scenario text escaped — that a real browser renders on screen and prints on A4,
with every chart inside it decoding to a picture."""

from __future__ import annotations

import base64
import dataclasses
import html
import re
from pathlib import Path

import pandas as pd
import pytest
from chromium import (
    A4_POINTS,
    assert_not_blank,
    decode_png,
    dump_dom,
    image_sources,
    pdf_pages,
    print_pdf,
    screenshot,
)

from simopt.evidence import gather_evidence
from simopt.optimize import optimize
from simopt.plan import robust_plan
from simopt.reporting.charts import charts
from simopt.reporting.data import ReportData, from_optimize, from_robust
from simopt.reporting.html import render_report
from simopt.reporting.i18n import messages
from simopt.scenario import load_scenario

LANGS = ("vi", "en")
KINDS = ("plan", "optimize")
WINDOW = (1240, 1754)
"""A4's proportions at 150 dpi."""
DATA_PNG = "data:image/png;base64,"


@pytest.fixture(scope="module")
def runs() -> dict[str, ReportData]:
    s = load_scenario("scenarios/long_an.yaml")
    r = robust_plan(s, reps=200)
    # two rungs of the price ladder are enough to render its table
    evidence = gather_evidence(s, r, seed=0, reps=200, price_levels=(0.5, 0.9))
    return {
        "plan": from_robust(r, s, evidence),
        "optimize": from_optimize(optimize(s, ceiling_vnd=9e10), s),
    }


@pytest.fixture(scope="module")
def images(runs: dict[str, ReportData]) -> dict[tuple[str, str], dict[str, bytes]]:
    return {(kind, lang): charts(runs[kind], lang) for kind in KINDS for lang in LANGS}


@pytest.fixture(scope="module")
def reports(
    runs: dict[str, ReportData], images: dict[tuple[str, str], dict[str, bytes]]
) -> dict[tuple[str, str], str]:
    return {
        (kind, lang): render_report(runs[kind], lang, images=images[kind, lang])
        for kind in KINDS
        for lang in LANGS
    }


def _all_reports() -> list[tuple[str, str]]:
    return [(k, lang) for k in KINDS for lang in LANGS]


@pytest.mark.parametrize(("kind", "lang"), _all_reports())
def test_the_report_fetches_nothing_from_anywhere(
    reports: dict[tuple[str, str], str], kind: str, lang: str
) -> None:
    page = reports[kind, lang]
    # no URL with a scheme or protocol-relative, in an attribute or in the style sheet
    linked = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", page, re.I)
    assert not linked, linked
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"https?://", page), re.search(r".{40}https?://.{40}", page)
    assert "@import" not in page and "<link" not in page.lower() and "<script" not in page.lower()
    sources = re.findall(r"""\ssrc\s*=\s*["']([^"']*)""", page)
    assert sources and all(src.startswith(DATA_PNG) for src in sources), sources[:3]


@pytest.mark.parametrize(("kind", "lang"), _all_reports())
def test_the_page_says_its_language_encoding_and_a4_print(
    reports: dict[tuple[str, str], str], kind: str, lang: str
) -> None:
    page = reports[kind, lang]
    assert page.startswith("<!DOCTYPE html>")
    assert f'<html lang="{lang}">' in page
    assert '<meta charset="utf-8">' in page
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", page)
    assert "break-inside: avoid" in page and "table-header-group" in page
    for section in ("question", "answer", "schedule", "budget", "risks", "assumptions"):
        assert f'<section id="{section}"' in page, section
    assert "<footer>" in page


def test_the_same_data_gives_the_same_page(
    runs: dict[str, ReportData], reports: dict[tuple[str, str], str]
) -> None:
    # drawn afresh here, charts included
    assert render_report(runs["plan"], "vi") == reports["plan", "vi"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_answer_of_a_robust_plan(
    runs: dict[str, ReportData], reports: dict[tuple[str, str], str], lang: str
) -> None:
    data, page, m = runs["plan"], reports["plan", lang], messages(lang)
    assert m.ty(data.total_cost_vnd) in page
    assert m.vnd(data.total_cost_vnd) in page
    assert m.ty(data.expected_cost_vnd) in page
    overall = data.joint[data.joint["scope"] == "all"].iloc[0]
    interval = m.interval(
        overall["probability_all_met_low95"], overall["probability_all_met_high95"]
    )
    assert f"{m.share(overall['probability_all_met'])} {interval}" in page
    assert m("report.answer.all_met") in page
    # the question as asked
    assert m.share(data.question["confidence"]) in page
    assert str(data.question["seed"]) in page
    assert m("report.answer.expectation_only") not in page


@pytest.mark.parametrize("lang", LANGS)
def test_an_optimize_run_says_its_figures_are_expectations_only(
    runs: dict[str, ReportData], reports: dict[tuple[str, str], str], lang: str
) -> None:
    data, page, m = runs["optimize"], reports["optimize", lang], messages(lang)
    assert m("report.answer.expectation_only") in page
    assert m("report.col.probability") not in page  # no probability column
    assert m("report.answer.all_met") not in page
    assert m.ty(data.total_cost_vnd) in page
    assert m.ty(9e10) in page  # the ceiling asked


@pytest.mark.parametrize("kind", KINDS)
def test_tables_add_up_to_the_runs_totals(
    runs: dict[str, ReportData], reports: dict[tuple[str, str], str], kind: str
) -> None:
    data, page, m = runs[kind], reports[kind, "vi"], messages("vi")
    people = float(data.schedule["enrolments"].sum())
    assert f'<td class="num">{m.people(people)}</td>' in page
    wide = data.budget_by_year()
    total = m.number(float(wide["cost_vnd"].sum()) / 1e9, 2)
    assert f'<td class="num">{total}</td>' in page
    assert total == m.number(float(data.total_cost_vnd or 0) / 1e9, 2)
    for phase in data.phases:
        assert f"<td>{phase.label}</td>" in page


def test_the_risks_show_drivers_and_the_price_of_confidence(
    runs: dict[str, ReportData], reports: dict[tuple[str, str], str]
) -> None:
    data, page, m = runs["plan"], reports["plan", "en"], messages("en")
    assert not data.drivers.empty and not data.price.empty
    assert m("report.drivers.heading") in page and m("report.price.heading") in page
    top = data.drivers.sort_values("swing_people", ascending=False).iloc[0]
    # ids and paths may wrap after their dots and underscores, nothing else changes
    assert str(top["path"]) in page.replace("<wbr>", "")
    for confidence in data.price["confidence"]:
        assert f'<td class="num">{m.share(confidence)}</td>' in page


def test_a_target_below_the_confidence_is_marked_in_words(
    runs: dict[str, ReportData], images: dict[tuple[str, str], dict[str, bytes]]
) -> None:
    data, pngs = runs["plan"], images["plan", "vi"]
    targets = data.targets.copy()
    targets.loc[0, "probability_met"] = 0.5
    targets.loc[0, ["probability_low95", "probability_high95"]] = [0.43, 0.57]
    page = render_report(dataclasses.replace(data, targets=targets), "vi", images=pngs)
    m = messages("vi")
    below = m("report.risks.below", confidence=m.share(data.question["confidence"]))
    # a mark and words, not a colour: it survives black-and-white printing
    assert page.count(f'<span class="flag">▼ {below}</span>') == 1
    assert page.count('<tr class="below">') == 1
    # and nothing else is: the run's own targets are marked exactly where they fall short
    short = int((data.targets["probability_met"] < data.question["confidence"]).sum())
    assert render_report(data, "vi", images=pngs).count('<tr class="below">') == short


def test_assumptions_are_marked_apart_from_sourced_facts(
    runs: dict[str, ReportData], reports: dict[tuple[str, str], str]
) -> None:
    data, page, m = runs["plan"], reports["plan", "vi"], messages("vi")
    sources = data.assumptions["source"].fillna("").astype(str).str.strip()
    assumed = int((sources.eq("") | sources.str.lower().str.startswith("assumption")).sum())
    assert 0 < assumed < len(data.assumptions)
    assert page.count(f'<span class="badge">{m("report.assumptions.assumed")}</span>') == assumed
    sourced = f'<span class="badge sourced">{m("report.assumptions.sourced")}</span>'
    assert page.count(sourced) == len(data.assumptions) - assumed
    # years stay years in Vietnamese (2025, not 2.025)
    assert '<td class="num">2025</td>' in page and "2.025" not in page


def test_every_scenario_text_is_escaped(
    runs: dict[str, ReportData], images: dict[tuple[str, str], dict[str, bytes]]
) -> None:
    data = runs["plan"]
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    targets = data.targets.copy()
    targets.loc[0, "label"] = hostile
    assumptions = data.assumptions.copy()
    assumptions.loc[0, "source"] = hostile
    sources = (dataclasses.replace(data.sources[0], name=hostile), *data.sources[1:])
    page = render_report(
        dataclasses.replace(
            data,
            title=hostile,
            targets=targets,
            assumptions=assumptions,
            sources=sources,
            message=hostile,
        ),
        "en",
        images=images["plan", "en"],
    )
    assert "<script" not in page and "<img src=x" not in page
    # the title, a label, a source's name, a source and the message: each shown, escaped
    assert page.count(html.escape(hostile, quote=True)) >= 5
    assert all(src.startswith(DATA_PNG) for src in image_sources(page))


def test_an_infeasible_run_still_renders_its_answer() -> None:
    s = load_scenario("scenarios/long_an.yaml")
    best_effort = from_optimize(optimize(s, ceiling_vnd=5e9), s)
    assert best_effort.best_effort and not best_effort.schedule.empty
    m = messages("vi")
    page = render_report(best_effort, "vi")
    assert m("report.status.optimize.infeasible") in page
    assert m("report.schedule.empty") not in page  # the best-effort schedule is shown
    nothing = dataclasses.replace(
        best_effort,
        schedule=best_effort.schedule.iloc[0:0],
        budget=best_effort.budget.iloc[0:0],
        classes=pd.DataFrame(),
    )
    page = render_report(nothing, "vi")
    assert m("report.schedule.empty") in page
    assert image_sources(page)  # the best attainment reachable is still drawn


def test_an_unknown_language_is_refused(runs: dict[str, ReportData]) -> None:
    with pytest.raises(ValueError, match="choose one of"):
        render_report(runs["optimize"], "fr")


# ------------------------------------------------------------------------ in a real browser
def _write(page: str, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.html"
    path.write_text(page, encoding="utf-8")
    return path


@pytest.mark.parametrize(("kind", "lang"), _all_reports())
def test_a_browser_renders_the_report_and_every_chart_in_it(
    runs: dict[str, ReportData],
    reports: dict[tuple[str, str], str],
    tmp_path: Path,
    kind: str,
    lang: str,
) -> None:
    page = _write(reports[kind, lang], tmp_path, f"report-{kind}-{lang}")
    shot = tmp_path / "screenshot.png"
    screenshot(page, shot, tmp_path, WINDOW)
    assert shot.exists(), "chromium wrote no screenshot"
    image = decode_png(shot.read_bytes())
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])
    assert_not_blank(image, f"screenshot of the {kind} report ({lang})")

    # the charts as the browser parsed them: every <img> decodes to a picture
    dom = dump_dom(page, tmp_path)
    assert f'lang="{lang}"' in dom
    sources = image_sources(dom)
    assert len(sources) == len(charts(runs[kind], lang))
    for i, src in enumerate(sources):
        assert src.startswith(DATA_PNG), src[:40]
        picture = decode_png(base64.b64decode(src[len(DATA_PNG) :], validate=True))
        assert_not_blank(picture, f"chart {i} of the {kind} report ({lang})")


@pytest.mark.parametrize(("kind", "lang"), [("plan", "vi"), ("optimize", "en")])
def test_the_report_prints_on_a4(
    reports: dict[tuple[str, str], str], tmp_path: Path, kind: str, lang: str
) -> None:
    page = _write(reports[kind, lang], tmp_path, f"report-{kind}-{lang}")
    pdf = tmp_path / "report.pdf"
    print_pdf(page, pdf, tmp_path)
    assert pdf.exists(), "chromium wrote no PDF"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = pdf_pages(data)
    # a report of six sections with tables and charts: more than one page, every page A4
    assert len(pages) > 1
    for width, height in pages:
        assert width == pytest.approx(A4_POINTS[0], abs=2) and height == pytest.approx(
            A4_POINTS[1], abs=2
        ), (width, height)


def test_the_frontier_chart_joins_the_budget_when_the_run_swept_ceilings(
    runs: dict[str, ReportData],
) -> None:
    frontier = pd.DataFrame(
        {"ceiling_vnd": [6e10, 9e10, 1.2e11], "cost_vnd": [float("nan"), 4.9e11, 4.84e11]}
    )
    data = dataclasses.replace(runs["optimize"], frontier=frontier)
    page = render_report(data, "en")
    assert len(image_sources(page)) == len(image_sources(render_report(runs["optimize"], "en"))) + 1
    assert messages("en")("report.budget.frontier") in page


def test_years_over_the_ceiling_are_flagged_in_words(
    runs: dict[str, ReportData], images: dict[tuple[str, str], dict[str, bytes]]
) -> None:
    data = runs["optimize"]
    wide = data.budget_by_year()
    cap = float(wide["public_cost_vnd"].median())  # half the years spend more
    ceilings = pd.DataFrame({"year": wide["year"], "ceiling_vnd": cap})
    page = render_report(
        dataclasses.replace(data, ceilings=ceilings), "vi", images=images["optimize", "vi"]
    )
    over = int((wide["public_cost_vnd"] > cap * (1 + 1e-6)).sum())
    assert over > 0
    assert page.count('<span class="flag">▼ ') == over
    m = messages("vi")
    worst = float(wide["public_cost_vnd"].max()) - cap
    assert m("report.budget.over", amount=m.ty(worst)) in page


@pytest.mark.parametrize("lang", LANGS)
def test_every_status_word_of_the_library_has_its_sentence(lang: str) -> None:
    # keys built at run time from the library's words: checked here, not by the key scanner
    m = messages(lang)
    words = {
        "report.status.plan.": ("met", "met_joint", "not_met", "infeasible", "not_solved"),
        "report.status.optimize.": ("optimal", "infeasible", "not_solved", "unbounded"),
        "report.uncertainty.": ("ranges", "none"),
        "report.price.kind.": ("per_target", "joint"),
        "report.price.status.": ("met", "not_met", "infeasible", "not_solved"),
    }
    missing = [p + w for p, ws in words.items() for w in ws if not m.has(p + w)]
    assert not missing


def test_assumptions_inside_lists_have_their_values(runs: dict[str, ReportData]) -> None:
    # milestones.0, promotions.1.rate_per_year: items of a list, found by their index
    s = load_scenario("scenarios/long_an.yaml")
    values = runs["plan"].assumptions.set_index("path")["value"]
    for i, year in enumerate(s.horizon.milestones):
        assert values[f"horizon.milestones.{i}"] == year
    listed = [p for p in values.index if re.search(r"\.\d+\.", p) and p.startswith("promotions.")]
    assert listed and values[listed].notna().all(), values[listed]


def test_classes_are_listed_when_the_run_has_them(
    runs: dict[str, ReportData], images: dict[tuple[str, str], dict[str, bytes]]
) -> None:
    classes = pd.DataFrame(
        {
            "year": [2022, 2023],
            "course": ["level4", "level4"],
            "trainees": [1240.0, 2480.0],
            "class_size": [40, 40],
            "classes": [31, 62],
        }
    )
    data = dataclasses.replace(runs["optimize"], classes=classes)
    page = render_report(data, "vi", images=images["optimize", "vi"])
    m = messages("vi")
    assert m("report.schedule.classes") in page
    for r in classes.to_dict("records"):
        assert f'<td class="num">{m.people(r["trainees"])}</td>' in page
        assert f'<td class="num">{m.people(r["classes"])}</td>' in page
    no_classes = dataclasses.replace(runs["optimize"], classes=pd.DataFrame())
    assert m("report.schedule.classes") not in render_report(
        no_classes, "vi", images=images["optimize", "vi"]
    )
