"""The Excel workbook: five sheets in Vietnamese or English, money a finance officer can edit,
and every total a live formula — recalculated by LibreOffice and compared with sums computed in
Python from the report's own tables, to the đồng."""

from __future__ import annotations

import dataclasses
import math
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libreoffice as libreoffice_helper
import openpyxl
import pandas as pd
import pytest
from libreoffice import LibreOffice
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.cell import coordinate_from_string

from simopt.evidence import gather_evidence
from simopt.optimize import optimize
from simopt.optimize.plan import Status
from simopt.plan import robust_plan
from simopt.reporting.data import SOURCE_PREFIX, ReportData, from_optimize, from_robust
from simopt.reporting.i18n import LANGS, TY, Messages, messages
from simopt.reporting.workbook import (
    DISTRIBUTION_KEYS,
    HEADROOM,
    MAX_WIDTH,
    MONEY,
    STATUS_KEYS,
    sheet_names,
    write_workbook,
)
from simopt.scenario import Scenario, load_scenario
from simopt.uncertain.spec import DISTRIBUTIONS

REPS = 200
"""Enough replications for a real robust plan, few enough for a test (about a second)."""
VND = 1.0
"""Totals are compared to the đồng."""
EDIT = 0.01
"""An edit must move a total by exactly its amount: LibreOffice stores 15 significant digits,
a hundredth of a đồng on hundreds of billions."""

Book = Any  # an openpyxl workbook


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory: pytest.TempPathFactory) -> LibreOffice:
    return LibreOffice(tmp_path_factory.mktemp("libreoffice-profile"))


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario("scenarios/long_an.yaml")


@pytest.fixture(scope="module")
def plan_report(scenario: Scenario) -> ReportData:
    result = robust_plan(scenario, reps=REPS, seed=0)
    evidence = gather_evidence(scenario, result, seed=0, reps=REPS, price_levels=None)
    return from_robust(result, scenario, evidence)


@pytest.fixture(scope="module")
def optimize_report(scenario: Scenario) -> ReportData:
    return from_optimize(optimize(scenario), scenario)


def _peak_public_vnd(scenario: Scenario) -> float:
    costs = optimize(scenario).costs
    return float(costs[costs["public"].astype(bool)].groupby("year")["cost_vnd"].sum().max())


@pytest.fixture(scope="module")
def ceiling_report(scenario: Scenario) -> ReportData:
    """Under a ceiling half as high again as the unconstrained plan's dearest year: every year
    has a ceiling and a headroom."""
    data = from_optimize(optimize(scenario, ceiling_vnd=1.5 * _peak_public_vnd(scenario)), scenario)
    assert data.status == "optimal" and not data.ceilings.empty
    return data


@pytest.fixture(scope="module")
def infeasible_report(scenario: Scenario) -> ReportData:
    """A tenth of the dearest year's money a year: no schedule meets the 2025 targets."""
    best = from_optimize(optimize(scenario, ceiling_vnd=0.1 * _peak_public_vnd(scenario)), scenario)
    assert best.status == "infeasible" and best.best_effort and not best.schedule.empty
    # without its best-effort schedule: what a run the solver could not even approach writes
    return dataclasses.replace(
        best,
        schedule=best.schedule.iloc[0:0],
        budget=best.budget.iloc[0:0],
        classes=pd.DataFrame(),
        total_cost_vnd=None,
        public_cost_vnd=None,
        best_effort=False,
    )


