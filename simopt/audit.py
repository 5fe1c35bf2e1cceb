"""Audit a plan's own arithmetic: recompute every stated figure from the figures it rests on.

A province's plan prints people, money, yearly averages and minimum counts that were worked out
by hand. :func:`audit` redoes each sum from the scenario's data and lists every disagreement as a
:class:`Finding`: which printed figure, what the arithmetic gives instead, and how. Where two
figures disagree, the finding names the one the other figures do not support, so a planner knows
which number to correct. The audit is pure: it reads a :class:`Scenario` and does no I/O.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from simopt.format import people, vnd
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
    computed_from: str
    """The arithmetic, with its numbers, that gives ``computed``."""
    severity: Severity
    message: str
    unit: Unit = "people"
    source: str = ""
    """The scenario's citation for the stated figure, when it has one."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(**data)


@dataclass(frozen=True)
class AuditReport:
    scenario: str
    checks: int
    """Comparisons made, passed or not: a clean report with few checks says little."""
    findings: list[Finding] = field(default_factory=list)
    agreements: list[str] = field(default_factory=list)
    """Stated people counts that the minimum counts reproduce, with the arithmetic."""

    @property
    def clean(self) -> bool:
        return not self.findings

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "clean": self.clean,
            "checks": self.checks,
            "findings": [f.to_dict() for f in self.findings],
            "agreements": list(self.agreements),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditReport:
        return cls(
            scenario=data["scenario"],
            checks=data["checks"],
            findings=[Finding.from_dict(f) for f in data["findings"]],
            agreements=list(data.get("agreements", [])),
        )

    def format(self, file: str | None = None) -> str:
        """Readable text: a heading, one block per finding, the agreements, a count line."""
        origin = f" ({file})" if file else ""
        out = [f"Audit of '{self.scenario}'{origin}", ""]
        for finding in self.findings:
            out += [_format_finding(finding), ""]
        if self.agreements:
            out.append("Stated people counts that the minimum counts reproduce:")
            out += [_wrap(f"✓ {a}", "  ", "    ") for a in self.agreements]
            out.append("")
        out.append(self._count_line())
        return "\n".join(out)

    def _count_line(self) -> str:
        checks = _plural(self.checks, "check")
        if self.clean:
            return f"clean: {checks}, no findings."
        parts = [_plural(self.count(s), s) for s in SEVERITIES if self.count(s)]
        return f"{_plural(len(self.findings), 'finding')} ({', '.join(parts)}) in {checks}."


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
        agreements=list(state.agreements),
    )


# --------------------------------------------------------------------------- bookkeeping


