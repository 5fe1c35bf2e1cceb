"""The Excel workbook a finance officer can edit: five sheets, every total a live formula.

The sheets are Summary, Schedule, Budget, Targets and Assumptions, named and headed in the
report's language; a re-plan (``simopt plan --from-year``) has a sixth after the Summary, planned
against actual for the years of the record, its differences live formulas too. Money cells
hold numbers in đồng (format ``#,##0``, the currency in the header), never text, so that an
officer who changes a figure sees every total that depends on it move: row totals, column
totals, the phases' totals and the Summary's headline sums are all formulas over the cells they
add up. openpyxl stores formulas without their values; a spreadsheet
program computes them on opening (the tests recalculate with LibreOffice to prove them right).

Ids (groups, pools, courses, targets) and the scenario's own texts (labels, sources, funding
source names) are shown as the scenario writes them; everything else comes from the catalogue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname

from simopt.reporting.data import SOURCE_PREFIX, Phase, ReportData
from simopt.reporting.i18n import TY, Messages, messages
from simopt.reporting.tables import clean, missing

MONEY = "#,##0"
"""Đồng: budgets are written to the đồng, so no decimals are shown (the cell keeps them)."""
HEADROOM = "#,##0;[Red]-#,##0"
"""A ceiling overrun is the one money figure a finance officer must not miss: red."""
TY_FORMAT = "#,##0.00"
PEOPLE = "#,##0"
SHARE = "0%"
PROBABILITY = "0.0%"
WHOLE = "0"
"""Years and seeds: whole numbers without a thousands separator (2,021 would read as a count)."""
NUMBER = "General"

MAX_WIDTH = 60
"""Long texts (sources, labels, messages) wrap rather than push the next column off the page."""
MIN_WIDTH = 6
HEADER_WIDTH = 24
"""Headers wrap onto a second line before they widen a column of short numbers."""
PORTRAIT_WIDTH = 95
"""About as many character widths as an A4 portrait page holds at full size: a sheet wider than
this is printed landscape (and, either way, fitted to the page's width)."""
SUMMARY_CAPS = {1: 48.0, 2: 36.0, 4: 48.0}
"""The Summary's label, value and detail columns: narrow enough for a page, long texts wrapped."""
SHEET_NAME_MAX = 31
"""Excel refuses longer sheet names."""

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_RULE = Border(top=Side(style="thin"))
_HEADER_RULE = Border(bottom=Side(style="thin"))
_WRAP = Alignment(wrap_text=True, vertical="top")
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
"""Control characters XML cannot hold; openpyxl refuses a text with one of them."""

# The catalogue keys of the library's words (sheet, status, kind of run, uncertainty,
# distribution), spelled out so that the catalogue's test sees every key; a word not listed here
# is shown as the library wrote it.
SHEET_KEYS = {
    "summary": "workbook.sheet.summary",
    "schedule": "workbook.sheet.schedule",
    "budget": "workbook.sheet.budget",
    "targets": "workbook.sheet.targets",
    "assumptions": "workbook.sheet.assumptions",
}
STATUS_KEYS = {
    "met": "workbook.status.met",
    "not_met": "workbook.status.not_met",
    "optimal": "workbook.status.optimal",
    "infeasible": "workbook.status.infeasible",
    "unbounded": "workbook.status.unbounded",
    "not_solved": "workbook.status.not_solved",
}
REPLAN_SHEET_KEY = "workbook.sheet.replan"
"""A re-plan's sixth sheet, planned against actual, right after the Summary."""
KIND_KEYS = {"plan": "workbook.kind.plan", "optimize": "workbook.kind.optimize"}
UNCERTAINTY_KEYS = {"ranges": "workbook.uncertainty.ranges", "none": "workbook.uncertainty.none"}
DISTRIBUTION_KEYS = {
    "uniform": "workbook.distribution.uniform",
    "triangular": "workbook.distribution.triangular",
    "pert": "workbook.distribution.pert",
    "normal": "workbook.distribution.normal",
    "dirichlet": "workbook.distribution.dirichlet",  # a table of level shares drawn together
}


def write_workbook(data: ReportData, path: Path, lang: str = "vi") -> None:
    """Render ``data`` as an .xlsx workbook at ``path`` in ``lang`` (vi or en).

    The caller makes the write atomic (a run folder is built aside and renamed into place).
    """
    m = messages(lang)
    wb = Workbook()
    names = sheet_names(m)
    summary = _Sheet(wb.active, names["summary"], data.title, m, caps=SUMMARY_CAPS)
    replan = (
        _Sheet(wb.create_sheet(), replan_sheet_name(m), data.title, m, caps=REPLAN_CAPS)
        if data.replan_from_year is not None
        else None
    )
    schedule = _Sheet(wb.create_sheet(), names["schedule"], data.title, m)
    budget = _Sheet(wb.create_sheet(), names["budget"], data.title, m)
    targets = _Sheet(wb.create_sheet(), names["targets"], data.title, m)
    assumptions = _Sheet(wb.create_sheet(), names["assumptions"], data.title, m)

    people = _write_schedule(schedule, data, m)
    totals = _write_budget(budget, data, m)
    _write_summary(summary, data, m, totals, people, replan)
    _write_targets(targets, data, m)
    _write_assumptions(assumptions, data, m)
    if replan is not None:
        _write_replan(replan, data, m)

    summary.finish(freeze="A2")
    if replan is not None:
        replan.finish(freeze="C2")  # the header and the year × measure keys
    schedule.finish(freeze="E2")  # the header and the year × group × pool × course keys
    budget.finish(freeze="B2")
    targets.finish(freeze="B2")
    assumptions.finish(freeze="B2")

    wb.properties.title = _text(data.title)
    wb.properties.creator = "simopt"
    wb.properties.language = m.lang
    wb.save(path)


def sheet_names(m: Messages) -> dict[str, str]:
    """The five sheets' names in one language, in order: summary, schedule, budget, …"""
    out = {k: m(key) for k, key in SHEET_KEYS.items()}
    for k, name in out.items():
        _check_sheet_name(name, k, m)
    return out


def replan_sheet_name(m: Messages) -> str:
    """The name of a re-plan's planned-against-actual sheet in one language."""
    name = m(REPLAN_SHEET_KEY)
    _check_sheet_name(name, "replan", m)
    return name


def _check_sheet_name(name: str, what: str, m: Messages) -> None:
    if len(name) > SHEET_NAME_MAX or re.search(r"[\[\]:*?/\\]", name):
        raise ValueError(f"sheet name {name!r} ({what}, {m.lang}) is not a valid Excel name")


def _word(m: Messages, keys: dict[str, str], word: str) -> str:
    return m(keys[word]) if word in keys else word


# ----------------------------------------------------------------------------- one sheet
@dataclass(frozen=True)
class Formula:
    """A formula and the value it computes to here (used for the column's width only)."""

    text: str
    value: float | None = None


@dataclass
class _Sheet:
    """A worksheet being written: cells with their formats, and the widest rendering per column
    (openpyxl cannot measure text, so widths are computed from what each cell will show)."""

    ws: Any
    name: str
    title: str
    m: Messages
    caps: dict[int, float] = field(default_factory=dict)
    """Columns narrower than MAX_WIDTH."""
    widths: dict[int, float] = field(default_factory=dict)
    overflow: set[tuple[int, int]] = field(default_factory=set)
    """Texts that run over the empty cells beside them (titles, notes), neither wrapped nor
    counted in their column's width."""

    def __post_init__(self) -> None:
        self.ws.title = self.name

    @staticmethod
    def ref(row: int, col: int, *, absolute: bool = False) -> str:
        letter = get_column_letter(col)
        return f"${letter}${row}" if absolute else f"{letter}{row}"

    def external(self, cells: str) -> str:
        """A reference from another sheet: 'Ngân sách'!G2:G12."""
        return f"{quote_sheetname(self.name)}!{cells}"

    def put(
        self,
        row: int,
        col: int,
        value: Any,
        fmt: str | None = None,
        *,
        bold: bool = False,
        fits: bool = True,
    ) -> Any:
        """A number, a :class:`Formula` or a text. A text is always stored as text, so that a
        label a scenario starts with '=' is never run as a formula. ``fits=False``: a text that
        may run over the empty cells beside it without widening its column (a title)."""
        cell = self.ws.cell(row=row, column=col)
        value = clean(value)
        if isinstance(value, Formula):
            cell.value = value.text
            shown = _shown(value.value, fmt)
        elif isinstance(value, str):
            cell.value = _text(value)
            cell.data_type = "s"
            shown = value if fits else ""
            if not fits:
                self.overflow.add((row, col))
        else:
            cell.value = value
            shown = _shown(value, fmt)
        if fmt is not None and value is not None:
            cell.number_format = fmt
        if bold:
            cell.font = _BOLD
        self.widths[col] = max(self.widths.get(col, 0.0), _width(shown))
        return cell

    def header(self, row: int, labels: Sequence[str]) -> None:
        for col, label in enumerate(labels, start=1):
            cell = self.ws.cell(row=row, column=col, value=_text(label))
            cell.data_type = "s"  # a funding source's name is the scenario's text, never a formula
            cell.font = _BOLD
            cell.fill = _HEADER_FILL
            cell.border = _HEADER_RULE
            cell.alignment = _WRAP
            longest_word = max((len(w) for w in label.split()), default=0)
            wanted = max(min(float(len(label)), HEADER_WIDTH), float(longest_word))
            self.widths[col] = max(self.widths.get(col, 0.0), wanted + 2)

    def rule(self, row: int, last_col: int) -> None:
        """A total row: bold, with a line above."""
        for col in range(1, last_col + 1):
            cell = self.ws.cell(row=row, column=col)
            cell.border = _RULE
            cell.font = _BOLD

    def finish(self, *, freeze: str) -> None:
        ws = self.ws
        final = {
            col: min(max(width, MIN_WIDTH), self.caps.get(col, MAX_WIDTH))
            for col, width in self.widths.items()
        }
        for col, width in final.items():
            ws.column_dimensions[get_column_letter(col)].width = width
        # a text wider than its column wraps onto more lines instead of running under the next
        for line in ws.iter_rows():
            for cell in line:
                if (
                    cell.data_type == "s"
                    and isinstance(cell.value, str)
                    and (cell.row, cell.column) not in self.overflow
                    and _width(cell.value) > final.get(cell.column, MAX_WIDTH)
                ):
                    cell.alignment = _WRAP
        ws.freeze_panes = freeze
        ws.print_title_rows = "1:1"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        wide = sum(final.values()) > PORTRAIT_WIDTH
        ws.page_setup.orientation = "landscape" if wide else "portrait"
        # every column on the page's width, as many pages down as the rows need
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        # '&' starts a code in a header or footer: a title with one must double it (and Excel
        # takes at most 255 characters for a header)
        ws.oddHeader.center.text = _text(self.title)[:120].replace("&", "&&")
        ws.oddFooter.left.text = self.name.replace("&", "&&")
        ws.oddFooter.right.text = self.m("workbook.page", page="&P", pages="&N")


def _text(value: str) -> str:
    return _ILLEGAL.sub("", value)


def _shown(value: Any, fmt: str | None) -> str:
    """Roughly what a cell displays, for its column's width (separators count as digits)."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int | float):
        x = float(value)
        if not math.isfinite(x):
            return ""
        if fmt in (MONEY, PEOPLE, HEADROOM):
            return f"{x:,.0f}"
        if fmt == TY_FORMAT:
            return f"{x:,.2f}"
        if fmt in (SHARE, PROBABILITY):
            return f"{100 * x:.1f}%"
        if fmt == WHOLE:
            return f"{x:.0f}"
        return f"{x:g}"
    return str(value)


def _width(text: str) -> float:
    return max((len(line) for line in text.splitlines()), default=0) + 2.0


def _sum(sh: _Sheet, first_row: int, last_row: int, col: int) -> str:
    return f"=SUM({sh.ref(first_row, col)}:{sh.ref(last_row, col)})"


def _sum_of(cells: Sequence[str]) -> str:
    return f"=SUM({','.join(cells)})" if cells else "=0"


# ----------------------------------------------------------------------------- schedule
def _write_schedule(sh: _Sheet, data: ReportData, m: Messages) -> Formula | None:
    """The schedule's rows, one per year × group × pool × course, with public and all-sources
    totals per row and a total row; then the classes. Returns the Summary's people formula."""
    money = data.source_columns
    names = {SOURCE_PREFIX + s.id: s.name for s in data.sources}
    public = {SOURCE_PREFIX + s.id for s in data.sources if s.public}
    first_money = 6
    public_col = first_money + len(money)
    total_col = public_col + 1
    sh.header(
        1,
        [
            m("workbook.schedule.year"),
            m("workbook.schedule.group"),
            m("workbook.schedule.pool"),
            m("workbook.schedule.course"),
            m("workbook.schedule.enrolments"),
            *[m("workbook.money_header", name=names.get(c, c)) for c in money],
            m("workbook.col.public_total"),
            m("workbook.col.total"),
        ],
    )
    frame = data.schedule
    if frame.empty:
        sh.put(2, 1, m("workbook.schedule.empty", reason=data.message), fits=False)
        return None
    for i, r in enumerate(frame.to_dict("records")):
        row = 2 + i
        sh.put(row, 1, int(r["year"]), WHOLE)
        for col, key in ((2, "group"), (3, "pool"), (4, "course")):
            sh.put(row, col, str(r[key]))
        sh.put(row, 5, float(r["enrolments"]), PEOPLE)
        for j, c in enumerate(money):
            sh.put(row, first_money + j, float(r[c]), MONEY)
        cells = [sh.ref(row, first_money + j) for j, c in enumerate(money) if c in public]
        public_value = sum(float(r[c]) for c in money if c in public)
        sh.put(row, public_col, Formula(_sum_of(cells), public_value), MONEY)
        span = [f"{sh.ref(row, first_money)}:{sh.ref(row, public_col - 1)}"] if money else []
        everything = _sum_of(span)
        sh.put(row, total_col, Formula(everything, sum(float(r[c]) for c in money)), MONEY)
    last = 1 + len(frame)
    total = last + 1
    sh.put(total, 1, m("workbook.total"))
    sums = {
        5: float(frame["enrolments"].sum()),
        **{first_money + j: float(frame[c].sum()) for j, c in enumerate(money)},
        public_col: float(frame[[c for c in money if c in public]].to_numpy().sum()),
        total_col: float(frame[money].to_numpy().sum()),
    }
    for col, value in sums.items():
        sh.put(total, col, Formula(_sum(sh, 2, last, col), value), PEOPLE if col == 5 else MONEY)
    sh.rule(total, total_col)
    _write_classes(sh, data.classes, total + 2, m)
    return Formula(f"={sh.external(sh.ref(total, 5))}", sums[5])


def _write_classes(sh: _Sheet, classes: pd.DataFrame, top: int, m: Messages) -> None:
    """Whole classes per year and course, under the schedule, with live totals of trainees and
    of classes (a total of class sizes would mean nothing)."""
    if classes.empty:
        return
    sh.put(top, 1, m("workbook.classes.heading"), bold=True)
    for col, (_, key, _) in enumerate(_CLASS_COLUMNS, start=1):
        cell = sh.put(top + 1, col, m(key), bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = _WRAP
    first = top + 2
    for i, r in enumerate(classes.to_dict("records")):
        for col, (name, _, fmt) in enumerate(_CLASS_COLUMNS, start=1):
            value = clean(r[name])
            sh.put(first + i, col, str(value) if name == "course" else value, fmt)
    last = first + len(classes) - 1
    sh.put(last + 1, 1, m("workbook.total"))
    for col, (name, _, _) in enumerate(_CLASS_COLUMNS, start=1):
        if name in ("trainees", "classes"):
            value = float(pd.to_numeric(classes[name], errors="coerce").sum())
            sh.put(last + 1, col, Formula(_sum(sh, first, last, col), value), PEOPLE)
    sh.rule(last + 1, len(_CLASS_COLUMNS))


_CLASS_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("year", "workbook.classes.year", WHOLE),
    ("course", "workbook.classes.course", None),
    ("trainees", "workbook.classes.trainees", PEOPLE),
    ("class_size", "workbook.classes.class_size", PEOPLE),
    ("classes", "workbook.classes.classes", PEOPLE),
)


# ----------------------------------------------------------------------------- budget
@dataclass(frozen=True)
class _BudgetTotals:
    """The Budget sheet's totals the Summary points at."""

    total: Formula
    public: Formula
    phases: tuple[tuple[str, Formula, Formula], ...]
    """(phase, all sources, public) per phase."""


def _write_budget(sh: _Sheet, data: ReportData, m: Messages) -> _BudgetTotals | None:
    """Spending by year and funding source; public and all-sources totals per year, the ceiling
    and its headroom, the phases' totals (SUMIFS over the years) and the grand total."""
    wide = data.budget_by_year()
    sources = data.sources
    ceilings = {int(r["year"]): float(r["ceiling_vnd"]) for r in data.ceilings.to_dict("records")}
    first_money = 3
    public_col = first_money + len(sources)
    total_col = public_col + 1
    ceiling_col, headroom_col = total_col + 1, total_col + 2
    last_col = headroom_col if ceilings else total_col
    headers = [
        m("workbook.budget.year"),
        m("workbook.budget.phase"),
        *[m("workbook.money_header", name=s.name) for s in sources],
        m("workbook.col.public_total"),
        m("workbook.col.total"),
    ]
    if ceilings:
        headers += [m("workbook.budget.ceiling"), m("workbook.budget.headroom")]
    sh.header(1, headers)
    if wide.empty:
        sh.put(2, 1, m("workbook.budget.empty", reason=data.message), fits=False)
        return None

    years = [int(y) for y in wide["year"]]
    first, last = 2, 1 + len(years)
    # the numbers by year and column: each year's inputs, and the value of each formula (which
    # sets its column's width)
    by_year = wide.set_index(wide["year"].astype(int))
    by_year["ceiling"] = [ceilings.get(y, math.nan) for y in years]
    by_year["headroom"] = by_year["ceiling"] - by_year["public_cost_vnd"]
    column_of = {
        **{first_money + j: s.id for j, s in enumerate(sources)},
        public_col: "public_cost_vnd",
        total_col: "cost_vnd",
        ceiling_col: "ceiling",
        headroom_col: "headroom",
    }

    def value(col: int, chosen: Sequence[int]) -> float:
        return float(by_year.loc[list(chosen), column_of[col]].sum())

    for i, year in enumerate(years):
        row = first + i
        phase = data.phase_of(year)
        sh.put(row, 1, year, WHOLE)
        if phase is not None:
            sh.put(row, 2, phase.label)
        for col in range(first_money, public_col):
            sh.put(row, col, value(col, [year]), MONEY)
        cells = [sh.ref(row, first_money + j) for j, s in enumerate(sources) if s.public]
        sh.put(row, public_col, Formula(_sum_of(cells), value(public_col, [year])), MONEY)
        everything = f"=SUM({sh.ref(row, first_money)}:{sh.ref(row, public_col - 1)})"
        sh.put(row, total_col, Formula(everything, value(total_col, [year])), MONEY)
        if year in ceilings:
            sh.put(row, ceiling_col, ceilings[year], MONEY)
            headroom = f"={sh.ref(row, ceiling_col)}-{sh.ref(row, public_col)}"
            sh.put(row, headroom_col, Formula(headroom, value(headroom_col, [year])), HEADROOM)

    # The phases' totals: SUMIFS on the year column, so that a year an officer edits or adds
    # within the rows counts in its phase. Years outside every phase get a row of their own, so
    # that the phases' rows always add up to the grand total.
    groups: list[tuple[str, list[int], Phase | None]] = [
        (m("workbook.phase", phase=p.label), [y for y in years if _in(p, y)], p)
        for p in data.phases
        if any(_in(p, y) for y in years)
    ]
    outside = [y for y in years if data.phase_of(y) is None]
    if outside:
        groups.append((m("workbook.budget.other_years"), outside, None))
    top = last + 2
    sh.put(top, 1, m("workbook.budget.by_phase"), bold=True)
    year_range = f"{sh.ref(first, 1, absolute=True)}:{sh.ref(last, 1, absolute=True)}"
    phase_rows: list[tuple[str, int, list[int]]] = []
    for k, (label, chosen, phase) in enumerate(groups):
        row = top + 1 + k
        sh.put(row, 1, label)
        for col in range(first_money, last_col + 1):
            column = f"{sh.ref(first, col)}:{sh.ref(last, col)}"
            if phase is not None:
                text = (
                    f'=SUMIFS({column},{year_range},">={phase.first_year}",'
                    f'{year_range},"<={phase.last_year}")'
                )
            else:
                text = _sum_of([sh.ref(first + years.index(y), col) for y in chosen])
            fmt = HEADROOM if col == headroom_col else MONEY
            sh.put(row, col, Formula(text, value(col, chosen)), fmt)
        phase_rows.append((label, row, chosen))

    grand = top + 1 + len(groups)
    sh.put(grand, 1, m("workbook.total"))
    for col in range(first_money, last_col + 1):
        fmt = HEADROOM if col == headroom_col else MONEY
        sh.put(grand, col, Formula(_sum(sh, first, last, col), value(col, years)), fmt)
    sh.rule(grand, last_col)

    def over_years(col: int) -> Formula:
        cells = sh.external(f"{sh.ref(first, col)}:{sh.ref(last, col)}")
        return Formula(f"=SUM({cells})", value(col, years))

    def at(row: int, col: int, chosen: list[int]) -> Formula:
        return Formula(f"={sh.external(sh.ref(row, col))}", value(col, chosen))

    return _BudgetTotals(
        total=over_years(total_col),
        public=over_years(public_col),
        phases=tuple(
            (label, at(row, total_col, chosen), at(row, public_col, chosen))
            for label, row, chosen in phase_rows
        ),
    )


def _in(phase: Phase, year: int) -> bool:
    return phase.first_year <= year <= phase.last_year


# ----------------------------------------------------------------------------- summary
class _Lines:
    """The Summary's rows one after another: label, value, tỷ đồng, detail."""

    def __init__(self, sh: _Sheet, row: int) -> None:
        self.sh = sh
        self.row = row

    def heading(self, label: str) -> None:
        self.row += 2  # a blank row before each block
        self.sh.put(self.row, 1, label, bold=True)

    def add(
        self, label: str, value: Any, fmt: str | None = None, *, detail: str | None = None
    ) -> int:
        self.row += 1
        self.sh.put(self.row, 1, label)
        self.sh.put(self.row, 2, value, fmt)
        if detail:
            self.sh.put(self.row, 4, detail)
        return self.row

    def money(self, label: str, value: Formula | float, *, detail: str | None = None) -> int:
        """Đồng, and beside it the same in tỷ đồng as a formula that follows the đồng cell."""
        row = self.add(label, value, MONEY, detail=detail)
        vnd = value.value if isinstance(value, Formula) else value
        ty = None if vnd is None else vnd / TY
        self.sh.put(row, 3, Formula(f"={self.sh.ref(row, 2)}/1e9", ty), TY_FORMAT)
        return row


def _write_summary(
    sh: _Sheet,
    data: ReportData,
    m: Messages,
    budget: _BudgetTotals | None,
    people: Formula | None,
    replan: _Sheet | None = None,
) -> None:
    sh.header(
        1,
        [
            m("workbook.summary.item"),
            m("workbook.summary.value"),
            m("common.unit.ty"),
            m("workbook.summary.detail"),
        ],
    )
    sh.put(2, 1, data.title, fits=False).font = _TITLE
    lines = _Lines(sh, 2)
    lines.add(m("workbook.summary.scenario"), data.scenario)
    lines.add(m("workbook.summary.kind"), _word(m, KIND_KEYS, data.kind))
    status = _word(m, STATUS_KEYS, data.status)
    lines.add(m("workbook.summary.status"), status, detail=data.message)
    if replan is not None:
        _replan_summary(lines, data, m, replan)
    _question(lines, data, m)

    lines.heading(m("workbook.summary.costs"))
    if budget is None:
        lines.add(m("workbook.summary.total_cost"), m("workbook.summary.no_cost"))
    else:
        note = m("workbook.summary.formula_note")
        total = lines.money(m("workbook.summary.total_cost"), budget.total, detail=note)
        public_sources = ", ".join(s.name for s in data.sources if s.public)  # scenario's words
        lines.money(m("workbook.summary.public_cost"), budget.public, detail=public_sources)
        if people is not None:
            lines.add(m("workbook.summary.people"), people, PEOPLE)
        if data.kind == "plan" and data.expected_cost_vnd is not None:
            expected = lines.money(m("workbook.summary.expected_cost"), data.expected_cost_vnd)
            robust = budget.total.value
            price = None if robust is None else robust - data.expected_cost_vnd
            lines.money(
                m("workbook.summary.price_of_confidence"),
                Formula(f"={sh.ref(total, 2)}-{sh.ref(expected, 2)}", price),
            )
        premium = data.rounding_premium_vnd
        if data.lp_cost_vnd is not None and premium is not None:
            lines.money(m("workbook.summary.lp_cost"), data.lp_cost_vnd)
            lines.money(m("workbook.summary.rounding_premium"), premium)

    _joint(lines, data, m)

    if budget is not None and budget.phases:
        lines.heading(m("workbook.summary.phases"))
        for label, all_sources, public in budget.phases:
            lines.money(m("workbook.summary.phase_total", what=label), all_sources)
            lines.money(m("workbook.summary.phase_public", what=label), public)

    if data.notes:
        lines.heading(m("workbook.summary.notes"))
        for note in data.notes:
            lines.row += 1
            sh.put(lines.row, 1, note, fits=False)


def _question(lines: _Lines, data: ReportData, m: Messages) -> None:
    """What was asked: the confidence and of what, the uncertainty, the sample, the ceiling."""
    q = data.question
    lines.heading(m("workbook.summary.question"))
    if q.get("confidence") is not None:
        lines.add(m("workbook.summary.confidence"), float(q["confidence"]), SHARE)
        joint = "workbook.joint.together" if q.get("joint") else "workbook.joint.each"
        lines.add(m("workbook.summary.applies_to"), m(joint))
    if q.get("uncertainty") is not None:
        uncertainty = _word(m, UNCERTAINTY_KEYS, str(q["uncertainty"]))
        lines.add(m("workbook.summary.uncertainty"), uncertainty)
    if q.get("replications") is not None:
        lines.add(m("workbook.summary.replications"), int(q["replications"]), PEOPLE)
    if q.get("seed") is not None:
        lines.add(m("workbook.summary.seed"), int(q["seed"]), WHOLE)
    if q.get("solver") is not None:
        lines.add(m("workbook.summary.solver"), str(q["solver"]))
    ceiling = q.get("ceiling_vnd_per_year")
    if ceiling is not None:
        lines.money(m("workbook.summary.ceiling"), float(ceiling))
    elif not data.ceilings.empty:
        lines.add(m("workbook.summary.ceiling"), m("workbook.summary.ceiling_by_year"))
    else:
        lines.add(m("workbook.summary.ceiling"), m("workbook.summary.no_ceiling"))


def _joint(lines: _Lines, data: ReportData, m: Messages) -> None:
    """The probability that every target (of a milestone, or of the whole plan) holds at once."""
    if data.joint.empty:
        return
    lines.heading(m("workbook.summary.probabilities"))
    for r in data.joint.to_dict("records"):
        scope = str(r["scope"])
        label = (
            m("workbook.summary.probability_all")
            if scope == "all"
            else m("workbook.summary.probability_year", year=scope)
        )
        low, high = r.get("probability_all_met_low95"), r.get("probability_all_met_high95")
        interval = None
        if not missing(low) and not missing(high):
            interval = m("workbook.summary.interval", interval=m.interval(low, high, 1))
        lines.add(label, r["probability_all_met"], PROBABILITY, detail=interval)


def _replan_summary(lines: _Lines, data: ReportData, m: Messages, sheet: _Sheet) -> None:
    """A re-plan: the first year planned, where its past is, and whether the record is real."""
    assert data.replan_from_year is not None
    lines.heading(m("workbook.summary.replan"))
    years = _span(_past_years(data))
    detail = m("workbook.summary.replan_detail", years=years, sheet=sheet.name)
    lines.add(m("workbook.summary.replan_from"), data.replan_from_year, WHOLE, detail=detail)
    if data.record_illustrative:
        row = lines.add(
            m("workbook.summary.record"),
            m("workbook.summary.record_illustrative"),
            detail=m("workbook.summary.record_illustrative_detail"),
        )
        lines.sh.ws.cell(row=row, column=2).font = _WARNING
    else:
        lines.add(m("workbook.summary.record"), m("workbook.summary.record_recorded"))
    if data.people_in_training is not None:
        lines.add(
            m("workbook.replan.people_in_training", year=data.replan_from_year),
            data.people_in_training,
            PEOPLE,
        )


# ----------------------------------------------------------------------------- re-plan
REPLAN_CAPS = {6: 36.0, 7: 48.0}
"""The basis and source columns: long texts wrap."""
REPLAN_MEASURE_KEYS = {
    "enrolments": "workbook.replan.measure.enrolments",
    "exam_passes": "workbook.replan.measure.exam_passes",
    "spending_vnd": "workbook.replan.measure.spending_vnd",
}
REPLAN_BASIS_KEYS = {
    "recorded": "workbook.replan.basis.recorded",
    "not recorded": "workbook.replan.basis.not_recorded",
    "projected from recorded enrolments": "workbook.replan.basis.projected",
}
_SURVEY_BASIS = re.compile(r"^survey (\d{4})$")
POINTS = "0.0"
"""A gap in percentage points, to a tenth."""
_WARNING = Font(bold=True, color="C00000")


def _past_years(data: ReportData) -> list[int]:
    v = data.planned_vs_actual
    if not v.empty and "year" in v.columns:
        return sorted({int(y) for y in v["year"]})
    t = data.past_targets
    if not t.empty and "year" in t.columns:
        return sorted({int(y) for y in t["year"]})
    return []


def _span(years: Sequence[int]) -> str:
    if not years:
        return "—"
    first, last = min(years), max(years)
    return str(first) if first == last else f"{first}–{last}"


def _basis(m: Messages, basis: Any) -> str:
    text = str(basis or "")
    survey = _SURVEY_BASIS.match(text)
    if survey:
        return m("workbook.replan.basis.survey", year=survey.group(1))
    return _word(m, REPLAN_BASIS_KEYS, text)


def _write_replan(sh: _Sheet, data: ReportData, m: Messages) -> None:
    """Planned against actual, one row per past year and measure, the difference a live formula
    (blank while the actual is not recorded, so that an officer who fills one in sees its
    difference); then the past targets with their gap as a formula, the people carried into
    the first year planned and the re-plan's notes."""
    sh.header(
        1,
        [
            m("workbook.replan.year"),
            m("workbook.replan.measure"),
            m("workbook.replan.planned"),
            m("workbook.replan.actual"),
            m("workbook.replan.difference"),
            m("workbook.replan.basis"),
            m("workbook.replan.source"),
        ],
    )
    row = 1
    if data.record_illustrative:
        row += 1
        sh.put(row, 1, m("workbook.replan.illustrative"), fits=False).font = _WARNING
    v = data.planned_vs_actual
    for r in v.to_dict("records") if not v.empty else []:
        row += 1
        measure = str(r["measure"])
        fmt = MONEY if measure == "spending_vnd" else PEOPLE
        planned, actual = clean(r["planned"]), clean(r["actual"])
        sh.put(row, 1, int(r["year"]), WHOLE)
        sh.put(row, 2, _word(m, REPLAN_MEASURE_KEYS, measure))
        sh.put(row, 3, None if planned is None else float(planned), fmt)
        sh.put(row, 4, None if actual is None else float(actual), fmt)
        p, a = sh.ref(row, 3), sh.ref(row, 4)
        difference = None if actual is None or planned is None else float(actual) - float(planned)
        sh.put(row, 5, Formula(f'=IF({a}="","",{a}-{p})', difference), fmt)
        sh.put(row, 6, _basis(m, r.get("basis")))
        source = str(r.get("source") or "")
        if source:
            sh.put(row, 7, source)
    row += 1  # a blank row, then how to read the table
    for key in ("workbook.replan.note", "workbook.replan.note_formula"):
        row += 1
        sh.put(row, 1, m(key), fits=False)
    if not data.past_targets.empty:
        row = _write_past_targets(sh, data, m, row + 2)
    if data.people_in_training is not None:
        row += 2
        label = m("workbook.replan.people_in_training", year=data.replan_from_year)
        sh.put(row, 1, label, bold=True, fits=False)
        sh.put(row, 3, data.people_in_training, PEOPLE)
    if data.replan_notes:
        row += 2
        sh.put(row, 1, m("workbook.replan.notes"), bold=True, fits=False)
        for note in data.replan_notes:
            row += 1
            sh.put(row, 1, note, fits=False)


_PAST_TARGET_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("target", "workbook.replan.target", None),
    ("year", "workbook.replan.year", WHOLE),
    ("min_level", "workbook.replan.level", WHOLE),
    ("required_share", "workbook.replan.required_share", SHARE),
    ("planned_share", "workbook.replan.planned_share", PROBABILITY),
    ("actual_share", "workbook.replan.actual_share", PROBABILITY),
    ("gap_points", "workbook.replan.gap", POINTS),
    ("met", "workbook.replan.met", None),
    ("basis", "workbook.replan.basis", None),
)


