"""A re-plan's past in the hand-on files: report.html gains a planned-against-actual section and
workbook.xlsx a sheet whose differences are live formulas (recalculated by LibreOffice); a run
that is not a re-plan writes exactly what it wrote before.

The record is Long An's own expected plan for 2021–2025 with a few changes — 2023 enrolments
short, exam passes recorded for 2023, spending for 2024 — so that some figures differ, some
agree and some are not recorded at all.
"""

from __future__ import annotations

import copy
import dataclasses
import html
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from chromium import A4_POINTS, dump_dom, pdf_pages, print_pdf
from libreoffice import LibreOffice

from simopt.optimize import optimize
from simopt.replan import Replan, replan
from simopt.reporting.data import ReportData, from_optimize, with_replan
from simopt.reporting.html import render_report
from simopt.reporting.i18n import LANGS, TY, Messages, messages
from simopt.reporting.outputs import workbook_bytes
from simopt.reporting.workbook import MONEY, replan_sheet_name, sheet_names, write_workbook
from simopt.scenario import build_scenario
from simopt.yamlio import parse_yaml_text

ROOT = Path(__file__).resolve().parent.parent
LONG_AN = ROOT / "scenarios" / "long_an.yaml"
FROM_YEAR = 2026
SHORT_2023 = 500
"""People the record has fewer than the plan in 2023 (taken off its largest intake)."""
PASSED_2023 = 3000
SPENT_2024 = {"state_budget": 50e9, "unit_funds": 40e9, "trainee_contribution": 10e9}
MEASURES = ("enrolments", "exam_passes", "spending_vnd")
NO_IMAGES: dict[str, bytes] = {}
"""The re-plan section has no chart: rendering without charts keeps the tests quick."""


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    """Long An with a record to 2025: its own plan's schedule, 2023 short, some results."""
    data, _ = parse_yaml_text(LONG_AN.read_text(encoding="utf-8"), file=str(LONG_AN))
    assert isinstance(data, dict)
    plan = optimize(build_scenario(copy.deepcopy(data)))
    years: dict[int, Any] = {}
    for year in range(2021, FROM_YEAR):
        enrolments: dict[str, dict[str, int]] = {}
        rows = plan.schedule[plan.schedule["year"] == year]
        for pool, course, n in zip(rows["pool"], rows["course"], rows["enrolments"], strict=True):
            enrolments.setdefault(str(pool), {})[str(course)] = int(n)
        years[year] = {"enrolments": {"value": enrolments, "source": "training centre register"}}
    intakes = years[2023]["enrolments"]["value"]
    pool, course = max(
        ((p, c) for p, by_course in intakes.items() for c in by_course),
        key=lambda pc: intakes[pc[0]][pc[1]],
    )
    assert intakes[pool][course] > SHORT_2023
    intakes[pool][course] -= SHORT_2023
    years[2023]["exams"] = {
        "value": {course: {"sat": 2 * PASSED_2023, "passed": PASSED_2023}},
        "source": "exam centre <results> & co",  # a text to escape
    }
    years[2024]["spending_vnd"] = {"value": dict(SPENT_2024), "source": "treasury ledger"}
    data["actuals"] = {"note": "test record", "illustrative": True, "years": years}
    return data


@pytest.fixture(scope="module")
def rp(record: dict[str, Any]) -> Replan:
    data = copy.deepcopy(record)
    return replan(data, build_scenario(copy.deepcopy(data)), FROM_YEAR, file="record.yaml")


@pytest.fixture(scope="module")
def base(rp: Replan) -> ReportData:
    """The run on the re-plan's scenario as every other run reports it."""
    return from_optimize(optimize(rp.scenario), rp.scenario)


@pytest.fixture(scope="module")
def data(base: ReportData, rp: Replan) -> ReportData:
    return with_replan(base, rp, illustrative=True)