class _Audit:
    """What the checks accumulate: the count of checks, the findings, and the corrections that
    let a later sum say 'this whole difference is that earlier error'."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.checks = 0
        self.findings: list[Finding] = []
        self.agreements: list[str] = []
        self.corrections: dict[str, float] = {}
        self.figures: dict[Unit, list[tuple[str, float]]] = _stated_figures(scenario.stated_budget)

    def passed(self, agreement: str = "") -> None:
        self.checks += 1
        if agreement:
            self.agreements.append(agreement)

    def found(
        self,
        kind: str,
        where: str,
        stated: float,
        computed: float,
        *,
        computed_from: str,
        severity: Severity,
        message: str,
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
                computed_from=computed_from,
                severity=severity,
                message=message,
                unit=unit,
                source=self.scenario.provenance.sources.get(where, ""),
            )
        )

    def explain(self, unit: Unit, excess: float, parts: Sequence[str] = (), own: str = "") -> str:
        """A clause naming what accounts for the whole of ``excess`` (stated − computed), if
        anything does: an error already found in one of the parts summed, or another stated
        figure of exactly that size (counted twice, or left out)."""
        for part in parts:
            fix = self.corrections.get(part)
            if fix is not None and _same(fix, -excess):
                return (
                    f"; the whole difference is the error already found in {part} "
                    f"({_fig(abs(fix), unit)} too {_too(fix, unit)})"
                )
        matches = [
            where
            for where, value in self.figures[unit]
            if where != own and where not in parts and _same(value, abs(excess))
        ]
        if not matches or _same(excess, 0):
            return ""
        how = "counted twice" if excess > 0 else "left out"
        return (
            f"; the difference, {_fig(abs(excess), unit)}, is exactly {' or '.join(matches)}, "
            f"which looks {how}"
        )


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
    _check_pair(a, "stated_budget", sb.people, sb.vnd, unit_cost, _years(sb))
    for ph, phase in sb.phases.items():
        here = f"stated_budget.phases.{ph}"
        _check_pair(a, here, phase.people, phase.vnd, unit_cost, _years(phase))
        for ln, line in phase.lines.items():
            label = f"{ln} in {_years(phase)}"
            _check_pair(a, f"{here}.lines.{ln}", line.people, line.vnd, unit_cost, label)
        _check_group_sums(a, here, phase)
        _check_yearly(a, here, phase)
    _check_periods(a, sb)
    _check_phase_sums(a, sb)
    for eid, earmark in sb.earmarks.items():
        here = f"stated_budget.earmarks.{eid}"
        _check_whole_people(a, f"{here}.vnd", earmark.vnd, unit_cost, f"{eid} ({_years(earmark)})")
        _check_earmark(a, sb, here, earmark.vnd, earmark.first_year, earmark.last_year)


def _check_pair(
    a: _Audit, here: str, count: int | None, money: float | None, unit_cost: float, label: str
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
            computed_from=f"{_d(money)} ÷ {_d(unit_cost)} per person = {_n(bought)} people",
            severity="error",
            unit="people",
            message=f"The {_d(money)} stated for {label} pays for {_n(bought)} people at "
            f"{_d(unit_cost)} each, not the {_n(count)} people stated"
            + a.explain("people", count - bought, own=where)
            + ".",
        )
    else:
        where = f"{here}.vnd"
        a.found(
            "people_x_unit_cost",
            where,
            money,
            cost,
            computed_from=f"{_n(count)} people × {_d(unit_cost)} per person = {_d(cost)}",
            severity="error",
            unit="vnd",
            message=f"{_n(count)} people at {_d(unit_cost)} each cost {_d(cost)}, not the "
            f"{_d(money)} stated for {label}, which is not a whole number of people "
            f"({_n(bought)})" + a.explain("vnd", money - cost, own=where) + ".",
        )


def _check_whole_people(a: _Audit, where: str, money: float, unit_cost: float, label: str) -> None:
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
        computed_from=f"{_d(money)} ÷ {_d(unit_cost)} per person = {_n(bought)} people; "
        f"{_n(nearest)} people would cost {_d(nearest * unit_cost)}",
        severity="note",
        unit="vnd",
        message=f"The {_d(money)} for {label} is {_n(bought)} people at {_d(unit_cost)} each: "
        "not a whole number of trainees, so it was not worked out from a head count at the "
        "plan's unit cost.",
    )


def _check_group_sums(a: _Audit, here: str, phase: StatedPhase) -> None:
    if not phase.lines:
        return
    label = (f"the lines of {_years(phase)}", f"the phase {_name(here + '.people')}")
    counts = [(f"{here}.lines.{ln}.people", line.people) for ln, line in phase.lines.items()]
    _check_sum(a, "group_sum", f"{here}.people", phase.people, counts, "people", label)
    money = [(f"{here}.lines.{ln}.vnd", line.vnd) for ln, line in phase.lines.items()]
    _check_sum(a, "group_sum", f"{here}.vnd", phase.vnd, money, "vnd", label)


def _check_phase_sums(a: _Audit, sb: StatedBudget) -> None:
    if not sb.phases:
        return
    base = "stated_budget.phases"
    label = ("the phases", _years(sb))
    counts = [(f"{base}.{ph}.people", phase.people) for ph, phase in sb.phases.items()]
    _check_sum(a, "phase_sum", "stated_budget.people", sb.people, counts, "people", label)
    money = [(f"{base}.{ph}.vnd", phase.vnd) for ph, phase in sb.phases.items()]
    _check_sum(a, "phase_sum", "stated_budget.vnd", sb.vnd, money, "vnd", label)


def _check_sum(
    a: _Audit,
    kind: str,
    where: str,
    stated: float | None,
    parts: Sequence[tuple[str, float | None]],
    unit: Unit,
    label: tuple[str, str],
) -> None:
    """A stated total against the sum of its stated parts; skipped when any part is missing,
    since a partial sum would report the missing part as an error in the total. ``label`` names
    the parts and the whole in the message."""
    parts_label, whole_label = label
    values = [v for _, v in parts if v is not None]
    if stated is None or len(values) != len(parts):
        return
    total = sum(values)
    if _same(total, stated):
        a.passed()
        return
    terms = " + ".join(f"{_fig(v, unit)} ({_name(w)})" for w, v in parts if v is not None)
    a.found(
        kind,
        where,
        stated,
        total,
        computed_from=f"{terms} = {_fig(total, unit)}",
        severity="error",
        unit=unit,
        message=f"{parts_label[0].upper()}{parts_label[1:]} add up to {_fig(total, unit)}, not "
        f"the {_fig(stated, unit)} stated for {whole_label}"
        + a.explain(unit, stated - total, parts=[w for w, _ in parts], own=where)
        + ".",
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
        how = "rounded down" if per_year < average else "rounded up"
        a.found(
            "yearly_average",
            f"{here}.{name}",
            per_year,
            average,
            computed_from=f"{_fig(total, unit)} ÷ {_plural(years, 'year')} ({_years(phase)}) = "
            f"{_fig(average, unit)} a year",
            severity="note" if rounded else "error",
            unit=unit,
            message=(
                f"The stated {_fig(per_year, unit)} a year is the exact average, "
                f"{_fig(average, unit)}, {how}; the totals are not affected."
                if rounded
                else f"{_fig(total, unit)} over the {_plural(years, 'year')} {_years(phase)} is "
                f"{_fig(average, unit)} a year, not the {_fig(per_year, unit)} stated."
            ),
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
            computed_from=f"{prev_id} runs {_years(prev)}, so the next phase starts in "
            f"{prev.last_year + 1}",
            severity="error",
            unit="year",
            message=f"Phase {ph} starts in {phase.first_year}, inside phase {prev_id} "
            f"({_years(prev)}), so the money of the shared years is counted twice.",
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
            computed_from=f"the plan's budget period is {_years(sb)}",
            severity="error",
            unit="year",
            message=f"{here.rsplit('.', 1)[-1]} runs {first}–{last}, outside the plan's budget "
            f"period {_years(sb)}.",
        )


def _check_earmark(
    a: _Audit, sb: StatedBudget, here: str, money: float, first: int, last: int
) -> None:
    """Earmarked money cannot exceed what the plan spends in the same years."""
    spending = _spending(sb, first, last)
    if spending is None:
        return
    spend, basis = spending
    if money <= spend + _EPS:
        a.passed()
        return
    a.found(
        "earmark",
        f"{here}.vnd",
        money,
        spend,
        computed_from=f"{basis} = {_d(spend)}",
        severity="error",
        unit="vnd",
        message=f"The {_d(money)} earmarked for {first}–{last} is more than the {_d(spend)} the "
        "plan spends in those years at its phases' yearly averages.",
    )


def _spending(sb: StatedBudget, first: int, last: int) -> tuple[float, str] | None:
    """Money the phases spend in ``first``–``last`` at each phase's yearly average. Years no
    phase covers count as nothing spent: the plan budgets no money outside its phases."""
    total = 0.0
    terms: list[str] = []
    for ph, phase in sb.phases.items():
        years = phase.last_year - phase.first_year + 1
        rate = phase.vnd / years if phase.vnd is not None else phase.vnd_per_year
        overlap = min(last, phase.last_year) - max(first, phase.first_year) + 1
        if rate is None or overlap <= 0:
            continue
        total += overlap * rate
        terms.append(f"{_plural(overlap, 'year')} × {_d(rate)} a year ({ph})")
    if not terms:
        return None
    return total, " + ".join(terms)


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
    share = _pct(target.share)
    of_share = target.share * base
    a.found(
        "implied_base",
        f"targets.{tid}.min_count",
        target.min_count,
        of_share,
        computed_from=f"{share} × {_n(base)} eligible ({_selector(target)}) = {_n(of_share)} "
        f"people; the minimum implies a base of {_n(target.min_count)} ÷ {share} = {_n(implied)}",
        severity="warning",
        unit="people",
        message=f"The minimum of {_n(target.min_count)} people by {target.year} is {share} of "
        f"{_n(implied)} people, but {_selector(target)} has {_n(base)} eligible people, of whom "
        f"{share} is {_n(of_share)}: the minimum count is far "
        f"{'below' if implied < base else 'above'} the share.",
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
    share1, share2 = _pct(t1.share or 0), _pct(t2.share or 0)
    at_earlier = (t2.share or 0) * base1
    a.found(
        "implied_base_drift",
        f"targets.{tid2}.min_count",
        t2.min_count or 0,
        at_earlier,
        computed_from=f"{share2} × the base {tid1} implies ({_n(t1.min_count or 0)} ÷ {share1} "
        f"= {_n(base1)}) = {_n(at_earlier)} people; {tid2} implies "
        f"{_n(t2.min_count or 0)} ÷ {share2} = {_n(base2)}",
        severity="warning",
        unit="people",
        message=f"The {t2.year} minimum ({_n(t2.min_count or 0)} at {share2}) implies a base of "
        f"{_n(base2)} people but the {t1.year} minimum ({_n(t1.min_count or 0)} at {share1}) "
        f"implies {_n(base1)}; on the {t1.year} base the {t2.year} minimum would be "
        f"{_n(at_earlier)}, so at least one of the two minimum counts is off.",
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
        a.passed(f"{where} = {_n(stated)}: {arithmetic}")
        return
    a.found(
        "min_counts",
        where,
        stated,
        count,
        computed_from=arithmetic,
        severity="error",
        unit="people",
        message=f"The plan budgets {_n(stated)} people for {_name(where)} ({first}–{last}), "
        f"{'more' if stated > count else 'fewer'} than the {_n(count)} its minimum counts add "
        "in that period" + a.explain("people", stated - count, own=where) + ".",
    )


def _needed(s: Scenario, groups: Sequence[str], first: int, last: int) -> tuple[int, str] | None:
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
    return count, f"{upto[1]}; {since[1]}; {_n(upto[0])} − {_n(since[0])} = {_n(count)} people"


def _min_count_sum(s: Scenario, groups: Sequence[str], year: int) -> tuple[int, str] | None:
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
    terms = " + ".join(f"{_n(t.min_count or 0)} ({tid})" for tid, t in chosen)
    return total, f"min counts by {year}: {terms} = {_n(total)}"


# --------------------------------------------------------------------------- formatting


def _format_finding(f: Finding) -> str:
    source = f"  ({f.source})" if f.source else ""
    lines = [
        f"[{f.severity}] {f.kind}: {f.where}",
        _wrap(f"stated    {_fig(f.stated, f.unit)}{source}", "    ", "              "),
        _wrap(f"computed  {_fig(f.computed, f.unit)} from {f.computed_from}", "    ", " " * 14),
        _wrap(f.message, "    ", "    "),
    ]
    return "\n".join(lines)


def _wrap(text: str, first: str, rest: str) -> str:
    return textwrap.fill(
        text, width=_WRAP, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


def _n(x: float) -> str:
    """A count the Vietnamese way, keeping up to 3 decimals: 1.103,6 people."""
    r = round(x, 3)
    if float(r).is_integer():
        return people(r)
    whole, frac = f"{abs(r):.3f}".split(".")
    sign = "-" if r < 0 else ""
    return f"{sign}{people(int(whole))},{frac.rstrip('0')}"


def _d(x: float) -> str:
    """Money the Vietnamese way; fractions of a đồng only when there are any."""
    return vnd(x) if _is_whole(x) else f"{_n(x)} đ"


def _fig(x: float, unit: Unit) -> str:
    if unit == "vnd":
        return _d(x)
    if unit == "year":
        return str(round(x))
    return f"{_n(x)} people"


def _too(excess: float, unit: Unit) -> str:
    if unit == "people":
        return "many" if excess > 0 else "few"
    return "much" if excess > 0 else "little"


def _pct(share: float) -> str:
    return f"{share * 100:g}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