def _write_past_targets(sh: _Sheet, data: ReportData, m: Messages, top: int) -> int:
    """The past targets under the variance table, from row ``top``; returns the last row."""
    t = data.past_targets
    sh.put(top, 1, m("workbook.replan.targets_heading"), bold=True, fits=False)
    for col, (_, key, _) in enumerate(_PAST_TARGET_COLUMNS, start=1):
        cell = sh.put(top + 1, col, m(key), bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = _WRAP
    row = top + 1
    planned_col = 1 + [c for c, _, _ in _PAST_TARGET_COLUMNS].index("planned_share")
    actual_col = 1 + [c for c, _, _ in _PAST_TARGET_COLUMNS].index("actual_share")
    for r in t.to_dict("records"):
        row += 1
        for col, (name, _, fmt) in enumerate(_PAST_TARGET_COLUMNS, start=1):
            value = clean(r.get(name))
            if name == "met":
                met = bool(value)
                cell = sh.put(
                    row, col, m("workbook.replan.met_yes" if met else "workbook.replan.met_no")
                )
                if not met:
                    cell.font = _WARNING
            elif name == "gap_points":
                p, a = sh.ref(row, planned_col), sh.ref(row, actual_col)
                sh.put(row, col, Formula(f'=IF(OR({a}="",{p}=""),"",100*({a}-{p}))', value), fmt)
            elif name == "basis":
                sh.put(row, col, _basis(m, value))
            elif name == "target":
                sh.put(row, col, str(value))
            else:
                sh.put(row, col, value, fmt)
    return row


# ----------------------------------------------------------------------------- targets
_TARGET_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("target", "workbook.targets.target", None),
    ("label", "workbook.targets.label", None),
    ("year", "workbook.targets.year", WHOLE),
    ("min_level", "workbook.targets.level", WHOLE),
    ("required_share", "workbook.targets.required_share", SHARE),
    ("required_count", "workbook.targets.required_count", PEOPLE),
    ("base_people", "workbook.targets.base", PEOPLE),
    ("expected_people", "workbook.targets.expected_people", PEOPLE),
    ("expected_share", "workbook.targets.expected_share", PROBABILITY),
    ("probability_met", "workbook.targets.probability", PROBABILITY),
    ("probability_low95", "workbook.targets.low95", PROBABILITY),
    ("probability_high95", "workbook.targets.high95", PROBABILITY),
    ("met", "workbook.targets.met", None),
)
_JOINT_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("scope", "workbook.targets.scope", None),
    ("targets", "workbook.targets.count", WHOLE),
    ("probability_all_met", "workbook.targets.probability_all", PROBABILITY),
    ("probability_all_met_low95", "workbook.targets.low95", PROBABILITY),
    ("probability_all_met_high95", "workbook.targets.high95", PROBABILITY),
)


