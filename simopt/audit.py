"""Audit a plan's own arithmetic: recompute every stated figure from the figures it rests on.

A province's plan prints people, money, yearly averages and minimum counts that were worked out
by hand. :func:`audit` redoes each sum from the scenario's data and lists every disagreement as a
:class:`Finding`: which printed figure, what the arithmetic gives instead, and how. Where two
figures disagree, the finding names the one the other figures do not support, so a planner knows
which number to correct. The audit is pure: it reads a :class:`Scenario` and does no I/O.

Findings hold no prose. Each sentence is a :class:`Text`: a catalogue key (``audit.…`` in
``reporting/locale/<lang>/audit.po``) and the values that fill it — numbers as numbers, paths and
ids as strings, clauses and sums as nested texts — so that the same finding reads in Vietnamese
or English (:func:`render`), and a program reading ``simopt audit --json`` gets the figures
without parsing sentences. How a value is written follows from its field's name:

=====================================  ==========================================================
``year``, ``*_year``                   a calendar year, as is: 2025
``years``                              a number of years, with its word: 5 years / 5 năm
``share``, ``*_share``                 a percentage: 25%
``*_vnd``                              money: 87.472.000.000 đ
``*_people``                           people, with the word: 5.467 people / 5.467 người
``*_count``, ``n``                     a bare number: 5.467
any other number                       in the text's own ``unit`` field (people, vnd or year)
a list                                 its items, joined by the separator its name calls for
=====================================  ==========================================================
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, TypedDict

from simopt.reporting.i18n import DEFAULT_CLI_LANG, Messages, messages
from simopt.scenario import Scenario, StatedBudget, StatedPhase, Target

Severity = Literal["error", "warning", "note"]
Unit = Literal["people", "vnd", "year"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "note")

BASE_TOLERANCE = 0.05
"""Relative gap up to which an implied base and a headcount count as the same base: headcounts
drift a few percent over a phase (streamlining aims at −10% by 2030), a share of another base
does not come within 5% by chance."""

_EPS = 1e-6
"""Float noise in VND and people; every stated figure is far coarser than this."""

_WRAP = 100

FieldValue: TypeAlias = "str | int | float | list[FieldValue] | Text"
Fields: TypeAlias = "dict[str, FieldValue]"


class Text(TypedDict):
    """One catalogue sentence or clause, unrendered: ``{"key": "audit.…", "fields": {...}}``."""

    key: str
    fields: Fields


# Every key is written out whole, never assembled from parts, so that a test can list the keys
# the audit emits by reading this file and check that both catalogues have each of them.
_SEVERITY_KEYS: dict[Severity, str] = {
    "error": "audit.severity.error",
    "warning": "audit.severity.warning",
    "note": "audit.severity.note",
}
_KIND_KEYS: dict[str, str] = {
    "people_x_unit_cost": "audit.kind.people_x_unit_cost",
    "group_sum": "audit.kind.group_sum",
    "phase_sum": "audit.kind.phase_sum",
    "yearly_average": "audit.kind.yearly_average",
    "whole_people": "audit.kind.whole_people",
    "period": "audit.kind.period",
    "earmark": "audit.kind.earmark",
    "implied_base": "audit.kind.implied_base",
    "implied_base_drift": "audit.kind.implied_base_drift",
    "min_counts": "audit.kind.min_counts",
}
_PLURAL_KEYS: dict[str, tuple[str, str]] = {
    "year": ("audit.plural.year.one", "audit.plural.year.other"),
    "check": ("audit.plural.check.one", "audit.plural.check.other"),
    "finding": ("audit.plural.finding.one", "audit.plural.finding.other"),
    "error": ("audit.plural.error.one", "audit.plural.error.other"),
    "warning": ("audit.plural.warning.one", "audit.plural.warning.other"),
    "note": ("audit.plural.note.one", "audit.plural.note.other"),
}
_JOIN_KEYS: dict[str, str] = {
    "terms": "audit.join.plus",
    "matches": "audit.join.or",
}
_DEFAULT_JOIN_KEY = "audit.join.comma"
_TOO_KEYS: dict[tuple[str, bool], str] = {
    ("people", True): "audit.explain.already_found.too_many",
    ("people", False): "audit.explain.already_found.too_few",
    ("vnd", True): "audit.explain.already_found.too_much",
    ("vnd", False): "audit.explain.already_found.too_little",
}


def text(key: str, /, **fields: FieldValue) -> Text:
    """A :class:`Text`; whole numbers become ints and others keep 3 decimals, so the JSON reads
    like the plan (5467, not 5467.000000001)."""
    return {"key": key, "fields": {name: _clean_value(v) for name, v in fields.items()}}


def _clean_value(value: FieldValue) -> FieldValue:
    if isinstance(value, float):
        return _clean(value)
    if isinstance(value, list):
        return [_clean_value(v) for v in value]
    return value


@dataclass(frozen=True)
class Finding:
    """One stated figure that the arithmetic does not reproduce."""

    kind: str
    """Which check: people_x_unit_cost, group_sum, phase_sum, yearly_average, whole_people,
    period, earmark, implied_base, implied_base_drift, min_counts."""
    where: str
    """Dotted path of the stated figure in the scenario, e.g. stated_budget.phases.p1.people."""
    stated: float
    computed: float
    severity: Severity
    message_key: str
    """The catalogue key of the message, e.g. ``audit.people_x_unit_cost.not_whole``."""
    fields: Fields
    """The values that fill the message (see the module's docstring for how each is written)."""
    computed_from_key: str
    """The catalogue key of the arithmetic that gives ``computed``."""
    computed_from_fields: Fields
    """Its operands (and the nested sums it adds up)."""
    unit: Unit = "people"
    source: str = ""
    """The scenario's citation for the stated figure, when it has one."""

    @property
    def message_text(self) -> Text:
        return {"key": self.message_key, "fields": self.fields}

    @property
    def computed_from_text(self) -> Text:
        return {"key": self.computed_from_key, "fields": self.computed_from_fields}

    @property
    def message(self) -> str:
        """The message in English, as the audit has always printed it."""
        return self.render(DEFAULT_CLI_LANG)

    @property
    def computed_from(self) -> str:
        """The arithmetic, with its numbers, in English."""
        return self.render_computed_from(DEFAULT_CLI_LANG)

    def render(self, lang: str = DEFAULT_CLI_LANG) -> str:
        return render(self.message_text, lang)

    def render_computed_from(self, lang: str = DEFAULT_CLI_LANG) -> str:
        return render(self.computed_from_text, lang)

    def to_dict(self) -> dict[str, Any]:
        """The fields in their historical order (``message`` and ``computed_from`` in English,
        for readers of the old JSON), then the structured ones."""
        return {
            "kind": self.kind,
            "where": self.where,
            "stated": self.stated,
            "computed": self.computed,
            "computed_from": self.computed_from,
            "severity": self.severity,
            "message": self.message,
            "unit": self.unit,
            "source": self.source,
            "message_key": self.message_key,
            "fields": copy.deepcopy(self.fields),
            "computed_from_key": self.computed_from_key,
            "computed_from_fields": copy.deepcopy(self.computed_from_fields),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """The inverse of :meth:`to_dict`; ``message`` and ``computed_from`` are renderings of
        the structured fields, not data, and are read back from those."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: copy.deepcopy(v) for k, v in data.items() if k in names})


@dataclass(frozen=True)
class AuditReport:
    scenario: str
    checks: int
    """Comparisons made, passed or not: a clean report with few checks says little."""
    findings: list[Finding] = field(default_factory=list)
    agreement_texts: list[Text] = field(default_factory=list)
    """Stated people counts that the minimum counts reproduce, with the arithmetic."""

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def agreements(self) -> list[str]:
        """The agreements in English."""
        return [render(a, DEFAULT_CLI_LANG) for a in self.agreement_texts]

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def summary(self) -> Text:
        """The count line: findings by severity and checks made."""
        checks = _plural_text("check", self.checks)
        if self.clean:
            return text("audit.count.clean", checks=checks)
        parts: list[FieldValue] = [
            _plural_text(s, self.count(s)) for s in SEVERITIES if self.count(s)
        ]
        return text(
            "audit.count.findings",
            findings=_plural_text("finding", len(self.findings)),
            parts=parts,
            checks=checks,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "clean": self.clean,
            "checks": self.checks,
            "findings": [f.to_dict() for f in self.findings],
            "agreements": self.agreements,
            "agreement_texts": copy.deepcopy(self.agreement_texts),
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditReport:
        return cls(
            scenario=data["scenario"],
            checks=data["checks"],
            findings=[Finding.from_dict(f) for f in data["findings"]],
            agreement_texts=copy.deepcopy(list(data.get("agreement_texts", []))),
        )

    def format(self, file: str | None = None, lang: str = DEFAULT_CLI_LANG) -> str:
        """Readable text: a heading, one block per finding, the agreements, a count line."""
        r = _Renderer(lang)
        heading = (
            text("audit.heading.file", scenario=self.scenario, file=file)
            if file
            else text("audit.heading", scenario=self.scenario)
        )
        out = [r(heading), ""]
        for finding in self.findings:
            out += [_format_finding(finding, r), ""]
        if self.agreement_texts:
            out.append(r.m("audit.agreements.heading"))
            out += [_wrap(f"✓ {r(a)}", "  ", "    ") for a in self.agreement_texts]
            out.append("")
        out.append(r(self.summary()))
        return "\n".join(out)


def audit(scenario: Scenario) -> AuditReport:
    """Recompute the scenario's stated budget and target figures; list what does not add up."""
    state = _Audit(scenario)
    if scenario.stated_budget is not None:
        _audit_stated_budget(state, scenario.stated_budget)
    _audit_targets(state, scenario)
    if scenario.stated_budget is not None:
        _audit_min_counts(state, scenario, scenario.stated_budget)
    return AuditReport(
        scenario=scenario.name,
        checks=state.checks,
        findings=list(state.findings),
        agreement_texts=list(state.agreements),
    )


# --------------------------------------------------------------------------- rendering


def render(message: Text, lang: str = DEFAULT_CLI_LANG) -> str:
    """A text in ``lang``: its catalogue entry filled with its fields, numbers written the way
    the language writes them."""
    return _Renderer(lang)(message)


def number_style(lang: str) -> Messages:
    """Whose conventions write the numbers and money of an audit in ``lang``. English keeps the
    Vietnamese ones it has always printed (1.103,6 people, 87.472.000.000 đ), so that existing
    output and the scripts reading it do not change; return ``messages(lang)`` here to give
    English its own (1,103.6 people, 87,472,000,000 VND)."""
    return messages("vi")


class _Renderer:
    """Fills texts in one language: words from ``m``, numbers in ``num``'s conventions."""

    def __init__(self, lang: str) -> None:
        self.m = messages(lang)
        self.num = number_style(lang)

    def __call__(self, message: Text) -> str:
        fields = message["fields"]
        unit = fields.get("unit")
        unit = unit if isinstance(unit, str) else None
        values = {name: self.value(name, v, unit) for name, v in fields.items()}
        return self.m(message["key"], **values)

    def value(self, name: str, value: FieldValue, unit: str | None) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            join = self.m(_JOIN_KEYS.get(name, _DEFAULT_JOIN_KEY))
            return join.join(self.value(name, item, unit) for item in value)
        if isinstance(value, dict):
            return self(value)
        if name == "year" or name.endswith("_year"):
            return str(round(value))
        if name == "years":
            return self(_plural_text("year", round(value)))
        if name == "share" or name.endswith("_share"):
            return self.share(value)
        if name.endswith("_vnd"):
            return self.figure(value, "vnd")
        if name.endswith("_people"):
            return self.figure(value, "people")
        if name.endswith("_count"):
            return self.number(value)
        return self.figure(value, unit)

    def figure(self, x: float, unit: str | None) -> str:
        if unit == "vnd":
            if _is_whole(x):
                return self.num.vnd(x)
            return self.num("common.vnd", amount=self.number(x))  # fractions of a đồng, if any
        if unit == "year":
            return str(round(x))
        if unit == "people":
            return self.m("audit.unit.people", n=self.number(x))
        return self.number(x)

    def number(self, x: float) -> str:
        """Up to 3 decimals, as many as the figure has: 5.467, 1.103,6, 3.056,875."""
        return self.num.number(x, _decimals(x))

    def share(self, x: float) -> str:
        return self.num.share(x, _decimals(100 * x))


def _decimals(x: float) -> int:
    r = round(x, 3)
    if float(r).is_integer():
        return 0
    return len(f"{abs(r):.3f}".rstrip("0").split(".")[1])


def _plural_text(noun: str, n: int) -> Text:
    one, other = _PLURAL_KEYS[noun]
    return text(one if n == 1 else other, n=n)


def _format_finding(f: Finding, r: _Renderer) -> str:
    source = f"  ({f.source})" if f.source else ""
    stated_label, computed_label = r.m("audit.finding.stated"), r.m("audit.finding.computed")
    width = max(len(stated_label), len(computed_label)) + 2
    rest = " " * (4 + width)
    computed = text(
        "audit.finding.computed_from",
        computed=r.figure(f.computed, f.unit),
        computed_from=f.computed_from_text,
    )
    header = text(
        "audit.finding.header",
        severity=r.m(_SEVERITY_KEYS[f.severity]),
        kind=r.m(_KIND_KEYS[f.kind]),
        where=f.where,
    )
    lines = [
        r(header),
        _wrap(f"{stated_label:<{width}}{r.figure(f.stated, f.unit)}{source}", "    ", rest),
        _wrap(f"{computed_label:<{width}}{r(computed)}", "    ", rest),
        _wrap(r(f.message_text), "    ", "    "),
    ]
    return "\n".join(lines)


def _wrap(line: str, first: str, rest: str) -> str:
    return textwrap.fill(
        line, width=_WRAP, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


# --------------------------------------------------------------------------- bookkeeping


class _Audit:
    """What the checks accumulate: the count of checks, the findings, and the corrections that
    let a later sum say 'this whole difference is that earlier error'."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.checks = 0
        self.findings: list[Finding] = []
        self.agreements: list[Text] = []
        self.corrections: dict[str, float] = {}
        self.figures: dict[Unit, list[tuple[str, float]]] = _stated_figures(scenario.stated_budget)

    def passed(self, agreement: Text | None = None) -> None:
        self.checks += 1
        if agreement is not None:
            self.agreements.append(agreement)

    def found(
        self,
        kind: str,
        where: str,
        stated: float,
        computed: float,
        *,
        computed_from: Text,
        severity: Severity,
        message: Text,
        unit: Unit,
    ) -> None:
        self.checks += 1
        if severity == "error":
            self.corrections.setdefault(where, stated - computed)
        self.findings.append(
            Finding(
                kind=kind,
                where=where,
                stated=_clean(stated),
                computed=_clean(computed),
                severity=severity,
                message_key=message["key"],
                fields=message["fields"],
                computed_from_key=computed_from["key"],
                computed_from_fields=computed_from["fields"],
                unit=unit,
                source=self.scenario.provenance.sources.get(where, ""),
            )
        )

    def explain(
        self, unit: Unit, excess: float, parts: Sequence[str] = (), own: str = ""
    ) -> FieldValue:
        """A clause naming what accounts for the whole of ``excess`` (stated − computed), if
        anything does: an error already found in one of the parts summed, or another stated
        figure of exactly that size (counted twice, or left out). "" when nothing does, so that
        the message's ``{explain}`` reads as nothing."""
        for part in parts:
            fix = self.corrections.get(part)
            if fix is not None and _same(fix, -excess):
                return text(_TOO_KEYS[unit, fix > 0], part=part, fix=abs(fix), unit=unit)
        matches: list[FieldValue] = [
            where
            for where, value in self.figures[unit]
            if where != own and where not in parts and _same(value, abs(excess))
        ]
        if not matches or _same(excess, 0):
            return ""
        key = "audit.explain.counted_twice" if excess > 0 else "audit.explain.left_out"
        return text(key, excess=abs(excess), matches=matches, unit=unit)


def _stated_figures(sb: StatedBudget | None) -> dict[Unit, list[tuple[str, float]]]:
    """Every stated total (not the yearly averages) by unit, to recognise a difference."""
    figures: dict[Unit, list[tuple[str, float]]] = {"people": [], "vnd": [], "year": []}
    if sb is None:
        return figures

    def add(where: str, count: int | None, money: float | None) -> None:
        if count is not None:
            figures["people"].append((f"{where}.people", count))
        if money is not None:
            figures["vnd"].append((f"{where}.vnd", money))

    add("stated_budget", sb.people, sb.vnd)
    for ph, phase in sb.phases.items():
        add(f"stated_budget.phases.{ph}", phase.people, phase.vnd)
        for ln, line in phase.lines.items():
            add(f"stated_budget.phases.{ph}.lines.{ln}", line.people, line.vnd)
    for eid, earmark in sb.earmarks.items():
        add(f"stated_budget.earmarks.{eid}", None, earmark.vnd)
    return figures


# --------------------------------------------------------------------------- stated budget


def _audit_stated_budget(a: _Audit, sb: StatedBudget) -> None:
    unit_cost = sb.unit_cost_vnd
    plan = text("audit.label.plan", period=_years(sb))
    _check_pair(a, "stated_budget", sb.people, sb.vnd, unit_cost, plan)
    for ph, phase in sb.phases.items():
        here = f"stated_budget.phases.{ph}"
        label = text("audit.label.phase", period=_years(phase))
        _check_pair(a, here, phase.people, phase.vnd, unit_cost, label)
        for ln, line in phase.lines.items():
            label = text("audit.label.line", line=ln, period=_years(phase))
            _check_pair(a, f"{here}.lines.{ln}", line.people, line.vnd, unit_cost, label)
        _check_group_sums(a, here, phase)
        _check_yearly(a, here, phase)
    _check_periods(a, sb)
    _check_phase_sums(a, sb)
    for eid, earmark in sb.earmarks.items():
        here = f"stated_budget.earmarks.{eid}"
        label = text("audit.label.earmark", earmark=eid, period=_years(earmark))
        _check_whole_people(a, f"{here}.vnd", earmark.vnd, unit_cost, label)
        _check_earmark(a, sb, here, earmark.vnd, earmark.first_year, earmark.last_year)


def _check_pair(
    a: _Audit, here: str, count: int | None, money: float | None, unit_cost: float, label: Text
) -> None:
    """People × unit cost against money. When they disagree, the side to blame is the one that
    is not a whole number of people: money that is buys exactly the people computed from it."""
    if money is None or unit_cost <= 0:
        return
    if count is None:
        _check_whole_people(a, f"{here}.vnd", money, unit_cost, label)
        return
    cost = count * unit_cost
    bought = money / unit_cost
    if _same(cost, money):
        a.passed()
    elif _is_whole(bought):
        where = f"{here}.people"
        a.found(
            "people_x_unit_cost",
            where,
            count,
            bought,
            computed_from=text(
                "audit.arith.money_over_unit_cost",
                money_vnd=money,
                unit_cost_vnd=unit_cost,
                bought_people=bought,
            ),
            severity="error",
            unit="people",
            message=text(
                "audit.people_x_unit_cost.count_off",
                money_vnd=money,
                label=label,
                bought_people=bought,
                unit_cost_vnd=unit_cost,
                count_people=count,
                explain=a.explain("people", count - bought, own=where),
            ),
        )
    else:
        where = f"{here}.vnd"
        a.found(
            "people_x_unit_cost",
            where,
            money,
            cost,
            computed_from=text(
                "audit.arith.people_times_unit_cost",
                count_people=count,
                unit_cost_vnd=unit_cost,
                cost_vnd=cost,
            ),
            severity="error",
            unit="vnd",
            message=text(
                "audit.people_x_unit_cost.not_whole",
                count_people=count,
                unit_cost_vnd=unit_cost,
                cost_vnd=cost,
                money_vnd=money,
                label=label,
                bought_count=bought,
                explain=a.explain("vnd", money - cost, own=where),
            ),
        )


def _check_whole_people(a: _Audit, where: str, money: float, unit_cost: float, label: Text) -> None:
    """Money given without a people count should still buy a whole number of trainees."""
    if unit_cost <= 0:
        return
    bought = money / unit_cost
    if _is_whole(bought):
        a.passed()
        return
    nearest = math.floor(bought + 0.5)
    a.found(
        "whole_people",
        where,
        money,
        nearest * unit_cost,
        computed_from=text(
            "audit.arith.nearest_whole_people",
            money_vnd=money,
            unit_cost_vnd=unit_cost,
            bought_people=bought,
            nearest_people=nearest,
            nearest_vnd=nearest * unit_cost,
        ),
        severity="note",
        unit="vnd",
        message=text(
            "audit.whole_people.not_whole",
            money_vnd=money,
            label=label,
            bought_people=bought,
            unit_cost_vnd=unit_cost,
        ),
    )


def _check_group_sums(a: _Audit, here: str, phase: StatedPhase) -> None:
    if not phase.lines:
        return
    context: Fields = {"period": _years(phase), "phase": _name(here + ".people")}
    counts = [(f"{here}.lines.{ln}.people", line.people) for ln, line in phase.lines.items()]
    _check_sum(a, "group_sum", f"{here}.people", phase.people, counts, "people", context)
    money = [(f"{here}.lines.{ln}.vnd", line.vnd) for ln, line in phase.lines.items()]
    _check_sum(a, "group_sum", f"{here}.vnd", phase.vnd, money, "vnd", context)


def _check_phase_sums(a: _Audit, sb: StatedBudget) -> None:
    if not sb.phases:
        return
    base = "stated_budget.phases"
    context: Fields = {"period": _years(sb)}
    counts = [(f"{base}.{ph}.people", phase.people) for ph, phase in sb.phases.items()]
    _check_sum(a, "phase_sum", "stated_budget.people", sb.people, counts, "people", context)
    money = [(f"{base}.{ph}.vnd", phase.vnd) for ph, phase in sb.phases.items()]
    _check_sum(a, "phase_sum", "stated_budget.vnd", sb.vnd, money, "vnd", context)


_SUM_KEYS = {"group_sum": "audit.group_sum.mismatch", "phase_sum": "audit.phase_sum.mismatch"}


def _check_sum(
    a: _Audit,
    kind: str,
    where: str,
    stated: float | None,
    parts: Sequence[tuple[str, float | None]],
    unit: Unit,
    context: Fields,
) -> None:
    """A stated total against the sum of its stated parts; skipped when any part is missing,
    since a partial sum would report the missing part as an error in the total. ``context``
    names the parts and the whole in the message (the period, and the phase for a group sum)."""
    values = [v for _, v in parts if v is not None]
    if stated is None or len(values) != len(parts):
        return
    total = sum(values)
    if _same(total, stated):
        a.passed()
        return
    terms: list[FieldValue] = [
        text("audit.arith.term", value=v, name=_name(w), unit=unit)
        for w, v in parts
        if v is not None
    ]
    a.found(
        kind,
        where,
        stated,
        total,
        computed_from=text("audit.arith.sum", terms=terms, total=total, unit=unit),
        severity="error",
        unit=unit,
        message=text(
            _SUM_KEYS[kind],
            **context,
            total=total,
            stated=stated,
            unit=unit,
            explain=a.explain(unit, stated - total, parts=[w for w, _ in parts], own=where),
        ),
    )


def _check_yearly(a: _Audit, here: str, phase: StatedPhase) -> None:
    """A yearly figure is the phase total over its years; short of one unit it is the average
    rounded for print, which is harmless."""
    years = phase.last_year - phase.first_year + 1
    pairs: list[tuple[str, float | None, float | None, Unit]] = [
        ("people_per_year", phase.people, phase.people_per_year, "people"),
        ("vnd_per_year", phase.vnd, phase.vnd_per_year, "vnd"),
    ]
    for name, total, per_year, unit in pairs:
        if total is None or per_year is None:
            continue
        average = total / years
        if _same(average, per_year):
            a.passed()
            continue
        rounded = abs(per_year - average) < 1
        if not rounded:
            key = "audit.yearly_average.wrong"
        elif per_year < average:
            key = "audit.yearly_average.rounded_down"
        else:
            key = "audit.yearly_average.rounded_up"
        figures: Fields = {"total": total, "average": average, "unit": unit}
        a.found(
            "yearly_average",
            f"{here}.{name}",
            per_year,
            average,
            computed_from=text(
                "audit.arith.yearly_average", **figures, years=years, period=_years(phase)
            ),
            severity="note" if rounded else "error",
            unit=unit,
            message=text(key, **figures, yearly=per_year, years=years, period=_years(phase)),
        )


def _check_periods(a: _Audit, sb: StatedBudget) -> None:
    """Phases and earmarks must lie inside the plan's period and phases must not overlap, or the
    sums above would count some years twice or count years the plan does not cover."""
    spans = [
        (f"stated_budget.phases.{ph}", p.first_year, p.last_year) for ph, p in sb.phases.items()
    ]
    spans += [
        (f"stated_budget.earmarks.{e}", m.first_year, m.last_year) for e, m in sb.earmarks.items()
    ]
    for here, first, last in spans:
        _check_inside(a, here, first, last, sb)
    phases = sorted(sb.phases.items(), key=lambda item: item[1].first_year)
    for (prev_id, prev), (ph, phase) in itertools.pairwise(phases):
        if phase.first_year > prev.last_year:
            a.passed()
            continue
        a.found(
            "period",
            f"stated_budget.phases.{ph}.first_year",
            phase.first_year,
            prev.last_year + 1,
            computed_from=text(
                "audit.arith.next_phase",
                previous=prev_id,
                period=_years(prev),
                next_year=prev.last_year + 1,
            ),
            severity="error",
            unit="year",
            message=text(
                "audit.period.overlap",
                phase=ph,
                first_year=phase.first_year,
                previous=prev_id,
                period=_years(prev),
            ),
        )


def _check_inside(a: _Audit, here: str, first: int, last: int, sb: StatedBudget) -> None:
    for end, year, bound, outside in (
        ("first_year", first, sb.first_year, first < sb.first_year),
        ("last_year", last, sb.last_year, last > sb.last_year),
    ):
        if not outside:
            a.passed()
            continue
        a.found(
            "period",
            f"{here}.{end}",
            year,
            bound,
            computed_from=text("audit.arith.budget_period", period=_years(sb)),
            severity="error",
            unit="year",
            message=text(
                "audit.period.outside",
                name=here.rsplit(".", 1)[-1],
                first_year=first,
                last_year=last,
                period=_years(sb),
            ),
        )


def _check_earmark(
    a: _Audit, sb: StatedBudget, here: str, money: float, first: int, last: int
) -> None:
    """Earmarked money cannot exceed what the plan spends in the same years."""
    spending = _spending(sb, first, last)
    if spending is None:
        return
    spend, terms = spending
    if money <= spend + _EPS:
        a.passed()
        return
    a.found(
        "earmark",
        f"{here}.vnd",
        money,
        spend,
        computed_from=text("audit.arith.spending", terms=terms, spend_vnd=spend),
        severity="error",
        unit="vnd",
        message=text(
            "audit.earmark.above_spending",
            money_vnd=money,
            first_year=first,
            last_year=last,
            spend_vnd=spend,
        ),
    )


def _spending(sb: StatedBudget, first: int, last: int) -> tuple[float, list[FieldValue]] | None:
    """Money the phases spend in ``first``–``last`` at each phase's yearly average, with one
    term per phase. Years no phase covers count as nothing spent: the plan budgets no money
    outside its phases."""
    total = 0.0
    terms: list[FieldValue] = []
    for ph, phase in sb.phases.items():
        years = phase.last_year - phase.first_year + 1
        rate = phase.vnd / years if phase.vnd is not None else phase.vnd_per_year
        overlap = min(last, phase.last_year) - max(first, phase.first_year) + 1
        if rate is None or overlap <= 0:
            continue
        total += overlap * rate
        terms.append(text("audit.arith.spending_term", years=overlap, rate_vnd=rate, phase=ph))
    if not terms:
        return None
    return total, terms


# --------------------------------------------------------------------------- targets


def _audit_targets(a: _Audit, s: Scenario) -> None:
    for tid, target in s.targets.items():
        _check_implied_base(a, s, tid, target)
    _check_base_drift(a, s)


def _implied_base(target: Target) -> float | None:
    """The headcount a minimum count is the share of: min_count ÷ share."""
    if target.share is None or target.min_count is None or target.share <= 0:
        return None
    return target.min_count / target.share


def _check_implied_base(a: _Audit, s: Scenario, tid: str, target: Target) -> None:
    implied = _implied_base(target)
    base = s.eligible_base(target)
    if implied is None or target.share is None or target.min_count is None or base <= 0:
        return
    if abs(implied - base) <= BASE_TOLERANCE * base:
        a.passed()
        return
    share = target.share
    of_share = share * base
    selector = _selector(target)
    a.found(
        "implied_base",
        f"targets.{tid}.min_count",
        target.min_count,
        of_share,
        computed_from=text(
            "audit.arith.implied_base",
            share=share,
            base_count=base,
            selector=selector,
            of_share_people=of_share,
            min_count=target.min_count,
            implied_count=implied,
        ),
        severity="warning",
        unit="people",
        message=text(
            "audit.implied_base.below" if implied < base else "audit.implied_base.above",
            min_people=target.min_count,
            year=target.year,
            share=share,
            implied_people=implied,
            selector=selector,
            base_count=base,
            of_share_count=of_share,
        ),
    )


_SeriesKey = tuple[tuple[str, ...], tuple[tuple[str, object], ...]]


def _check_base_drift(a: _Audit, s: Scenario) -> None:
    """Targets for the same people at successive milestones should imply the same base."""
    series: dict[_SeriesKey, list[tuple[str, Target, float]]] = {}
    for tid, target in s.targets.items():
        implied = _implied_base(target)
        if implied is not None:
            key = (target.groups, tuple(sorted(target.where.items(), key=lambda kv: kv[0])))
            series.setdefault(key, []).append((tid, target, implied))
    for chain in series.values():
        chain.sort(key=lambda item: item[1].year)
        for earlier, later in itertools.pairwise(chain):
            _check_drift_pair(a, earlier, later)


def _check_drift_pair(
    a: _Audit, earlier: tuple[str, Target, float], later: tuple[str, Target, float]
) -> None:
    (tid1, t1, base1), (tid2, t2, base2) = earlier, later
    if abs(base2 - base1) <= BASE_TOLERANCE * max(base1, base2):
        a.passed()
        return
    at_earlier = (t2.share or 0) * base1
    a.found(
        "implied_base_drift",
        f"targets.{tid2}.min_count",
        t2.min_count or 0,
        at_earlier,
        computed_from=text(
            "audit.arith.implied_base_drift",
            share=t2.share or 0,
            earlier=tid1,
            earlier_min_count=t1.min_count or 0,
            earlier_share=t1.share or 0,
            earlier_base_count=base1,
            at_earlier_people=at_earlier,
            target=tid2,
            min_count=t2.min_count or 0,
            base_count=base2,
        ),
        severity="warning",
        unit="people",
        message=text(
            "audit.implied_base_drift.off",
            year=t2.year,
            min_count=t2.min_count or 0,
            share=t2.share or 0,
            base_people=base2,
            earlier_year=t1.year,
            earlier_min_count=t1.min_count or 0,
            earlier_share=t1.share or 0,
            earlier_base_count=base1,
            at_earlier_count=at_earlier,
        ),
    )


# --------------------------------------------------------------------------- minimum counts


def _audit_min_counts(a: _Audit, s: Scenario, sb: StatedBudget) -> None:
    """People budgeted for a period should be the growth of the minimum counts over it: the
    counts by the period's last milestone less those by the milestone before the period."""
    everyone = tuple(s.groups)
    _check_min_counts(a, s, "stated_budget", sb.people, everyone, sb.first_year, sb.last_year)
    for ph, phase in sb.phases.items():
        here = f"stated_budget.phases.{ph}"
        first, last = phase.first_year, phase.last_year
        _check_min_counts(a, s, here, phase.people, everyone, first, last)
        for ln, line in phase.lines.items():
            if line.groups:
                _check_min_counts(a, s, f"{here}.lines.{ln}", line.people, line.groups, first, last)


def _check_min_counts(
    a: _Audit,
    s: Scenario,
    here: str,
    stated: int | None,
    groups: Sequence[str],
    first: int,
    last: int,
) -> None:
    need = _needed(s, groups, first, last)
    if stated is None or need is None:
        return
    count, arithmetic = need
    where = f"{here}.people"
    if count == stated:
        a.passed(text("audit.agreement", where=where, stated_count=stated, arithmetic=arithmetic))
        return
    a.found(
        "min_counts",
        where,
        stated,
        count,
        computed_from=arithmetic,
        severity="error",
        unit="people",
        message=text(
            "audit.min_counts.more" if stated > count else "audit.min_counts.fewer",
            stated_people=stated,
            name=_name(where),
            first_year=first,
            last_year=last,
            needed_count=count,
            explain=a.explain("people", stated - count, own=where),
        ),
    )


def _needed(s: Scenario, groups: Sequence[str], first: int, last: int) -> tuple[int, Text] | None:
    """Minimum-count growth over ``first``–``last`` for ``groups``, with its arithmetic; None
    when no milestone falls in the period or some group has no minimum count to go by."""
    milestones = s.horizon.milestones
    inside = [m for m in milestones if first <= m <= last]
    before = [m for m in milestones if m < first]
    if not inside:
        return None
    upto = _min_count_sum(s, groups, inside[-1])
    if upto is None:
        return None
    if not before:
        return upto
    since = _min_count_sum(s, groups, before[-1])
    if since is None:
        return None
    count = upto[0] - since[0]
    growth = text(
        "audit.arith.min_count_growth",
        upto=upto[1],
        since=since[1],
        upto_count=upto[0],
        since_count=since[0],
        growth_people=count,
    )
    return count, growth


def _min_count_sum(s: Scenario, groups: Sequence[str], year: int) -> tuple[int, Text] | None:
    """Sum of the whole-group minimum counts due in ``year`` for exactly ``groups``; None unless
    each group is covered by exactly one such target (a partial or double cover is no total)."""
    wanted = set(groups)
    chosen = [
        (tid, t)
        for tid, t in s.targets.items()
        if t.year == year and t.min_count is not None and not t.where and set(t.groups) <= wanted
    ]
    covered = sorted(g for _, t in chosen for g in t.groups)
    if covered != sorted(wanted):
        return None
    total = sum(t.min_count or 0 for _, t in chosen)
    terms: list[FieldValue] = [
        text("audit.arith.min_count_term", min_count=t.min_count or 0, target=tid)
        for tid, t in chosen
    ]
    return total, text("audit.arith.min_count_sum", year=year, terms=terms, total_count=total)


# --------------------------------------------------------------------------- helpers


class _Span(Protocol):
    @property
    def first_year(self) -> int: ...
    @property
    def last_year(self) -> int: ...


def _years(span: _Span) -> str:
    first, last = span.first_year, span.last_year
    return str(first) if first == last else f"{first}–{last}"


def _name(where: str) -> str:
    """The id a dotted path ends on: stated_budget.phases.p1.people → p1."""
    parts = where.split(".")
    return parts[-2] if len(parts) >= 2 else where


def _selector(target: Target) -> str:
    where = "".join(f", {k}={str(v).lower()}" for k, v in target.where.items())
    return "+".join(target.groups) + where


def _same(x: float, y: float) -> bool:
    return abs(x - y) < _EPS


def _is_whole(x: float) -> bool:
    return _same(x, round(x))


def _clean(x: float) -> float:
    """Whole numbers as int and others to 3 decimals, so the JSON reads like the plan."""
    r = round(x, 3)
    return int(r) if float(r).is_integer() else r