@pytest.fixture(scope="module")
def plan_books(
    tmp_path_factory: pytest.TempPathFactory, plan_report: ReportData
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("plan-workbooks")
    out = {}
    for lang in LANGS:
        out[lang] = folder / f"workbook_{lang}.xlsx"
        write_workbook(plan_report, out[lang], lang)
    return out


@pytest.fixture(scope="module")
def plan_recalculated(
    libreoffice: LibreOffice, plan_books: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return libreoffice.recalculate(plan_books["vi"], tmp_path_factory.mktemp("recalculated"))


# ----------------------------------------------------------------------------- reading a sheet
def load(path: Path, *, values: bool = False) -> Book:
    return openpyxl.load_workbook(path, data_only=values)


def headers(ws: Any, row: int = 1) -> dict[str, int]:
    return {str(c.value): c.column for c in ws[row] if c.value is not None}


def rows_of(ws: Any, text: str, col: int = 1) -> list[int]:
    return [c.row for c in ws[get_column_letter(col)] if c.value == text]


def row_of(ws: Any, text: str, col: int = 1) -> int:
    rows = rows_of(ws, text, col)
    assert len(rows) == 1, f"{text!r} in column {col} of {ws.title}: rows {rows}"
    return rows[0]


def number(ws: Any, row: int, col: int) -> float:
    value = ws.cell(row=row, column=col).value
    where = f"{ws.title}!{get_column_letter(col)}{row}"
    assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}: {value!r}"
    return float(value)


def formula(ws: Any, row: int, col: int) -> str:
    value = ws.cell(row=row, column=col).value
    assert isinstance(value, str) and value.startswith("="), f"{ws.title} R{row}C{col}: {value!r}"
    return value


def texts(wb: Book) -> list[str]:
    return [
        c.value
        for ws in wb.worksheets
        for line in ws.iter_rows()
        for c in line
        if isinstance(c.value, str) and not c.value.startswith("=")
    ]


def year_rows(ws: Any) -> dict[int, int]:
    """Budget: spending year → its row (the year rows are the ones whose first cell is a year)."""
    return {
        int(c.value): c.row
        for c in ws["A"][1:]
        if isinstance(c.value, int | float) and not isinstance(c.value, bool)
    }


def phase_label(m: Messages, label: str) -> str:
    return m("workbook.phase", phase=label)


# ----------------------------------------------------------------------------- the checks
def check_every_formula_computed(original: Book, recalculated: Book) -> int:
    """Every formula has a number as its value: no #NAME?, #REF! or empty cache."""
    count = 0
    for ws in original.worksheets:
        for line in ws.iter_rows():
            for cell in line:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    got = recalculated[ws.title][cell.coordinate].value
                    where = f"{ws.title}!{cell.coordinate} {cell.value}"
                    assert isinstance(got, int | float) and not isinstance(got, bool), (
                        f"{where} → {got!r}"
                    )
                    count += 1
    return count


def check_schedule(ws: Any, data: ReportData, m: Messages) -> None:
    cols = headers(ws)
    s = data.schedule
    total = rows_of(ws, m("workbook.total"))[0]
    assert total == 2 + len(s)
    public, everything = cols[m("workbook.col.public_total")], cols[m("workbook.col.total")]
    for i, r in enumerate(s.to_dict("records")):
        assert number(ws, 2 + i, public) == pytest.approx(r["public_cost_vnd"], abs=VND)
        assert number(ws, 2 + i, everything) == pytest.approx(r["cost_vnd"], abs=VND)
    people = number(ws, total, cols[m("workbook.schedule.enrolments")])
    assert people == pytest.approx(float(s["enrolments"].sum()), abs=1e-6)
    for source in data.sources:
        col = cols[m("workbook.money_header", name=source.name)]
        expected = float(s[SOURCE_PREFIX + source.id].sum())
        assert number(ws, total, col) == pytest.approx(expected, abs=VND)
    assert number(ws, total, public) == pytest.approx(float(s["public_cost_vnd"].sum()), abs=VND)
    assert number(ws, total, everything) == pytest.approx(float(s["cost_vnd"].sum()), abs=VND)


def check_budget(ws: Any, data: ReportData, m: Messages) -> None:
    cols = headers(ws)
    spend = data.budget  # the long table: the sums below do not go through budget_by_year()
    public_spend = spend[spend["public"].astype(bool)]
    public, everything = cols[m("workbook.col.public_total")], cols[m("workbook.col.total")]
    rows = year_rows(ws)
    assert sorted(rows) == sorted(set(spend["year"].astype(int)))
    for year, row in rows.items():
        in_year = spend["year"] == year
        assert number(ws, row, everything) == pytest.approx(
            float(spend.loc[in_year, "cost_vnd"].sum()), abs=VND
        )
        year_public = float(public_spend.loc[public_spend["year"] == year, "cost_vnd"].sum())
        assert number(ws, row, public) == pytest.approx(year_public, abs=VND)
        for source in data.sources:
            col = cols[m("workbook.money_header", name=source.name)]
            of_source = in_year & (spend["funding_source"] == source.id)
            expected = float(spend.loc[of_source, "cost_vnd"].sum())
            assert number(ws, row, col) == pytest.approx(expected, abs=VND)
    ceilings = dict(
        zip(data.ceilings["year"].astype(int), data.ceilings["ceiling_vnd"], strict=True)
    )
    if ceilings:
        ceiling, headroom = cols[m("workbook.budget.ceiling")], cols[m("workbook.budget.headroom")]
        for year, row in rows.items():
            assert number(ws, row, ceiling) == pytest.approx(ceilings[year], abs=VND)
            expected = ceilings[year] - float(
                public_spend.loc[public_spend["year"] == year, "cost_vnd"].sum()
            )
            assert number(ws, row, headroom) == pytest.approx(expected, abs=VND)

    grand = rows_of(ws, m("workbook.total"))[-1]
    assert number(ws, grand, everything) == pytest.approx(float(spend["cost_vnd"].sum()), abs=VND)
    assert number(ws, grand, everything) == pytest.approx(data.total_cost_vnd, abs=VND)
    assert number(ws, grand, public) == pytest.approx(data.public_cost_vnd, abs=VND)
    phases = [p for p in data.phases if spend["year"].between(p.first_year, p.last_year).any()]
    assert phases, "the plan spends in no phase"
    outside = ~spend["year"].apply(lambda y: data.phase_of(int(y)) is not None)
    other = rows_of(ws, m("workbook.budget.other_years"))
    assert len(other) == int(outside.any())
    for col in range(3, max(cols.values()) + 1):
        # years outside every phase have a row of their own, so that nothing is left out
        in_phases = sum(number(ws, row, col) for row in other)
        if other and col == everything:
            expected = float(spend.loc[outside, "cost_vnd"].sum())
            assert in_phases == pytest.approx(expected, abs=VND)
        for p in phases:
            row = row_of(ws, phase_label(m, p.label))
            got = number(ws, row, col)
            in_phases += got
            if col in (public, everything):
                chosen = spend if col == everything else public_spend
                expected = float(
                    chosen.loc[chosen["year"].between(p.first_year, p.last_year), "cost_vnd"].sum()
                )
                assert got == pytest.approx(expected, abs=VND), p.label
        # the phases' totals add up to the grand total, column by column
        assert in_phases == pytest.approx(number(ws, grand, col), abs=VND)


def check_summary(ws: Any, data: ReportData, m: Messages) -> None:
    assert data.total_cost_vnd is not None and data.public_cost_vnd is not None
    total = row_of(ws, m("workbook.summary.total_cost"))
    assert number(ws, total, 2) == pytest.approx(data.total_cost_vnd, abs=VND)
    assert number(ws, total, 3) == pytest.approx(data.total_cost_vnd / TY, abs=VND / TY)
    public = row_of(ws, m("workbook.summary.public_cost"))
    assert number(ws, public, 2) == pytest.approx(data.public_cost_vnd, abs=VND)
    assert number(ws, public, 3) == pytest.approx(data.public_cost_vnd / TY, abs=VND / TY)
    people = row_of(ws, m("workbook.summary.people"))
    expected_people = float(data.schedule["enrolments"].sum())
    assert number(ws, people, 2) == pytest.approx(expected_people, abs=1e-6)
    spend = data.budget
    for p in data.phases:
        in_phase = spend["year"].between(p.first_year, p.last_year)
        if not in_phase.any():
            continue
        row = row_of(ws, m("workbook.summary.phase_total", what=phase_label(m, p.label)))
        expected = float(spend.loc[in_phase, "cost_vnd"].sum())
        assert number(ws, row, 2) == pytest.approx(expected, abs=VND)
        row = row_of(ws, m("workbook.summary.phase_public", what=phase_label(m, p.label)))
        expected = float(spend.loc[in_phase & spend["public"].astype(bool), "cost_vnd"].sum())
        assert number(ws, row, 2) == pytest.approx(expected, abs=VND)
    if data.kind == "plan" and data.expected_cost_vnd is not None:
        row = row_of(ws, m("workbook.summary.price_of_confidence"))
        price = data.total_cost_vnd - data.expected_cost_vnd
        assert number(ws, row, 2) == pytest.approx(price, abs=VND)


def check_totals(original: Path, recalculated: Path, data: ReportData, lang: str) -> None:
    m = messages(lang)
    names = sheet_names(m)
    values = load(recalculated, values=True)
    assert check_every_formula_computed(load(original), values) > 0
    check_schedule(values[names["schedule"]], data, m)
    check_budget(values[names["budget"]], data, m)
    check_summary(values[names["summary"]], data, m)


# ----------------------------------------------------------------------------- structure
def test_five_sheets_named_in_each_language(plan_books: dict[str, Path]) -> None:
    names = {}
    for lang in LANGS:
        names[lang] = load(plan_books[lang]).sheetnames
        assert names[lang] == list(sheet_names(messages(lang)).values())
        assert len(names[lang]) == 5
        assert all(0 < len(n) <= 31 for n in names[lang])
    assert names["vi"] == ["Tóm tắt", "Lịch đào tạo", "Ngân sách", "Chỉ tiêu", "Giả định"]
    assert not set(names["vi"]) & set(names["en"])


def test_headers_are_in_the_workbooks_language(
    plan_books: dict[str, Path], plan_report: ReportData
) -> None:
    seen: dict[str, list[str]] = {}
    for lang in LANGS:
        m = messages(lang)
        wb = load(plan_books[lang])
        names = sheet_names(m)
        money = [m("workbook.money_header", name=s.name) for s in plan_report.sources]
        schedule = [c.value for c in wb[names["schedule"]][1]]
        assert schedule == [
            m("workbook.schedule.year"),
            m("workbook.schedule.group"),
            m("workbook.schedule.pool"),
            m("workbook.schedule.course"),
            m("workbook.schedule.enrolments"),
            *money,
            m("workbook.col.public_total"),
            m("workbook.col.total"),
        ]
        budget = [c.value for c in wb[names["budget"]][1]]
        assert budget == [
            m("workbook.budget.year"),
            m("workbook.budget.phase"),
            *money,
            m("workbook.col.public_total"),
            m("workbook.col.total"),
        ]
        targets = [c.value for c in wb[names["targets"]][1]]
        assert m("workbook.targets.probability") in targets
        assumptions = [c.value for c in wb[names["assumptions"]][1]]
        assert assumptions[-1] == m("workbook.assumptions.source")
        # the catalogue's words, not the scenario's source names, which stay as written
        seen[lang] = [h for h in schedule + budget + targets + assumptions if h not in money]
    assert not set(seen["vi"]) & set(seen["en"]) - {"PERT"}
    assert "Ngân sách công (đồng)" in seen["vi"]


def test_header_rows_frozen_and_printed_on_every_page(
    plan_books: dict[str, Path], plan_report: ReportData
) -> None:
    for lang in LANGS:
        wb = load(plan_books[lang])
        for ws in wb.worksheets:
            assert ws.freeze_panes is not None, ws.title
            assert coordinate_from_string(ws.freeze_panes)[1] == 2, ws.title  # below the header
            assert ws.print_title_rows in ("1:1", "$1:$1"), ws.title
            assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
            assert ws.sheet_properties.pageSetUpPr.fitToPage
            assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
            assert ws.oddHeader.center.text == plan_report.title
            assert "&P" in ws.oddFooter.right.text and "&N" in ws.oddFooter.right.text
            assert all(c.font.b for c in ws[1] if c.value is not None), ws.title
        names = sheet_names(messages(lang))
        for wide in ("schedule", "budget", "targets"):
            assert wb[names[wide]].page_setup.orientation == "landscape"


def test_columns_are_as_wide_as_their_numbers_and_long_texts_wrap(
    plan_books: dict[str, Path],
) -> None:
    wb = load(plan_books["vi"])
    checked = 0
    for ws in wb.worksheets:
        widths = {k: d.width for k, d in ws.column_dimensions.items()}
        assert all(0 < w <= MAX_WIDTH for w in widths.values()), ws.title
        for line in ws.iter_rows(min_row=2):
            for cell in line:
                if isinstance(cell.value, float) and cell.number_format == MONEY:
                    shown = f"{cell.value:,.0f}"
                    assert widths[cell.column_letter] >= len(shown), (ws.title, cell.coordinate)
                    checked += 1
    assert checked > 0
    names = sheet_names(messages("vi"))
    sources = wb[names["assumptions"]]
    col = headers(sources)[messages("vi")("workbook.assumptions.source")]
    width = sources.column_dimensions[get_column_letter(col)].width
    long = [c for c in sources[get_column_letter(col)][1:] if c.value and len(c.value) > width]
    assert long, "no source text longer than its column: the wrap is not tested"
    assert all(c.alignment.wrap_text for c in long)


def test_money_cells_hold_numbers_under_a_header_naming_the_currency(
    plan_books: dict[str, Path],
) -> None:
    for lang in LANGS:
        m = messages(lang)
        unit = f"({m('common.unit.vnd')})"
        wb = load(plan_books[lang])
        names = sheet_names(m)
        for sheet in ("schedule", "budget"):
            ws = wb[names[sheet]]
            money_cols = [col for text, col in headers(ws).items() if text.endswith(unit)]
            assert len(money_cols) >= 3, (lang, sheet)
            for col in money_cols:
                for cell in ws[get_column_letter(col)][1:]:
                    if cell.value is None:
                        continue
                    assert isinstance(cell.value, int | float | str), cell.coordinate
                    if isinstance(cell.value, str):  # a total: a formula, never a typed number
                        assert cell.value.startswith("="), (lang, sheet, cell.coordinate)
                    assert cell.number_format in (MONEY, HEADROOM), (sheet, cell.coordinate)


def test_totals_are_formulas_over_the_cells_they_add_up(
    plan_books: dict[str, Path], plan_report: ReportData
) -> None:
    m = messages("vi")
    names = sheet_names(m)
    wb = load(plan_books["vi"])

    schedule = wb[names["schedule"]]
    cols = headers(schedule)
    total = rows_of(schedule, m("workbook.total"))[0]
    last = total - 1
    for col in range(cols[m("workbook.schedule.enrolments")], max(cols.values()) + 1):
        letter = get_column_letter(col)
        assert formula(schedule, total, col) == f"=SUM({letter}2:{letter}{last})"
    for row in range(2, total):
        assert formula(schedule, row, cols[m("workbook.col.total")]).startswith("=SUM(")
        assert formula(schedule, row, cols[m("workbook.col.public_total")]).startswith("=SUM(")

    budget = wb[names["budget"]]
    cols = headers(budget)
    for row in year_rows(budget).values():
        assert formula(budget, row, cols[m("workbook.col.public_total")]).startswith("=SUM(")
        assert formula(budget, row, cols[m("workbook.col.total")]).startswith("=SUM(")
    for p in plan_report.phases:
        row = row_of(budget, phase_label(m, p.label))
        assert formula(budget, row, cols[m("workbook.col.total")]).startswith("=SUMIFS(")
    grand = rows_of(budget, m("workbook.total"))[-1]
    assert formula(budget, grand, cols[m("workbook.col.total")]).startswith("=SUM(")

    summary = wb[names["summary"]]
    row = row_of(summary, m("workbook.summary.total_cost"))
    assert formula(summary, row, 2).startswith(f"=SUM({quote_sheetname(names['budget'])}!")
    assert formula(summary, row, 3) == f"=B{row}/1e9"
    assert summary.cell(row=row, column=3).number_format == "#,##0.00"
    for p in plan_report.phases:
        row = row_of(summary, m("workbook.summary.phase_total", what=phase_label(m, p.label)))
        assert formula(summary, row, 2).startswith(f"={quote_sheetname(names['budget'])}!")


# ----------------------------------------------------------------------------- LibreOffice
def test_libreoffice_recalculates_values_a_file_already_holds(
    libreoffice: LibreOffice, tmp_path: Path
) -> None:
    """The helper's own proof: a cached value that no longer matches its inputs is recomputed,
    which LibreOffice does not do unless told to (it would keep the file's 3.5)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["A2"], ws["A3"] = 1.5, 2, "=SUM(A1:A2)"
    source = tmp_path / "small.xlsx"
    wb.save(source)
    first = libreoffice.recalculate(source, tmp_path / "first")
    assert load(first, values=True).active["A3"].value == 3.5

    stale = tmp_path / "stale" / "small.xlsx"
    stale.parent.mkdir()
    with zipfile.ZipFile(first) as src, zipfile.ZipFile(stale, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert content.count(b"<v>1.5</v>") == 1
                content = content.replace(b"<v>1.5</v>", b"<v>100</v>")
            dst.writestr(item, content)
    assert load(stale, values=True).active["A3"].value == 3.5  # the stale value is in the file
    again = libreoffice.recalculate(stale, tmp_path / "again")
    assert load(again, values=True).active["A3"].value == 102


def test_libreoffice_totals_equal_the_python_sums(
    plan_books: dict[str, Path], plan_recalculated: Path, plan_report: ReportData
) -> None:
    check_totals(plan_books["vi"], plan_recalculated, plan_report, "vi")


def test_ceiling_and_headroom_recalculate_to_the_python_sums(
    ceiling_report: ReportData, libreoffice: LibreOffice, tmp_path: Path
) -> None:
    book = tmp_path / "workbook.xlsx"
    write_workbook(ceiling_report, book, "en")
    check_totals(book, libreoffice.recalculate(book, tmp_path / "out"), ceiling_report, "en")


def test_an_edit_moves_every_total_that_depends_on_it_by_its_amount(
    plan_books: dict[str, Path],
    plan_recalculated: Path,
    plan_report: ReportData,
    libreoffice: LibreOffice,
    tmp_path: Path,
) -> None:
    m = messages("vi")
    names = sheet_names(m)
    public = next(s for s in plan_report.sources if s.public)
    private = next(s for s in plan_report.sources if not s.public)
    wb = load(plan_books["vi"])

    # one public source's money in the first spending year, on the Budget sheet
    budget = wb[names["budget"]]
    bcols = headers(budget)
    year, brow = min(year_rows(budget).items())
    bcell = budget.cell(row=brow, column=bcols[m("workbook.money_header", name=public.name)])
    bcell.value += 1e9
    # people and a trainee's contribution in the schedule's first row
    schedule = wb[names["schedule"]]
    scols = headers(schedule)
    schedule.cell(row=2, column=scols[m("workbook.schedule.enrolments")]).value += 10
    scell = schedule.cell(row=2, column=scols[m("workbook.money_header", name=private.name)])
    scell.value += 5e8
    edited = tmp_path / "edited" / "workbook.xlsx"
    edited.parent.mkdir()
    wb.save(edited)
    after = load(libreoffice.recalculate(edited, tmp_path / "out"), values=True)
    before = load(plan_recalculated, values=True)

    def moved(sheet: str) -> Callable[[int, int], float]:
        return lambda row, col: number(after[sheet], row, col) - number(before[sheet], row, col)

    b = moved(names["budget"])
    pub, tot = bcols[m("workbook.col.public_total")], bcols[m("workbook.col.total")]
    assert b(brow, pub) == pytest.approx(1e9, abs=EDIT)
    assert b(brow, tot) == pytest.approx(1e9, abs=EDIT)
    phase = plan_report.phase_of(year)
    assert phase is not None
    for p in plan_report.phases:
        row = row_of(before[names["budget"]], phase_label(m, p.label))
        amount = 1e9 if p == phase else 0.0
        assert b(row, pub) == pytest.approx(amount, abs=EDIT), p.label
        assert b(row, tot) == pytest.approx(amount, abs=EDIT), p.label
    grand = rows_of(before[names["budget"]], m("workbook.total"))[-1]
    assert b(grand, tot) == pytest.approx(1e9, abs=EDIT)

    s = moved(names["schedule"])
    total = rows_of(before[names["schedule"]], m("workbook.total"))[0]
    assert s(total, scols[m("workbook.schedule.enrolments")]) == pytest.approx(10, abs=1e-9)
    assert s(2, scols[m("workbook.col.total")]) == pytest.approx(5e8, abs=EDIT)
    assert s(2, scols[m("workbook.col.public_total")]) == pytest.approx(0, abs=EDIT)
    assert s(total, scols[m("workbook.col.total")]) == pytest.approx(5e8, abs=EDIT)

    summary = before[names["summary"]]
    sm = moved(names["summary"])
    total_row = row_of(summary, m("workbook.summary.total_cost"))
    assert sm(total_row, 2) == pytest.approx(1e9, abs=EDIT)
    assert sm(total_row, 3) == pytest.approx(1.0, abs=EDIT / TY)
    assert sm(row_of(summary, m("workbook.summary.public_cost")), 2) == pytest.approx(1e9, abs=EDIT)
    assert sm(row_of(summary, m("workbook.summary.people")), 2) == pytest.approx(10, abs=1e-9)
    price = row_of(summary, m("workbook.summary.price_of_confidence"))
    assert sm(price, 2) == pytest.approx(1e9, abs=EDIT)
    row = row_of(summary, m("workbook.summary.phase_total", what=phase_label(m, phase.label)))
    assert sm(row, 2) == pytest.approx(1e9, abs=EDIT)


def test_classes_and_years_outside_the_phases_recalculate(
    plan_report: ReportData, libreoffice: LibreOffice, tmp_path: Path
) -> None:
    """Whole classes under the schedule (a run with classes: built here from the schedule), and
    spending in a year no phase covers (the retakes' year, its phase dropped here)."""
    size = 25
    trainees = plan_report.schedule.groupby(["year", "course"], as_index=False)["enrolments"].sum()
    classes = pd.DataFrame(
        {
            "year": trainees["year"],
            "course": trainees["course"],
            "trainees": trainees["enrolments"],
            "class_size": size,
            "classes": [math.ceil(t / size) for t in trainees["enrolments"]],
        }
    )
    last_year = int(plan_report.budget["year"].max())
    phases = tuple(p for p in plan_report.phases if not p.first_year <= last_year <= p.last_year)
    data = dataclasses.replace(plan_report, classes=classes, phases=phases)
    book = tmp_path / "workbook.xlsx"
    write_workbook(data, book, "en")
    m = messages("en")
    values = load(libreoffice.recalculate(book, tmp_path / "out"), values=True)
    check_budget(values[sheet_names(m)["budget"]], data, m)
    ws = values[sheet_names(m)["schedule"]]
    heading = row_of(ws, m("workbook.classes.heading"))
    cols = headers(ws, heading + 1)
    total = rows_of(ws, m("workbook.total"))[-1]
    assert total == heading + 2 + len(classes)
    assert number(ws, total, cols[m("workbook.classes.trainees")]) == pytest.approx(
        float(classes["trainees"].sum()), abs=1e-6
    )
    assert number(ws, total, cols[m("workbook.classes.classes")]) == classes["classes"].sum()
    check_schedule(ws, data, m)  # the classes below do not disturb the schedule's total


# ----------------------------------------------------------------------------- kinds of run
def test_vietnamese_workbook_speaks_of_ty_dong_and_the_english_one_of_bn_vnd(
    plan_books: dict[str, Path],
) -> None:
    vi, en = texts(load(plan_books["vi"])), texts(load(plan_books["en"]))
    assert any("tỷ đồng" in t for t in vi)
    assert not any("bn VND" in t for t in vi)
    assert any("bn VND" in t for t in en)
    assert not any("tỷ đồng" in t for t in en)


def test_an_optimisers_report_leaves_the_probabilities_blank(
    optimize_report: ReportData, libreoffice: LibreOffice, tmp_path: Path
) -> None:
    m = messages("vi")
    book = tmp_path / "workbook.xlsx"
    write_workbook(optimize_report, book, "vi")
    wb = load(book)
    targets = wb[sheet_names(m)["targets"]]
    cols = headers(targets)
    n = len(optimize_report.targets)
    assert n > 0
    for key in (
        "workbook.targets.probability",
        "workbook.targets.low95",
        "workbook.targets.high95",
    ):
        assert all(targets.cell(row=r, column=cols[m(key)]).value is None for r in range(2, n + 2))
    met = [
        targets.cell(row=r, column=cols[m("workbook.targets.met")]).value for r in range(2, n + 2)
    ]
    assert set(met) <= {m("workbook.targets.met_yes"), m("workbook.targets.met_no")}
    assert rows_of(targets, m("workbook.targets.no_probability"))
    assert not rows_of(targets, m("workbook.targets.joint_heading"))
    summary = wb[sheet_names(m)["summary"]]
    assert not rows_of(summary, m("workbook.summary.probability_all"))
    check_totals(book, libreoffice.recalculate(book, tmp_path / "out"), optimize_report, "vi")


def test_an_infeasible_report_still_writes_a_valid_workbook(
    infeasible_report: ReportData, libreoffice: LibreOffice, tmp_path: Path
) -> None:
    for lang in LANGS:
        m = messages(lang)
        names = sheet_names(m)
        book = tmp_path / f"workbook_{lang}.xlsx"
        write_workbook(infeasible_report, book, lang)
        wb = load(book)
        assert wb.sheetnames == list(names.values())
        schedule = wb[names["schedule"]]
        assert schedule["A2"].value == m(
            "workbook.schedule.empty", reason=infeasible_report.message
        )
        summary = wb[names["summary"]]
        row = row_of(summary, m("workbook.summary.total_cost"))
        assert summary.cell(row=row, column=2).value == m("workbook.summary.no_cost")
        status = summary.cell(row=row_of(summary, m("workbook.summary.status")), column=2).value
        assert status == m("workbook.status.infeasible")
        targets = wb[names["targets"]]
        met = headers(targets)[m("workbook.targets.met")]
        assert m("workbook.targets.met_no") in [c.value for c in targets[get_column_letter(met)]]
    values = load(libreoffice.recalculate(book, tmp_path / "out"), values=True)
    check_every_formula_computed(load(book), values)


# ----------------------------------------------------------------------------- texts
def test_scenario_texts_stay_text_even_when_they_look_like_formulas(
    plan_report: ReportData, tmp_path: Path
) -> None:
    hostile = '=HYPERLINK("http://example.invalid","click")'
    targets = plan_report.targets.copy()
    targets.loc[0, "label"] = hostile
    data = dataclasses.replace(plan_report, targets=targets, title="Long An & co\x07")
    book = tmp_path / "workbook.xlsx"
    write_workbook(data, book, "en")
    wb = load(book)
    ws = wb[sheet_names(messages("en"))["targets"]]
    cell = ws.cell(row=2, column=headers(ws)[messages("en")("workbook.targets.label")])
    assert cell.value == hostile and cell.data_type == "s"
    # the control character is dropped; '&' is doubled, or the header would read it as a code
    assert ws.oddHeader.center.text == "Long An && co"


def test_every_library_word_has_its_text() -> None:
    assert set(DISTRIBUTIONS) | {"dirichlet"} <= set(DISTRIBUTION_KEYS)
    assert {s.value for s in Status} | {"met", "not_met"} <= set(STATUS_KEYS)


def test_the_same_report_gives_the_same_workbook(plan_report: ReportData, tmp_path: Path) -> None:
    """Same plan, same bytes (but for the document's clock stamps, which the run folder fixes),
    so that a rerun can check a workbook like any other table."""
    contents = []
    for name in ("a.xlsx", "b.xlsx"):
        write_workbook(plan_report, tmp_path / name, "vi")
        with zipfile.ZipFile(tmp_path / name) as z:
            contents.append({n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"})
    assert contents[0] == contents[1]


def test_a_missing_libreoffice_fails_and_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="make system-packages"):
        libreoffice_helper.soffice()


def test_a_conversion_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    book = tmp_path / "small.xlsx"
    openpyxl.Workbook().save(book)
    # a profile of its own: a LibreOffice killed while starting may leave its profile locked
    hasty = LibreOffice(tmp_path / "profile", timeout_s=0.05)
    with pytest.raises(pytest.fail.Exception, match=r"within 0\.05 s"):
        hasty.recalculate(book, tmp_path / "out")