def _write_targets(sh: _Sheet, data: ReportData, m: Messages) -> None:
    """Each target at its year: what is required, what the plan is expected to reach, and (for
    a simulated plan) the probability it is met; then every target of a scope together."""
    sh.header(1, [m(key) for _, key, _ in _TARGET_COLUMNS])
    rows = data.targets.to_dict("records") if not data.targets.empty else []
    for i, r in enumerate(rows):
        for col, (name, _, fmt) in enumerate(_TARGET_COLUMNS, start=1):
            value = r[name]
            if name == "met":
                value = m("workbook.targets.met_yes" if value else "workbook.targets.met_no")
            elif name in ("target", "label"):
                value = str(value)
            elif missing(value):
                value = None  # no probability (an optimiser's run) or no count: left blank
            sh.put(2 + i, col, value, fmt)
    row = 1 + len(rows)
    if data.kind != "plan" and rows:
        row += 2
        sh.put(row, 1, m("workbook.targets.no_probability"), fits=False)
    if data.joint.empty:
        return
    row += 2
    sh.put(row, 1, m("workbook.targets.joint_heading"), bold=True)
    row += 1
    for col, (_, key, _) in enumerate(_JOINT_COLUMNS, start=1):
        cell = sh.put(row, col, m(key), bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = _WRAP
    for r in data.joint.to_dict("records"):
        row += 1
        for col, (name, _, fmt) in enumerate(_JOINT_COLUMNS, start=1):
            value = r[name]
            if name == "scope":
                scope = str(value)
                value = (
                    m("workbook.targets.scope_all")
                    if scope == "all"
                    else m("workbook.targets.scope_year", year=scope)
                )
            sh.put(row, col, None if missing(value) else value, fmt)


# ----------------------------------------------------------------------------- assumptions
def _write_assumptions(sh: _Sheet, data: ReportData, m: Messages) -> None:
    """Every sourced number of the scenario, with its range and distribution when it is drawn."""
    sh.header(
        1,
        [
            m("workbook.assumptions.path"),
            m("workbook.assumptions.value"),
            m("workbook.assumptions.low"),
            m("workbook.assumptions.high"),
            m("workbook.assumptions.distribution"),
            m("workbook.assumptions.source"),
        ],
    )
    for i, r in enumerate(data.assumptions.to_dict("records")):
        row = 2 + i
        path = str(r["path"])
        sh.put(row, 1, path)
        for col, name in ((2, "value"), (3, "low"), (4, "high")):
            value = clean(r[name])
            if isinstance(value, int | float) and not isinstance(value, bool):
                sh.put(row, col, float(value), _number_format(path, float(value)))
            elif value is not None:
                sh.put(row, col, value if isinstance(value, bool) else str(value))
        distribution = str(r["distribution"] or "")
        if distribution:
            sh.put(row, 5, _word(m, DISTRIBUTION_KEYS, distribution))
        sh.put(row, 6, str(r["source"] or ""))


def _number_format(path: str, x: float) -> str:
    """Whole numbers with thousands separators (headcounts, fees), but years without; fractions
    as they are."""
    if "year" in path.rsplit(".", 1)[-1] or ".milestones." in path:
        return WHOLE
    return PEOPLE if x.is_integer() and abs(x) >= 1000 else NUMBER