@pytest.fixture(scope="module")
def pages(data: ReportData) -> dict[str, str]:
    return {lang: render_report(data, lang, images=NO_IMAGES) for lang in LANGS}


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory, data: ReportData) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("replan-workbooks")
    out = {}
    for lang in LANGS:
        out[lang] = folder / f"workbook_{lang}.xlsx"
        write_workbook(data, out[lang], lang)
    return out


@pytest.fixture(scope="module")
def libreoffice(tmp_path_factory: pytest.TempPathFactory) -> LibreOffice:
    return LibreOffice(tmp_path_factory.mktemp("libreoffice-profile"))


def _variance(rp: Replan, year: int, measure: str) -> dict[str, Any]:
    v = rp.variance
    rows = v[(v["year"] == year) & (v["measure"] == measure)]
    assert len(rows) == 1, (year, measure)
    out: dict[str, Any] = rows.iloc[0].to_dict()
    return out


def test_the_record_gives_figures_that_differ_agree_and_are_missing(rp: Replan) -> None:
    """The fixture's premise: the tables below have all three kinds of cell to show."""
    assert _variance(rp, 2023, "enrolments")["difference"] == pytest.approx(-SHORT_2023)
    assert _variance(rp, 2024, "enrolments")["difference"] == pytest.approx(0.0, abs=1e-9)
    assert _variance(rp, 2023, "exam_passes")["actual"] == PASSED_2023
    assert _variance(rp, 2024, "spending_vnd")["actual"] == pytest.approx(sum(SPENT_2024.values()))
    assert math.isnan(_variance(rp, 2022, "spending_vnd")["actual"])
    assert not rp.past_targets.empty and rp.past_targets["met"].any()
    assert not rp.past_targets["met"].all(), "no past target missed: MISSED is not tested"


def test_with_replan_sets_the_replan_fields_and_nothing_else(
    base: ReportData, data: ReportData, rp: Replan
) -> None:
    assert base.replan_from_year is None and base.planned_vs_actual.empty
    assert base.past_targets.empty and base.replan_notes == ()
    assert base.people_in_training is None and not base.record_illustrative
    assert data.replan_from_year == FROM_YEAR
    assert data.planned_vs_actual.equals(rp.variance.reset_index(drop=True))
    assert data.past_targets.equals(rp.past_targets.reset_index(drop=True))
    assert data.replan_notes == rp.notes and data.record_illustrative
    assert data.people_in_training == pytest.approx(float(rp.carried["people"].sum()))
    assert data.people_in_training is not None and data.people_in_training > 100
    replan_fields = {
        "replan_from_year",
        "planned_vs_actual",
        "past_targets",
        "replan_notes",
        "record_illustrative",
        "people_in_training",
    }
    for f in dataclasses.fields(ReportData):
        if f.name not in replan_fields:
            assert getattr(data, f.name) is getattr(base, f.name), f.name


# ----------------------------------------------------------------------------- report.html
def _section(page: str) -> str:
    found = re.search(r'<section id="replan">.*?</section>', page, re.S)
    assert found, "no re-plan section"
    return found.group(0)


def _cells(row_html: str) -> list[str]:
    """The cells of a table row as a reader sees them: tags dropped, entities decoded."""
    return [
        html.unescape(re.sub(r"<[^>]+>", "", c))
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)
    ]


