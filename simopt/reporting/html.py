"""One self-contained HTML report of a run, in Vietnamese or English, printable on A4.

Everything the page needs is inside it: the charts as ``data:image/png;base64`` images, the style
sheet inline, no script, no font or image fetched from anywhere — the report is mailed between
provincial departments and opened on machines that may be offline. Every text of the scenario
(labels, sources, ids) is escaped; every word of the report comes from the catalogue.

The same data gives the same bytes: no date or host is written, only what the run rests on.
"""

from __future__ import annotations

import base64
import math
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from importlib import metadata
from typing import Any, cast

import pandas as pd

from simopt.reporting.charts import charts
from simopt.reporting.data import ReportData
from simopt.reporting.i18n import TY, Messages, check_lang, messages

DRIVERS_PER_TARGET = 3
"""The assumptions shown per target: the first few carry most of the swing."""

ASSUMPTION_WORD = "assumption"
"""Scenario files mark a number that no document states by starting its source with this."""


class Markup(str):
    """Text that is already HTML: inserted as it is, where any other text is escaped."""


def _h(x: Any) -> str:
    """Escaped text for HTML; markup built here passes through."""
    if isinstance(x, Markup):
        return str(x)
    return escape("" if x is None else str(x), quote=True)


def _id(text: Any) -> Markup:
    """An id or a dotted path, allowed to break after its underscores and dots, so that a long
    one wraps in a narrow column without being cut mid-word."""
    escaped = _h(text)
    return Markup(escaped.replace("_", "_<wbr>").replace(".", ".<wbr>"))


def _finite(x: Any) -> bool:
    """A number that is there: not None, not NaN, not infinite (nor a bool or a text)."""
    return _float(x) is not None


def _float(x: Any) -> float | None:
    """``x`` as a float when it is a finite number, else None."""
    if x is None or isinstance(x, bool | str):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


CSS = """
@page { size: A4; margin: 16mm 13mm 18mm 13mm;
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 8pt; color: #444; } }
:root { color-scheme: light; }
* { box-sizing: border-box; }
html { font-size: 10pt; }
body { font-family: "DejaVu Sans", "Noto Sans", "Segoe UI", Arial, sans-serif; color: #111;
  background: #fff; line-height: 1.4; margin: 0 auto; max-width: 190mm; padding: 8mm 4mm; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 7mm 0 2mm; border-bottom: 1.5pt solid #111; padding-bottom: 1mm; }
h3 { font-size: 11pt; margin: 5mm 0 1.5mm; }
h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
h2 + p, h3 + p { break-after: avoid; page-break-after: avoid; }
p { margin: 1.5mm 0; }
.subtitle { font-size: 11pt; margin: 0 0 4mm; }
.note { font-size: 8.5pt; color: #333; }
.status { font-size: 12pt; font-weight: bold; border: 1.2pt solid #111; padding: 2mm 3mm;
  margin: 2mm 0 3mm; }
.status.bad { border-style: dashed; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 3mm; font-size: 8.5pt; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 1mm; }
th, td { border: 0.6pt solid #777; padding: 0.8mm 1.5mm; vertical-align: top; }
th { background: #e6e6e6; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tbody tr:nth-child(even) { background: #f5f5f5; }
tr.total td { font-weight: bold; border-top: 1.2pt solid #111; }
table.facts th { width: 42%; }
thead { display: table-header-group; }
tr, img, figure, .status { break-inside: avoid; page-break-inside: avoid; }
.flag { font-weight: bold; white-space: nowrap; }
tr.below td { font-weight: bold; }
.badge { display: inline-block; border: 0.8pt solid #111; padding: 0 1mm; font-size: 7.5pt;
  font-weight: bold; white-space: nowrap; }
.badge.sourced { border-style: dotted; font-weight: normal; }
td.path, td.id { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt;
  overflow-wrap: break-word; }
td.source { font-size: 7.5pt; }
figure { margin: 3mm 0; }
img.chart { display: block; margin: 0 auto; max-width: 100%; max-height: 235mm; width: auto;
  height: auto; }
footer { margin-top: 8mm; border-top: 0.8pt solid #111; padding-top: 2mm; font-size: 8.5pt; }
@media print {
  body { max-width: none; padding: 0; }
  section.page { break-before: page; page-break-before: always; }
  tbody tr:nth-child(even) { background: #f2f2f2; }
}
"""


# ----------------------------------------------------------------------------- building blocks
def _table(
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[bool] | None = None,
    row_classes: Sequence[str] | None = None,
    cell_classes: Sequence[str] | None = None,
    caption: str | None = None,
    table_class: str = "",
) -> str:
    """A table; ``numeric`` right-aligns columns, ``cell_classes`` names columns' styles."""
    n = len(headers)
    num = list(numeric) if numeric is not None else [False] * n
    cells = list(cell_classes) if cell_classes is not None else [""] * n

    def cls(i: int) -> str:
        names = " ".join(c for c in ("num" if num[i] else "", cells[i]) if c)
        return f' class="{names}"' if names else ""

    out = [f'<table class="{table_class}">' if table_class else "<table>"]
    if caption:
        out.append(f"<caption>{_h(caption)}</caption>")
    out.append("<thead><tr>")
    out += [f'<th scope="col"{cls(i)}>{_h(h)}</th>' for i, h in enumerate(headers)]
    out.append("</tr></thead><tbody>")
    for k, row in enumerate(rows):
        rc = row_classes[k] if row_classes is not None and k < len(row_classes) else ""
        out.append(f'<tr class="{rc}">' if rc else "<tr>")
        out += [f"<td{cls(i)}>{_h(v)}</td>" for i, v in enumerate(row)]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _facts(rows: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of label → value."""
    body = "".join(f'<tr><th scope="row">{_h(k)}</th><td>{_h(v)}</td></tr>' for k, v in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header, so the page reserves the image's room."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _figure(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    width, height = _png_size(png)
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img class="chart" src="{src}" alt="{_h(alt)}" width="{width}" '
        f'height="{height}"></figure>'
    )


def _ty(m: Messages, amount: Any) -> str:
    """Money in tỷ đồng with two decimals, for table cells under a header naming the unit."""
    return m.number(float(amount) / TY, 2) if _finite(amount) else "—"


def _money(m: Messages, amount: float | None) -> str:
    """A headline amount: tỷ đồng, and to the đồng in brackets."""
    if not _finite(amount):
        return "—"
    return f"{m.ty(amount)} ({m.vnd(amount)})"


def _probability(m: Messages, p: Any, low: Any, high: Any) -> str:
    if not _finite(p):
        return "—"
    interval = m.interval(float(low), float(high)) if _finite(low) and _finite(high) else ""
    return f"{m.share(float(p))} {interval}".strip()


def _decimal(m: Messages, x: float) -> str:
    """A stated number as written: whole numbers with separators, others to four decimals."""
    from babel.numbers import format_decimal

    if float(x).is_integer():
        return m.number(x, 0)
    return str(format_decimal(x, format="#,##0.####", locale=m.lang))


def _value(m: Messages, path: str, value: Any) -> str:
    """An assumption's value: years as years (2025, never 2.025), numbers in the language's
    format, texts as the scenario writes them."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return m("report.value.yes") if value else m("report.value.no")
    if isinstance(value, int | float):
        last = path.rsplit(".", 1)[-1]
        if ("year" in last or ".milestones." in path) and float(value).is_integer():
            return str(int(value))
        return _decimal(m, float(value))
    return str(value)


def _flag(text: str) -> Markup:
    """A warning a reader must not miss, in bold with a mark, so it survives black-and-white
    printing."""
    return Markup(f'<span class="flag">▼ {_h(text)}</span>')


def _is_assumption(source: Any) -> bool:
    """A number no document states: its source starts with "assumption", or it has none."""
    text = str(source or "").strip()
    return not text or text.lower().startswith(ASSUMPTION_WORD)


def _text(m: Messages, key: str, fallback: str, **fields: Any) -> str:
    """A catalogue text whose key is built at run time (a status word); the word itself when
    the catalogue has no text for it."""
    return m(key, **fields) if m.has(key) else fallback


# ------------------------------------------------------------------------------------ sections
def _kind(data: ReportData, m: Messages) -> str:
    return m("report.kind.plan") if data.kind == "plan" else m("report.kind.optimize")


def _question(data: ReportData, m: Messages) -> str:
    q = data.question
    rows: list[tuple[str, Any]] = [
        (m("report.question.scenario"), data.scenario),
        (m("report.question.title"), data.title),
        (m("report.question.horizon"), f"{data.start_year}–{data.end_year}"),
        (m("report.question.kind"), _kind(data, m)),
    ]
    if data.kind == "plan":
        conf = q.get("confidence")
        ask = m(
            "report.question.plan_joint" if q.get("joint") else "report.question.plan_each",
            confidence=m.share(conf),
        )
        scope = m("report.question.scope_joint" if q.get("joint") else "report.question.scope_each")
        uncertainty = str(q.get("uncertainty", ""))
        rows += [
            (m("report.question.confidence"), m.share(conf) if _finite(conf) else "—"),
            (m("report.question.scope"), scope),
            (
                m("report.question.uncertainty"),
                _text(m, "report.uncertainty." + uncertainty, uncertainty),
            ),
            (m("report.question.replications"), m.number(q.get("replications"))),
            (m("report.question.seed"), str(q.get("seed", "—"))),
        ]
    else:
        ask = m("report.question.optimize")
        if q.get("solver"):
            rows.append((m("report.question.solver"), str(q["solver"])))
    ceiling = _float(q.get("ceiling_vnd_per_year"))
    if ceiling is not None:
        rows.append((m("report.question.ceiling"), _money(m, ceiling)))
    elif not data.ceilings.empty:
        rows.append((m("report.question.ceiling"), m("report.question.scenario_ceiling")))
    else:
        rows.append((m("report.question.ceiling"), m("report.question.no_ceiling")))
    return (
        f'<section id="question"><h2>{_h(m("report.question.heading"))}</h2>'
        f"<p>{_h(ask)}</p>{_facts(rows)}</section>"
    )


def _status_text(data: ReportData, m: Messages) -> str:
    q = data.question
    word = data.status
    key = "report.status." + data.kind + "." + word
    if data.kind == "plan" and word == "met" and q.get("joint"):
        key += "_joint"
    conf = q.get("confidence")
    return _text(
        m,
        key,
        m("report.status.other", status=word),
        confidence=m.share(conf) if _finite(conf) else "—",
    )


def _answer(data: ReportData, m: Messages) -> str:
    good = data.status in ("met", "optimal")
    out = [
        f'<section id="answer"><h2>{_h(m("report.answer.heading"))}</h2>',
        f'<p class="status{"" if good else " bad"}">{_h(_status_text(data, m))}</p>',
    ]
    if data.message:
        out.append(
            f'<p class="note">{_h(m("report.answer.detail"))} '
            f'<span lang="en">{_h(data.message)}</span></p>'
        )
    rows: list[tuple[str, Any]] = [
        (m("report.answer.total_cost"), _money(m, data.total_cost_vnd)),
        (m("report.answer.public_cost"), _money(m, data.public_cost_vnd)),
    ]
    if not data.schedule.empty:
        rows.append((m("report.answer.people"), m.people(float(data.schedule["enrolments"].sum()))))
    expected, total = _float(data.expected_cost_vnd), _float(data.total_cost_vnd)
    if data.kind == "plan" and expected is not None:
        rows.append((m("report.answer.expected_cost"), _money(m, expected)))
        if total is not None and expected > 0:
            extra = total - expected
            rows.append(
                (
                    m("report.answer.premium"),
                    m(
                        "report.answer.premium_value",
                        amount=m.ty(extra),
                        share=m.share(extra / expected, 1),
                    ),
                )
            )
    premium = data.rounding_premium_vnd
    if premium is not None and _finite(premium):
        rows.append((m("report.answer.rounding"), _money(m, premium)))
    if data.kind == "plan" and not data.joint.empty:
        for r in data.joint.to_dict("records"):
            scope = str(r["scope"])
            label = (
                m("report.answer.all_met")
                if scope == "all"
                else m("report.answer.milestone_met", year=scope)
            )
            rows.append(
                (
                    label,
                    _probability(
                        m,
                        r.get("probability_all_met"),
                        r.get("probability_all_met_low95"),
                        r.get("probability_all_met_high95"),
                    ),
                )
            )
            if scope == "all" and _finite(r.get("lowest_probability_met")):
                rows.append(
                    (m("report.answer.lowest"), m.share(float(r["lowest_probability_met"])))
                )
    out.append(_facts(rows))
    simulated = not data.joint.empty or (
        not data.targets.empty and bool(data.targets["probability_met"].notna().any())
    )
    if data.kind == "plan" and simulated:
        out.append(f'<p class="note">{_h(m("report.answer.interval_note"))}</p>')
    elif data.kind != "plan":
        out.append(f"<p><strong>{_h(m('report.answer.expectation_only'))}</strong></p>")
    for note in data.notes:
        out.append(f'<p class="note" lang="en">{_h(note)}</p>')
    out.append("</section>")
    return "".join(out)


# ------------------------------------------------------------------------------ the re-plan
REPLAN_MEASURES = ("enrolments", "exam_passes", "spending_vnd")
"""The variance table's measures, in the order their columns are shown."""
_SURVEY_BASIS = re.compile(r"^survey (\d{4})$")


def _years(years: Sequence[int]) -> str:
    """A span of years as written in headings: 2021–2025, or one year on its own."""
    if not years:
        return "—"
    first, last = min(years), max(years)
    return str(first) if first == last else f"{first}–{last}"


def _signed(m: Messages, x: float, digits: int = 0) -> str:
    """A difference with its sign (a true minus, never a hyphen): +12, −3, 0."""
    shown = m.number(abs(x), digits)
    if round(abs(x), digits) == 0:
        return shown
    return ("+" if x > 0 else "−") + shown


def _basis(m: Messages, basis: Any) -> Any:
    """The library's basis words in the report's language; one it does not know, as written
    (in English, marked so)."""
    text = str(basis or "")
    survey = _SURVEY_BASIS.match(text)
    if survey:
        return m("report.replan.basis.survey", year=survey.group(1))
    known = {
        "recorded": "report.replan.basis.recorded",
        "not recorded": "report.replan.basis.not_recorded",
        "projected from recorded enrolments": "report.replan.basis.projected",
    }
    if text in known:
        return m(known[text])
    return Markup(f'<span lang="en">{_h(text)}</span>') if text else "—"


def _replan(data: ReportData, m: Messages) -> str:
    """A re-plan's past: planned against actual by year, the past targets judged on the record,
    the people carried into the first year planned, and what the re-plan rests on."""
    year = data.replan_from_year
    v = data.planned_vs_actual
    past = sorted({int(y) for y in v["year"]}) if not v.empty and "year" in v.columns else []
    if not past and not data.past_targets.empty:
        past = sorted({int(y) for y in data.past_targets["year"]})
    span = _years(past)
    out = [
        f'<section id="replan"><h2>{_h(m("report.replan.heading", years=span))}</h2>',
    ]
    if data.record_illustrative:
        out.append(f'<p class="status bad">{_h(m("report.replan.illustrative"))}</p>')
    out.append(f"<p>{_h(m('report.replan.intro', year=year, years=span))}</p>")
    out.append(_variance(data, m, past))
    out.append(_past_targets(data, m))
    if data.people_in_training is not None:
        out.append(f"<h3>{_h(m('report.replan.start_heading', year=year))}</h3>")
        start = m("report.replan.start", year=year, people=m.people(data.people_in_training))
        out.append(f"<p>{_h(start)}</p>")
    if data.replan_notes:
        out.append(f"<h3>{_h(m('report.replan.notes_heading'))}</h3>")
        items = "".join(f"<li>{_h(n)}</li>" for n in data.replan_notes)
        out.append(f'<ul class="note" lang="en">{items}</ul>')
    out.append("</section>")
    return "".join(out)


def _variance(data: ReportData, m: Messages, past: Sequence[int]) -> str:
    """One row per past year; for each measure, planned, actual and their difference."""
    v = data.planned_vs_actual
    need = {"year", "measure", "planned", "actual"}
    if v.empty or not need <= set(v.columns):
        return ""
    cells = {(int(r["year"]), str(r["measure"])): r for r in v.to_dict("records")}
    # a figure the record does not hold, in words (in italics: it is no number); its
    # difference is a dash
    not_recorded = Markup(f"<em>{_h(m('report.replan.not_recorded'))}</em>")

    def shown(measure: str, x: Any, signed: bool = False) -> Any:
        f = _float(x)
        if f is None:
            return "—" if signed else not_recorded
        money = measure == "spending_vnd"
        amount = f / TY if money else f
        if signed:
            return _signed(m, amount, 2 if money else 0)
        return m.number(amount, 2) if money else m.people(amount)

    rows: list[list[Any]] = []
    for y in past:
        row: list[Any] = [str(y)]
        for measure in REPLAN_MEASURES:
            r = cells.get((y, measure))
            if r is None:
                row += ["—", "—", "—"]
                continue
            actual = _float(r["actual"])
            planned = _float(r["planned"])
            difference = (
                actual - planned if actual is not None and planned is not None else math.nan
            )
            row += [
                shown(measure, r["planned"]),
                shown(measure, r["actual"]),
                shown(measure, difference, signed=True),
            ]
        rows.append(row)
    groups = [
        m("report.replan.col.enrolments"),
        m("report.replan.col.passes"),
        m("report.replan.col.spending"),
    ]
    sub = [
        m("report.replan.col.planned"),
        m("report.replan.col.actual"),
        m("report.replan.col.difference"),
    ]
    head = [
        "<table>",
        f"<caption>{_h(m('report.replan.caption'))}</caption>",
        "<thead><tr>",
        f'<th scope="col" rowspan="2">{_h(m("report.col.year"))}</th>',
        *(f'<th scope="colgroup" colspan="3">{_h(g)}</th>' for g in groups),
        "</tr><tr>",
        *(f'<th scope="col" class="num">{_h(h)}</th>' for _ in groups for h in sub),
        "</tr></thead><tbody>",
    ]
    # numbers are right-aligned on one line; the words "not recorded" may wrap
    body = [
        "<tr>"
        + "".join(
            f'<td class="num">{_h(c)}</td>'
            if i and not isinstance(c, Markup)
            else f"<td>{_h(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    ]
    out = ["".join([*head, *body, "</tbody></table>"])]
    out.append(f'<p class="note">{_h(m("report.replan.variance_note"))}</p>')
    sources = []
    if "source" in v.columns:
        for src in v["source"]:
            text = str(src or "").strip()
            if text and text not in sources:
                sources.append(text)
    if sources:
        out.append(
            f'<p class="note">{_h(m("report.replan.sources", sources=" · ".join(sources)))}</p>'
        )
    return "".join(out)


def _past_targets(data: ReportData, m: Messages) -> str:
    """Each target of a past year: planned share, actual share, the gap, met or missed."""
    t = data.past_targets
    if t.empty or not {"target", "year", "planned_share", "actual_share", "met"} <= set(t.columns):
        return ""
    rows: list[list[Any]] = []
    row_classes: list[str] = []
    for r in t.to_dict("records"):
        met = bool(r["met"])
        gap = _float(r.get("gap_points"))
        verdict: Any = f"✓ {m('report.replan.met')}" if met else _flag(m("report.replan.missed"))
        required = _float(r.get("required_share"))
        rows.append(
            [
                _id(r["target"]),
                str(int(r["year"])),
                str(int(r["min_level"])) if _finite(r.get("min_level")) else "—",
                m.share(required) if required is not None else "—",
                m.share(_float(r["planned_share"]), 1),
                m.share(_float(r["actual_share"]), 1),
                _signed(m, gap, 1) if gap is not None else "—",
                verdict,
                _basis(m, r.get("basis")),
            ]
        )
        row_classes.append("" if met else "below")
    return (
        f"<h3>{_h(m('report.replan.targets_heading'))}</h3>"
        f"<p>{_h(m('report.replan.targets_intro'))}</p>"
        + _table(
            [
                m("report.col.target"),
                m("report.col.year"),
                m("report.col.level"),
                m("report.col.required"),
                m("report.replan.col.planned_share"),
                m("report.replan.col.actual_share"),
                m("report.replan.col.gap"),
                m("report.col.judgement"),
                m("report.replan.col.basis"),
            ],
            rows,
            numeric=[False, False, True, True, True, True, True, False, False],
            row_classes=row_classes,
            cell_classes=["id", *([""] * 8)],
            caption=m("report.replan.targets_caption"),
        )
    )


def _schedule(data: ReportData, m: Messages, pngs: dict[str, bytes]) -> str:
    out = [f'<section id="schedule" class="page"><h2>{_h(m("report.schedule.heading"))}</h2>']
    s = data.schedule
    if s.empty:
        out.append(f"<p>{_h(m('report.schedule.empty'))}</p></section>")
        return "".join(out)
    out.append(f"<p>{_h(m('report.schedule.intro'))}</p>")
    years = sorted(int(y) for y in s["year"].unique())
    people = s.pivot_table(
        index=["course", "group"],
        columns="year",
        values="enrolments",
        aggfunc="sum",
        fill_value=0,
        sort=False,
    )
    people = people.reindex(columns=years, fill_value=0.0)
    headers: list[Any] = [m("report.col.course"), m("report.col.group"), *map(str, years)]
    headers.append(m("report.col.total"))
    rows: list[list[Any]] = []
    for key, r in people.sort_index(level=0, sort_remaining=False).iterrows():
        course, group = cast(tuple[Any, Any], key)
        values = [float(r[y]) for y in years]
        rows.append(
            [
                _id(course),
                _id(group),
                *(m.people(v) if round(v) else "" for v in values),
                m.people(sum(values)),
            ]
        )
    totals = [float(people[y].sum()) for y in years]
    rows.append([m("report.col.total"), "", *(m.people(v) for v in totals), m.people(sum(totals))])
    numeric = [False, False, *([True] * (len(years) + 1))]
    classes = [""] * (len(rows) - 1) + ["total"]
    out.append(
        _table(
            headers,
            rows,
            numeric=numeric,
            row_classes=classes,
            cell_classes=["id", "id", *([""] * (len(years) + 1))],
            caption=m("report.schedule.caption"),
        )
    )
    out.append(_figure(pngs.get("schedule"), m("charts.schedule.title")))
    c = data.classes
    if not c.empty and {"year", "course", "trainees", "class_size", "classes"} <= set(c.columns):
        crow = [
            [
                str(int(r["year"])),
                r["course"],
                m.people(r["trainees"]),
                m.people(r["class_size"]),
                m.people(r["classes"]),
            ]
            for r in c.to_dict("records")
        ]
        out.append(
            _table(
                [
                    m("report.col.year"),
                    m("report.col.course"),
                    m("report.col.trainees"),
                    m("report.col.class_size"),
                    m("report.col.classes"),
                ],
                crow,
                numeric=[False, False, True, True, True],
                caption=m("report.schedule.classes"),
            )
        )
    out.append("</section>")
    return "".join(out)


def _budget(data: ReportData, m: Messages, pngs: dict[str, bytes]) -> str:
    out = [f'<section id="budget" class="page"><h2>{_h(m("report.budget.heading"))}</h2>']
    wide = data.budget_by_year()
    if wide.empty:
        out.append(f"<p>{_h(m('report.budget.empty'))}</p></section>")
        return "".join(out)
    out.append(f"<p>{_h(m('report.budget.intro'))}</p>")
    caps = (
        {
            int(y): float(v)
            for y, v in zip(data.ceilings["year"], data.ceilings["ceiling_vnd"], strict=True)
        }
        if not data.ceilings.empty
        else {}
    )
    headers: list[Any] = [m("report.col.year")]
    headers += [
        m("report.budget.public_source", name=s.name) if s.public else s.name for s in data.sources
    ]
    headers += [m("report.col.public"), m("report.col.total")]
    if caps:
        headers += [m("report.col.ceiling"), m("report.col.within")]
    rows: list[list[Any]] = []
    row_classes: list[str] = []
    for r in wide.to_dict("records"):
        year = int(r["year"])
        row: list[Any] = [str(year), *(_ty(m, r[s.id]) for s in data.sources)]
        row += [_ty(m, r["public_cost_vnd"]), _ty(m, r["cost_vnd"])]
        cls = ""
        if caps:
            cap = caps.get(year)
            if cap is None:
                row += ["—", ""]
            else:
                over = float(r["public_cost_vnd"]) - cap
                # the optimiser keeps spending within the ceiling up to its solver's tolerance
                if over > 1e-6 * max(cap, 1.0):
                    row += [
                        _ty(m, cap),
                        _flag(m("report.budget.over", amount=m.ty(over))),
                    ]
                    cls = "below"
                else:
                    row += [_ty(m, cap), m("report.budget.within")]
        rows.append(row)
        row_classes.append(cls)
    total_row: list[Any] = [m("report.col.total")]
    total_row += [_ty(m, wide[s.id].sum()) for s in data.sources]
    total_row += [_ty(m, wide["public_cost_vnd"].sum()), _ty(m, wide["cost_vnd"].sum())]
    if caps:
        total_row += ["", ""]
    rows.append(total_row)
    row_classes.append("total")
    n = len(headers)
    out.append(
        _table(
            headers,
            rows,
            numeric=[False, *([True] * (n - 1 - (1 if caps else 0))), *([False] if caps else [])],
            row_classes=row_classes,
            caption=m("report.budget.caption"),
        )
    )
    out.append(_phases(data, m, wide))
    out.append(_figure(pngs.get("budget"), m("charts.budget.title")))
    if "frontier" in pngs:
        out.append(f"<h3>{_h(m('report.budget.frontier'))}</h3>")
        out.append(_figure(pngs["frontier"], m("charts.frontier.title")))
    out.append("</section>")
    return "".join(out)


def _phases(data: ReportData, m: Messages, wide: pd.DataFrame) -> str:
    """Per phase: people by the year they enter, money by the year it is spent."""
    rows: list[list[Any]] = []
    s = data.schedule
    for p in data.phases:
        in_phase = (wide["year"] >= p.first_year) & (wide["year"] <= p.last_year)
        people = (
            float(
                s.loc[(s["year"] >= p.first_year) & (s["year"] <= p.last_year), "enrolments"].sum()
            )
            if not s.empty
            else 0.0
        )
        rows.append(
            [
                p.label,
                m.people(people),
                _ty(m, wide.loc[in_phase, "public_cost_vnd"].sum()),
                _ty(m, wide.loc[in_phase, "cost_vnd"].sum()),
            ]
        )
    people_all = float(s["enrolments"].sum()) if not s.empty else 0.0
    rows.append(
        [
            m("report.col.total"),
            m.people(people_all),
            _ty(m, wide["public_cost_vnd"].sum()),
            _ty(m, wide["cost_vnd"].sum()),
        ]
    )
    return _table(
        [
            m("report.col.phase"),
            m("report.col.people"),
            m("report.col.public"),
            m("report.col.total"),
        ],
        rows,
        numeric=[False, True, True, True],
        row_classes=[""] * (len(rows) - 1) + ["total"],
        caption=m("report.budget.phases"),
    )


def _risks(data: ReportData, m: Messages, pngs: dict[str, bytes]) -> str:
    out = [f'<section id="risks" class="page"><h2>{_h(m("report.risks.heading"))}</h2>']
    conf = data.question.get("confidence")
    simulated = (
        data.kind == "plan"
        and not data.targets.empty
        and bool(data.targets["probability_met"].notna().any())
    )
    if simulated:
        out.append(f"<p>{_h(m('report.risks.intro_plan', confidence=m.share(conf)))}</p>")
    else:
        out.append(f"<p>{_h(m('report.risks.intro_optimize'))}</p>")
    t = data.targets
    if not t.empty:
        headers = [
            m("report.col.target"),
            m("report.col.label"),
            m("report.col.year"),
            m("report.col.level"),
            m("report.col.required"),
            m("report.col.expected_people"),
            m("report.col.expected_share"),
        ]
        if simulated:
            headers.append(m("report.col.probability"))
        headers.append(m("report.col.judgement"))
        rows: list[list[Any]] = []
        row_classes: list[str] = []
        for r in t.to_dict("records"):
            required = []
            if _finite(r["required_share"]):
                required.append(m.share(float(r["required_share"])))
            if _finite(r["required_count"]):
                required.append(m("report.risks.at_least", count=m.people(r["required_count"])))
            row: list[Any] = [
                _id(r["target"]),
                r["label"],
                str(int(r["year"])),
                str(int(r["min_level"])) if _finite(r["min_level"]) else "—",
                ", ".join(required) or "—",
                m.people(r["expected_people"]),
                m.share(float(r["expected_share"]), 1) if _finite(r["expected_share"]) else "—",
            ]
            below = False
            if simulated:
                p, c = _float(r["probability_met"]), _float(conf)
                row.append(_probability(m, p, r["probability_low95"], r["probability_high95"]))
                below = p is not None and c is not None and p < c
                judgement = (
                    m("report.risks.below", confidence=m.share(conf))
                    if below
                    else m("report.risks.at_or_above", confidence=m.share(conf))
                )
            else:
                below = not bool(r["met"])
                judgement = m("report.risks.unmet" if below else "report.risks.met")
            row.append(_flag(judgement) if below else judgement)
            rows.append(row)
            row_classes.append("below" if below else "")
        n = len(headers)
        out.append(
            _table(
                headers,
                rows,
                numeric=[
                    False,
                    False,
                    False,
                    True,
                    False,
                    True,
                    True,
                    *([True] if simulated else []),
                    False,
                ][:n],
                row_classes=row_classes,
                cell_classes=["id", *([""] * (n - 1))],
                caption=m("report.risks.caption"),
            )
        )
    out.append(_figure(pngs.get("attainment"), m("charts.attainment.title")))
    out.append(_drivers(data, m))
    out.append(_price(data, m))
    out.append("</section>")
    return "".join(out)


def _drivers(data: ReportData, m: Messages) -> str:
    d = data.drivers
    need = {"target", "path", "swing_people"}
    if d.empty or not need <= set(d.columns):
        return ""
    rows: list[list[Any]] = []
    for target, g in d.groupby("target", sort=False):
        top = g.sort_values("swing_people", ascending=False, kind="stable").head(DRIVERS_PER_TARGET)
        for r in top.to_dict("records"):
            ends = [r.get("low_value"), r.get("high_value")]
            if r.get("quantity") == "certified share":
                # a level table moves as the share certified at the target's level
                shown = [m.share(_float(v), 1) for v in ends]
            else:
                shown = [_value(m, str(r["path"]), v) for v in ends]
            rows.append([_id(target), _id(r["path"]), *shown, m.people(r["swing_people"])])
    intro = m("report.drivers.intro", count=DRIVERS_PER_TARGET)
    return f"<h3>{_h(m('report.drivers.heading'))}</h3><p>{_h(intro)}</p>" + _table(
        [
            m("report.col.target"),
            m("report.col.assumption"),
            m("report.col.low_value"),
            m("report.col.high_value"),
            m("report.col.swing"),
        ],
        rows,
        numeric=[False, False, True, True, True],
        cell_classes=["id", "path", "", "", ""],
    )


def _price(data: ReportData, m: Messages) -> str:
    p = data.price
    if p.empty or not {"confidence", "kind", "cost_vnd"} <= set(p.columns):
        return ""
    rows: list[list[Any]] = []
    for r in p.to_dict("records"):
        kind = str(r["kind"])
        status = str(r.get("status", ""))
        rows.append(
            [
                m.share(float(r["confidence"])),
                _text(m, "report.price.kind." + kind, kind),
                _text(m, "report.price.status." + status, status),
                _ty(m, r.get("cost_vnd")),
                _ty(m, r.get("extra_cost_vnd")),
                _probability(
                    m,
                    r.get("probability_all_met"),
                    r.get("probability_all_met_low95"),
                    r.get("probability_all_met_high95"),
                ),
            ]
        )
    return f"<h3>{_h(m('report.price.heading'))}</h3><p>{_h(m('report.price.intro'))}</p>" + _table(
        [
            m("report.col.confidence"),
            m("report.col.asked_of"),
            m("report.col.status"),
            m("report.col.cost_ty"),
            m("report.col.extra_ty"),
            m("report.col.all_met"),
        ],
        rows,
        numeric=[True, False, False, True, True, True],
    )


def _assumptions(data: ReportData, m: Messages) -> str:
    a = data.assumptions
    out = [f'<section id="assumptions" class="page"><h2>{_h(m("report.assumptions.heading"))}</h2>']
    if a.empty:
        out.append(f"<p>{_h(m('report.assumptions.empty'))}</p></section>")
        return "".join(out)
    assumed = [_is_assumption(s) for s in a["source"]]
    ranged = int((a["low"].notna() | (a["distribution"].astype(str) != "")).sum())
    out.append(
        "<p>"
        + _h(
            m(
                "report.assumptions.intro",
                count=m.number(len(a)),
                assumed=m.number(sum(assumed)),
                ranged=m.number(ranged),
            )
        )
        + "</p>"
    )
    rows: list[list[Any]] = []
    for r, is_assumed in zip(a.to_dict("records"), assumed, strict=True):
        path = str(r["path"])
        span = ""
        if _finite(r["low"]) and _finite(r["high"]):
            span = f"{_value(m, path, r['low'])} – {_value(m, path, r['high'])}"
        dist = str(r["distribution"] or "")
        if dist:
            span = f"{span} ({dist})" if span else dist
        badge = (
            f'<span class="badge">{_h(m("report.assumptions.assumed"))}</span>'
            if is_assumed
            else f'<span class="badge sourced">{_h(m("report.assumptions.sourced"))}</span>'
        )
        rows.append([_id(path), _value(m, path, r["value"]), span, Markup(badge), r["source"]])
    out.append(
        _table(
            [
                m("report.col.parameter"),
                m("report.col.value"),
                m("report.col.range"),
                m("report.col.kind"),
                m("report.col.source"),
            ],
            rows,
            numeric=[False, True, False, False, False],
            cell_classes=["path", "", "", "", "source"],
            row_classes=["assumed" if x else "" for x in assumed],
        )
    )
    out.append("</section>")
    return "".join(out)


def _footer(data: ReportData, m: Messages) -> str:
    q = data.question
    if data.kind == "plan":
        text = m(
            "report.footer.plan",
            scenario=data.scenario,
            replications=m.number(q.get("replications")),
            seed=str(q.get("seed", "—")),
        )
    else:
        text = m("report.footer.optimize", scenario=data.scenario)
    try:
        version = metadata.version("simopt")
    except metadata.PackageNotFoundError:
        version = "—"
    return (
        f"<footer><p>{_h(text)}</p>"
        f"<p>{_h(m('report.footer.made_by', version=version))}</p></footer>"
    )


# ------------------------------------------------------------------------------------- report
def render_report(
    data: ReportData, lang: str = "vi", *, images: Mapping[str, bytes] | None = None
) -> str:
    """The whole report as one HTML document: the question, the answer, the schedule, the budget,
    the risks and the assumptions, with the charts inside. A re-plan has one more section after
    the answer: planned against actual for the years of its record.

    ``images`` are the charts already rendered for this data and language (:func:`charts`), so
    that a run writing them as files as well draws them once; by default they are drawn here.
    """
    m = messages(check_lang(lang))
    pngs = dict(images) if images is not None else charts(data, lang)
    kind = _kind(data, m)
    head = (
        '<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>{title}</title>\n<style>{css}</style>\n</head>\n"
    ).format(
        lang=_h(lang),
        title=_h(f"{m('report.title')} — {data.scenario}"),
        css=CSS,
    )
    body = [
        "<body>\n<header>",
        f"<h1>{_h(m('report.title'))}</h1>",
        f'<p class="subtitle">{_h(data.title)} · {_h(kind)}</p>',
        "</header>\n<main>",
        _question(data, m),
        _answer(data, m),
        *([_replan(data, m)] if data.replan_from_year is not None else []),
        _schedule(data, m, pngs),
        _budget(data, m, pngs),
        _risks(data, m, pngs),
        _assumptions(data, m),
        "</main>",
        _footer(data, m),
        "</body>\n</html>\n",
    ]
    return head + "\n".join(body)