def _rows(table_html: str) -> list[list[str]]:
    body = table_html.split("<tbody>", 1)[1]
    return [_cells(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def _tables(section: str) -> list[str]:
    return re.findall(r"<table.*?</table>", section, re.S)


def _signed(m: Messages, x: float, digits: int = 0) -> str:
    if round(abs(x), digits) == 0:
        return m.number(0.0, digits)
    return ("+" if x > 0 else "−") + m.number(abs(x), digits)


def _expected_cells(m: Messages, row: dict[str, Any]) -> list[str]:
    money = row["measure"] == "spending_vnd"
    scale = TY if money else 1.0
    digits = 2 if money else 0

    def fmt(x: float) -> str:
        return m.number(x / scale, digits)

    if math.isnan(row["actual"]):
        return [fmt(row["planned"]), m("report.replan.not_recorded"), "—"]
    return [fmt(row["planned"]), fmt(row["actual"]), _signed(m, row["difference"] / scale, digits)]


@pytest.mark.parametrize("lang", LANGS)
def test_the_section_sits_after_the_answer_with_its_banner(
    pages: dict[str, str], lang: str
) -> None:
    page, m = pages[lang], messages(lang)
    answer, section, schedule = (
        page.index('<section id="answer"'),
        page.index('<section id="replan"'),
        page.index('<section id="schedule"'),
    )
    assert answer < section < schedule
    text = _section(page)
    assert html.escape(m("report.replan.heading", years="2021–2025"), quote=True) in text
    banner = m("report.replan.illustrative")
    assert f'<p class="status bad">{html.escape(banner, quote=True)}</p>' in text
    assert ("ILLUSTRATIVE RECORD" if lang == "en" else "SỐ LIỆU MINH HỌA") in banner


@pytest.mark.parametrize("lang", LANGS)
def test_planned_against_actual_year_by_year(pages: dict[str, str], rp: Replan, lang: str) -> None:
    m = messages(lang)
    variance = _tables(_section(pages[lang]))[0]
    for label in ("enrolments", "passes", "spending"):
        assert html.escape(m(f"report.replan.col.{label}"), quote=True) in variance
    rows = _rows(variance)
    assert [r[0] for r in rows] == [str(y) for y in rp.past_years]
    for cells, year in zip(rows, rp.past_years, strict=True):
        expected = [str(year)]
        for measure in MEASURES:
            expected += _expected_cells(m, _variance(rp, year, measure))
        assert cells == expected, year
    # the shortfall of 2023 and the money of 2024 as a reader reads them
    by_year = {int(r[0]): r for r in rows}
    assert by_year[2023][3] == "−" + m.number(SHORT_2023)
    assert by_year[2024][8] == m.number(sum(SPENT_2024.values()) / TY, 2)
    assert by_year[2022][8] == m("report.replan.not_recorded")
    # the record's sources, escaped
    assert "exam centre &lt;results&gt; &amp; co" in _section(pages[lang])


@pytest.mark.parametrize("lang", LANGS)
def test_past_targets_met_or_missed_in_symbol_and_words(
    pages: dict[str, str], rp: Replan, lang: str
) -> None:
    m = messages(lang)
    targets = _tables(_section(pages[lang]))[1]
    rows = _rows(targets)
    body = targets.split("<tbody>", 1)[1]
    row_tags = re.findall(r"<tr[^>]*>", body)
    assert len(rows) == len(rp.past_targets)
    for cells, tag, t in zip(rows, row_tags, rp.past_targets.to_dict("records"), strict=True):
        assert cells[0] == t["target"] and cells[1] == str(t["year"])
        assert cells[4] == m.share(t["planned_share"], 1)
        assert cells[5] == m.share(t["actual_share"], 1)
        assert cells[6] == _signed(m, t["gap_points"], 1)
        if t["met"]:
            assert cells[7] == "✓ " + m("report.replan.met") and tag == "<tr>"
        else:
            assert cells[7] == "▼ " + m("report.replan.missed") and 'class="below"' in tag
        assert cells[8] == m("report.replan.basis.projected")


@pytest.mark.parametrize("lang", LANGS)
def test_the_start_and_the_notes(pages: dict[str, str], data: ReportData, lang: str) -> None:
    m = messages(lang)
    text = _section(pages[lang])
    start = m("report.replan.start", year=FROM_YEAR, people=m.people(data.people_in_training))
    assert html.escape(start, quote=True) in text
    assert data.replan_notes
    for note in data.replan_notes:
        assert f"<li>{html.escape(note, quote=True)}</li>" in text


def test_a_real_record_has_no_banner(base: ReportData, rp: Replan) -> None:
    page = render_report(with_replan(base, rp, illustrative=False), "vi", images=NO_IMAGES)
    assert '<section id="replan"' in page
    assert messages("vi")("report.replan.illustrative") not in page


def test_a_report_without_a_replan_is_unchanged(base: ReportData, pages: dict[str, str]) -> None:
    for lang in LANGS:
        plain = render_report(base, lang, images=NO_IMAGES)
        assert 'id="replan"' not in plain
        assert messages(lang)("report.replan.not_recorded") not in plain
        # the re-plan's page is the same page with the section added, nothing else changed
        assert pages[lang].replace(_section(pages[lang]) + "\n", "", 1) == plain


def test_the_section_needs_nothing_from_anywhere(pages: dict[str, str]) -> None:
    for page in pages.values():
        assert not re.search(r"https?://|<script|<link|@import", page, re.I)


def test_a_browser_shows_the_section_and_prints_it_on_a4(
    pages: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    path.write_text(pages["vi"], encoding="utf-8")
    dom = dump_dom(path, tmp_path)
    assert '<section id="replan">' in dom and "SỐ LIỆU MINH HỌA" in dom
    pdf = tmp_path / "report.pdf"
    print_pdf(path, pdf, tmp_path)
    sizes = pdf_pages(pdf.read_bytes())
    assert len(sizes) > 1
    for width, height in sizes:
        assert width == pytest.approx(A4_POINTS[0], abs=2)
        assert height == pytest.approx(A4_POINTS[1], abs=2)


# ----------------------------------------------------------------------------- workbook.xlsx
def _sheet(book: Path, lang: str, *, values: bool = False) -> Any:
    wb = openpyxl.load_workbook(book, data_only=values)
    return wb[replan_sheet_name(messages(lang))]


def _data_rows(ws: Any) -> dict[tuple[int, str], int]:
    """(year, measure label) → row of the planned-against-actual table."""
    out = {}
    for row in range(2, ws.max_row + 1):
        year, label = ws.cell(row, 1).value, ws.cell(row, 2).value
        if isinstance(year, int) and isinstance(label, str) and ws.cell(row, 5).value is not None:
            out[year, label] = row
    return out


def _measure_label(m: Messages, measure: str) -> str:
    return m(f"workbook.replan.measure.{measure}")


@pytest.mark.parametrize("lang", LANGS)
def test_the_sheet_follows_the_summary_with_its_table(
    books: dict[str, Path], rp: Replan, lang: str
) -> None:
    m = messages(lang)
    wb = openpyxl.load_workbook(books[lang])
    name = replan_sheet_name(m)
    assert wb.sheetnames == [sheet_names(m)["summary"], name, *list(sheet_names(m).values())[1:]]
    ws = wb[name]
    assert [c.value for c in ws[1]][:7] == [
        m("workbook.replan.year"),
        m("workbook.replan.measure"),
        m("workbook.replan.planned"),
        m("workbook.replan.actual"),
        m("workbook.replan.difference"),
        m("workbook.replan.basis"),
        m("workbook.replan.source"),
    ]
    assert ws.cell(2, 1).value == m("workbook.replan.illustrative")
    rows = _data_rows(ws)
    assert len(rows) == len(rp.variance)
    for r in rp.variance.to_dict("records"):
        row = rows[int(r["year"]), _measure_label(m, str(r["measure"]))]
        assert ws.cell(row, 3).value == pytest.approx(r["planned"])
        actual = ws.cell(row, 4).value
        if math.isnan(r["actual"]):
            assert actual is None
        else:
            assert actual == pytest.approx(r["actual"])
        assert ws.cell(row, 5).value == f'=IF(D{row}="","",D{row}-C{row})'
        if r["measure"] == "spending_vnd":
            assert ws.cell(row, 3).number_format == MONEY
            assert ws.cell(row, 5).number_format == MONEY
    # the past targets below, with their gap as a formula
    missed = m("workbook.replan.met_no")
    verdicts = [c.value for c in ws["H"] if c.value in (missed, m("workbook.replan.met_yes"))]
    assert verdicts == [
        m("workbook.replan.met_yes") if met else missed for met in rp.past_targets["met"]
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_the_sheet_prints_like_the_others(books: dict[str, Path], lang: str) -> None:
    ws = _sheet(books[lang], lang)
    assert ws.freeze_panes == "C2"
    assert ws.print_title_rows in ("1:1", "$1:$1")
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert all(c.font.b for c in ws[1] if c.value is not None)
    widths = {k: d.width for k, d in ws.column_dimensions.items()}
    checked = 0
    for line in ws.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, float) and cell.number_format == MONEY:
                assert widths[cell.column_letter] >= len(f"{cell.value:,.0f}"), cell.coordinate
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("lang", LANGS)
def test_the_summary_names_the_replan_year(
    books: dict[str, Path], data: ReportData, lang: str
) -> None:
    m = messages(lang)
    ws = openpyxl.load_workbook(books[lang])[sheet_names(m)["summary"]]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    row = rows[m("workbook.summary.replan_from")]
    assert ws.cell(row, 2).value == FROM_YEAR
    assert replan_sheet_name(m) in str(ws.cell(row, 4).value)
    record = rows[m("workbook.summary.record")]
    assert ws.cell(record, 2).value == m("workbook.summary.record_illustrative")
    training = rows[m("workbook.replan.people_in_training", year=FROM_YEAR)]
    assert ws.cell(training, 2).value == pytest.approx(data.people_in_training)


def test_the_differences_recalculate_in_libreoffice(
    books: dict[str, Path], rp: Replan, libreoffice: LibreOffice, tmp_path: Path
) -> None:
    m = messages("vi")
    out = libreoffice.recalculate(books["vi"], tmp_path / "recalculated")
    ws = _sheet(out, "vi", values=True)
    rows = _data_rows(_sheet(books["vi"], "vi"))
    for r in rp.variance.to_dict("records"):
        row = rows[int(r["year"]), _measure_label(m, str(r["measure"]))]
        got = ws.cell(row, 5).value
        if math.isnan(r["actual"]):
            assert got in (None, ""), (row, got)  # blank while not recorded
        else:
            assert isinstance(got, int | float), (row, got)
            assert got == pytest.approx(r["actual"] - r["planned"], abs=0.01)
    # the gaps of the past targets, in points
    gaps = [
        ws.cell(c.row, 7).value
        for c in ws["A"]
        if c.value in set(rp.past_targets["target"]) and c.row > max(rows.values())
    ]
    assert gaps == pytest.approx(list(rp.past_targets["gap_points"]), abs=1e-6)


def test_an_actual_filled_in_gets_its_difference(
    books: dict[str, Path], libreoffice: LibreOffice, rp: Replan, tmp_path: Path
) -> None:
    """The formula is live: an officer who types a missing figure sees its difference."""
    m = messages("vi")
    wb = openpyxl.load_workbook(books["vi"])
    ws = wb[replan_sheet_name(m)]
    row = _data_rows(ws)[2022, _measure_label(m, "spending_vnd")]
    assert ws.cell(row, 4).value is None
    ws.cell(row, 4).value = 30e9
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    values = _sheet(libreoffice.recalculate(edited, tmp_path / "out"), "vi", values=True)
    planned = _variance(rp, 2022, "spending_vnd")["planned"]
    assert values.cell(row, 5).value == pytest.approx(30e9 - planned, abs=0.01)


def test_the_same_report_gives_the_same_workbook(data: ReportData) -> None:
    for lang in LANGS:
        assert workbook_bytes(data, lang) == workbook_bytes(data, lang)


def test_a_workbook_without_a_replan_has_five_sheets_as_before(
    base: ReportData, tmp_path: Path
) -> None:
    for lang in LANGS:
        m = messages(lang)
        path = tmp_path / f"{lang}.xlsx"
        write_workbook(base, path, lang)
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == list(sheet_names(m).values())
        summary = [c.value for c in wb[sheet_names(m)["summary"]]["A"]]
        assert m("workbook.summary.replan") not in summary
        assert m("workbook.summary.replan_from") not in summary
    with zipfile.ZipFile(tmp_path / "vi.xlsx") as z:
        assert all("sheet6" not in n for n in z.namelist())
