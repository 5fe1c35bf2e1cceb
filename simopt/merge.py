"""One scenario for a province formed by merging others: the 2025 reform (63 provinces → 34).

On 1 July 2025 Vietnam merged its provinces and abolished the district level. A planner who
re-plans 2026–2030 holds the plans of the old provinces; :func:`merge` turns their validated
scenarios into the merged province's scenario, as data in the file's own form (every number a
``{value, source, range, distribution}`` note), with a report of each conflict and how it was
resolved. :func:`merge_files` reads the files, merges, renders the YAML that ``simopt merge``
writes and validates it with the loader every file goes through.

The rules (README, "Merging provinces"):

- pools are kept apart, their ids prefixed with the input's ``name`` and marked with the
  attribute ``former_province``; a pool that carries that attribute came from an earlier merge
  and keeps its id, so merging is associative on pools;
- groups merge by id; ``--map OLD=NEW`` moves a group's (or one pool's) people into another;
  funding shares that differ are weighted by head count;
- targets of the same id and definition become one target with their minimum counts summed;
  different shares or levels take the stricter; other differences keep them apart per province;
- course and exam numbers that differ are weighted by the eligible people each input's course is
  open to (range ends alike), unless ``--rule FIELD=first|max|min``; numbers that shape the model
  (months, levels, attempts) must agree unless a rule says which to take; a pool the merged course
  is open to but its own province's was not is marked ``former_closed_courses`` and weighs
  nothing, so that a merged file weighs exactly its former provinces' own eligible people;
- ceilings, seats and envelopes are summed; a ceiling that one input lacks is no ceiling;
- the horizon starts at the latest start; end years must agree.

Weights are carried by the data itself (pools are never pooled; each pool says which courses its
former province did not open to it), so that a nested weighted mean equals the flat one:
(A+B)+C and A+(B+C) give the same weights, head counts, ceilings, start state and record exactly
and the same weighted numbers to the 12 significant digits a derived number keeps (the nested
merge averages the first merge's rounded mean: the last digit may differ).
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from simopt.errors import ScenarioError, printable
from simopt.scenario import Course, Pool, Scenario, Target, load_scenario, parse_scenario
from simopt.yamlio import ASSUMPTION

FORMER = "former_province"
"""Pool attribute naming the input a pool came from; a pool that has it keeps its id."""

FORMER_CLOSED = "former_closed_courses"
"""Pool attribute listing (space-separated) the courses the merged province opens to the pool
that its former province did not (closed to its group, or not offered): the pool does not weigh
in those courses' numbers, in this merge or in any merge of the merged file."""

RULES = ("first", "max", "min")

WEIGHTED_FIELDS = (
    "tuition_vnd_per_trainee",
    "cost_vnd_per_class",
    "completion_rate",
    "exam_pass_probability",
    "fee_vnd",
    "retake_pass_factor",
)
"""Numbers averaged by head count when the inputs differ."""

STRUCTURAL_FIELDS = (
    "entry_level",
    "target_level",
    "duration_months",
    "intake_month",
    "class_size",
    "session_months",
    "max_attempts",
    "discount_rate_per_year",
)
"""Numbers that shape the model: never averaged; they must agree unless --rule picks one."""

_LEVEL_TABLES = ("level_shares", "hire_level_shares")
_SIGNIFICANT = 12
"""Digits a derived number keeps: enough for any plan, few enough to read and to compare."""


class MergeError(ValueError):
    """Inputs that cannot be merged as asked (a bad --map, end years that differ, …): one line."""


@dataclass(frozen=True)
class Province:
    """One input: its validated scenario and the file it came from."""

    scenario: Scenario
    file: str = "<scenario>"

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def label(self) -> str:
        """The province as people write it, for pool names: "Long An"."""
        return self.scenario.province or self.scenario.name


@dataclass(frozen=True)
class MergeOptions:
    name: str
    title: str = ""
    maps: tuple[tuple[str, str], ...] = ()
    """``(OLD, NEW)``: OLD a group id (all its pools) or a pool id (one pool); NEW a group id."""
    rules: tuple[tuple[str, str], ...] = ()
    """``(FIELD or PATH, first|max|min)``: how a conflicting number is resolved."""
    group_names: tuple[tuple[str, str], ...] = ()
    """``(GROUP, TEXT)``: the display name of a merged group (e.g. one --map created)."""


@dataclass(frozen=True)
class MergeResult:
    data: dict[str, Any]
    """The merged scenario as the file's data: every number a ``{value, source, …}`` note."""
    report: tuple[str, ...]
    """What was merged, then each conflict or decision and how it was resolved."""


# --------------------------------------------------------------------------- numbers with notes


class _Flow(dict[Any, Any]):
    """A mapping written on one line in the output ({value: …, source: …})."""


class _FlowList(list[Any]):
    """A list written on one line in the output ([a, b])."""


@dataclass(frozen=True)
class Num:
    """A number with its note: source and, when the simulator draws it, its range."""

    value: Any
    source: str = ASSUMPTION
    low: float | None = None
    high: float | None = None
    distribution: str | None = None
    sd: float | None = None

    @property
    def ranged(self) -> bool:
        return self.low is not None

    def note(self) -> _Flow:
        out = _Flow(value=_plain_number(self.value))
        if self.low is not None and self.high is not None:
            out["range"] = _FlowList([_plain_number(self.low), _plain_number(self.high)])
            out["distribution"] = self.distribution or "uniform"
            if self.sd is not None:
                out["sd"] = _plain_number(self.sd)
        out["source"] = self.source
        return out

    def shown(self) -> str:
        text = _fmt(self.value)
        if self.low is not None:
            text += f" [{_fmt(self.low)}–{_fmt(self.high)}]"
        return text


def _plain_number(x: Any) -> Any:
    """Whole floats as integers (12000000, not 12000000.0); tuples as flow lists."""
    if isinstance(x, tuple | list):
        return _FlowList(_plain_number(v) for v in x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return int(x)
    return x


def _tidy(x: float) -> float:
    """A derived number at 12 significant digits: 0.6133333333 rather than 0.61333333333333329."""
    return float(f"{x:.{_SIGNIFICANT}g}")


def _fmt(x: Any) -> str:
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return str(x)
    if isinstance(x, tuple | list):  # years or months: as written
        return "[" + ", ".join(str(v) for v in x) + "]"
    if isinstance(x, int) and 1900 <= x <= 2200:  # a year
        return str(x)
    if isinstance(x, int | float) and abs(x) >= 1000:
        return f"{x:,.0f}"
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


class _Export:
    """One input scenario in the file's form: each number with its source and range, read from
    the scenario's provenance and uncertainties by its path."""

    def __init__(self, province: Province) -> None:
        self.p = province
        self.s = province.scenario
        self.sources = self.s.provenance
        self.ranges = self.s.uncertainties.ranges
        self.mixes = self.s.uncertainties.level_mixes

    def num(self, path: str, value: Any) -> Num:
        r = self.ranges.get(path)
        source = self.sources.source_of(path)
        if r is None:
            return Num(value, source)
        return Num(value, source, r.low, r.high, r.distribution, r.sd)

    def table(self, path: str, table: Mapping[int, Any]) -> _Flow:
        """A level table as one note (its concentration kept); entries whose sources differ
        keep their own notes inside it."""
        sources = {lvl: self.sources.source_of(f"{path}.{lvl}") for lvl in table}
        mix = self.mixes.get(path)
        common = mix.source if mix is not None else next(iter(sources.values()), ASSUMPTION)
        value = _Flow(
            (lvl, _plain_number(v) if sources[lvl] == common else Num(v, sources[lvl]).note())
            for lvl, v in table.items()
        )
        out = _Flow(value=value)
        if mix is not None:
            out["concentration"] = _plain_number(mix.concentration)
        out["source"] = common
        return out

    def node(self, obj: Any, path: str) -> Any:
        """Any part of the scenario, as given in the file (fields left to their defaults stay
        out), every number as a note."""
        if isinstance(obj, BaseModel):
            out: dict[str, Any] = {}
            for name in type(obj).model_fields:
                if name not in obj.model_fields_set:
                    continue
                value = getattr(obj, name)
                here = _join(path, name)
                if name in _LEVEL_TABLES and isinstance(value, Mapping):
                    out[name] = self.table(here, value)
                else:
                    out[name] = self.node(value, here)
            return out
        if isinstance(obj, Mapping):
            return {k: self.node(v, _join(path, k)) for k, v in obj.items()}
        if isinstance(obj, tuple | list):
            if obj and all(_is_number(v) for v in obj):
                # a list of numbers (milestones, exam months) carries one note
                return Num(tuple(obj), self.sources.source_of(f"{path}.0")).note()
            if all(isinstance(v, str) for v in obj):
                return _FlowList(obj)
            return [self.node(v, _join(path, i)) for i, v in enumerate(obj)]
        if _is_number(obj):
            return self.num(path, obj).note()
        return obj


# --------------------------------------------------------------------------- the report


@dataclass
class _Report:
    lines: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.lines.append(text)


def _cites(source: str) -> str:
    return " ".join(source.split())


def _merged_source(how: str, parts: Sequence[tuple[str, Num]], *, values: bool = True) -> str:
    """A source that says how a number was made and cites every input's own source. It starts
    with "assumption" when any part rests on one: a mean of assumptions is an assumption."""
    assumed = any(n.source.strip().lower().startswith(ASSUMPTION) for _, n in parts)
    prefix = "assumption, merged" if assumed else "merged"
    cited = "; ".join(
        f"{name} {n.shown()} ({_cites(n.source)})" if values else f"{name}: {_cites(n.source)}"
        for name, n in parts
    )
    return (
        f"{prefix} by simopt merge: {how} of {cited}"
        if values
        else (f"{prefix} by simopt merge: {how}; sources {cited}")
    )


def _same(parts: Sequence[tuple[str, Num]]) -> Num | None:
    """The common number when every input states the same (value, range and distribution),
    with every input's source cited when they differ; None when the inputs differ."""
    first = parts[0][1]
    if any(
        (n.value, n.low, n.high, n.distribution, n.sd)
        != (first.value, first.low, first.high, first.distribution, first.sd)
        for _, n in parts
    ):
        return None
    if all(n.source == first.source for _, n in parts):
        return first
    return Num(
        first.value,
        _merged_source("the same value in every input", parts, values=False),
        first.low,
        first.high,
        first.distribution,
        first.sd,
    )


def _weighted(
    parts: Sequence[tuple[str, Num, float]], what: str, report: _Report, path: str
) -> Num:
    """The weighted mean of the values and, alike, of the range ends (an input without a range
    counts as [value, value]); the distribution kept when every ranged input agrees, else
    triangular. Weighted means of weighted means with summed weights are the flat mean, so the
    merge stays associative."""
    weights = [w for _, _, w in parts]
    if math.fsum(weights) <= 0:  # nobody eligible anywhere: an unweighted mean
        weights = [1.0] * len(parts)
    total = math.fsum(weights)

    def mean(values: Iterable[float]) -> float:
        return _tidy(math.fsum(w * v for w, v in zip(weights, values, strict=True)) / total)

    nums = [n for _, n, _ in parts]
    value = mean(float(n.value) for n in nums)
    low = high = sd = None
    distribution = None
    if any(n.ranged for n in nums):
        low = mean(float(n.low if n.low is not None else n.value) for n in nums)
        high = mean(float(n.high if n.high is not None else n.value) for n in nums)
        kinds = list(dict.fromkeys(n.distribution for n in nums if n.ranged))
        distribution = kinds[0] if len(kinds) == 1 else "triangular"
        if len(kinds) > 1:
            report.add(
                f"{path}: distributions differ ("
                + ", ".join(f"{name} {n.distribution}" for name, n, _ in parts if n.ranged)
                + ") → triangular"
            )
        if distribution == "normal" and any(n.sd is not None for n in nums if n.ranged):
            sd = mean(
                n.sd if n.sd is not None else (float(n.high or 0) - float(n.low or 0)) / 4
                for n in nums
            )
    weights_text = ", ".join(
        f"{name} {_fmt(w)}" for (name, _, _), w in zip(parts, weights, strict=True)
    )
    how = f"{what} weighted mean (weights {weights_text}"
    how += "; range ends weighted alike)" if low is not None else ")"
    labelled = [(name, n) for name, n, _ in parts]
    return Num(value, _merged_source(how, labelled), low, high, distribution, sd)


def _pick(parts: Sequence[tuple[str, Num, float]], rule: str) -> tuple[str, Num]:
    if rule == "first":
        return parts[0][0], parts[0][1]
    chosen = (max if rule == "max" else min)(parts, key=lambda part: part[1].value)
    return chosen[0], chosen[1]


def _summed(parts: Sequence[tuple[str, Num]], what: str = "sum") -> Num:
    """The sum of numbers that add up (ceilings, seats, minimum counts)."""
    if len(parts) == 1:
        return parts[0][1]
    values = [n.value for _, n in parts]
    if all(isinstance(v, int) for v in values):
        total: float = sum(values)
    else:
        total = _tidy(math.fsum(float(v) for v in values))
    return Num(total, _merged_source(what, parts))


# --------------------------------------------------------------------------- options


_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _identifier(text: str, what: str) -> str:
    if not _IDENT.fullmatch(text):
        raise MergeError(
            f"{what} {printable(text)!r} must be a name of letters, digits and _ that starts with "
            "a letter"
        )
    return text


def parse_pairs(
    items: Sequence[str] | None, option: str, example: str
) -> tuple[tuple[str, str], ...]:
    """``KEY=VALUE`` option values as pairs; anything else is a one-line :class:`MergeError`."""
    out: list[tuple[str, str]] = []
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise MergeError(f"{option} {printable(item)!r}: write it as {example}")
        out.append((key.strip(), value.strip()))
    return tuple(out)


class _Rules:
    """--rule FIELD=first|max|min, by field name (every course) or by full path."""

    def __init__(self, rules: Sequence[tuple[str, str]]) -> None:
        self.by_key: dict[str, str] = {}
        known = (*WEIGHTED_FIELDS, *STRUCTURAL_FIELDS)
        for key, rule in rules:
            if rule not in RULES:
                raise MergeError(
                    f"--rule {printable(key)}={printable(rule)}: the rule must be one of "
                    f"{', '.join(RULES)}"
                )
            if key.rpartition(".")[2] not in known:
                raise MergeError(
                    f"--rule {printable(key)}: not a number merge resolves; name one of "
                    f"{', '.join(known)} (or its path, e.g. courses.level4.exam_pass_probability)"
                )
            if key in self.by_key:
                raise MergeError(f"--rule {printable(key)} is given twice")
            if key.rpartition(".")[2] == "session_months" and rule != "first":
                raise MergeError("--rule session_months: only 'first' applies to a list of months")
            self.by_key[key] = rule

    def get(self, path: str) -> str | None:
        return self.by_key.get(path) or self.by_key.get(path.rpartition(".")[2])


# --------------------------------------------------------------------------- where pools go


@dataclass
class _Layout:
    """Where each input's pools go: their new ids and merged groups, and which groups --map
    renamed or folded into an existing group."""

    pool_id: list[dict[str, str]]
    pool_group: list[dict[str, str]]
    group_map: dict[str, str]
    renamed: dict[str, str]
    """Group → the new id it was renamed to (NEW named no existing group): targets follow."""
    folded: dict[str, str]
    """Group → the existing group it was folded into: its targets follow only where that group
    carries a target of the same id (the same programme target), else they are dropped."""
    moved_pools: dict[str, str]
    """New pool id → the group --map moved it to."""


def _layout(
    provinces: Sequence[Province], maps: Sequence[tuple[str, str]], report: _Report
) -> _Layout:
    pool_id: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for p in provinces:
        ids: dict[str, str] = {}
        for pid, (_, pool) in p.scenario.pools().items():
            new = pid if FORMER in pool.attributes else f"{p.name}_{pid}"
            if new in seen:
                raise MergeError(
                    f"pool {new!r} comes from both {seen[new]} and {p.name}: is a province "
                    "merged twice? (a pool with the attribute former_province keeps its id)"
                )
            seen[new] = p.name
            ids[pid] = new
        pool_id.append(ids)

    groups = {gid for p in provinces for gid in p.scenario.groups}
    group_map: dict[str, str] = {}
    moved_pools: dict[str, str] = {}
    for old, new in maps:
        _identifier(new, f"--map {old}=: the group")
        if old in group_map or old in moved_pools:
            raise MergeError(f"--map {printable(old)}: given twice")
        pools = _pools_named(old, provinces, pool_id)
        if old in groups and pools:
            raise MergeError(
                f"--map {printable(old)}: is both a group and a pool; name the pool by its "
                f"prefixed id ({', '.join(pools)})"
            )
        if old in groups:
            group_map[old] = new
        elif len(pools) == 1:
            moved_pools[pools[0]] = new
        elif pools:
            raise MergeError(
                f"--map {printable(old)}: pool {printable(old)!r} is in several inputs; name one "
                f"of {', '.join(pools)}"
            )
        else:
            all_pools = [new_id for ids in pool_id for new_id in ids.values()]
            raise MergeError(
                f"--map {printable(old)}={printable(new)}: no group or pool {printable(old)!r} in "
                f"the inputs (groups: {', '.join(sorted(groups))}; pools: {', '.join(all_pools)})"
            )
    kept = groups - set(group_map)
    renamed = {g: n for g, n in group_map.items() if n not in kept}
    folded = {g: n for g, n in group_map.items() if n in kept}
    pool_group: list[dict[str, str]] = []
    for p, ids in zip(provinces, pool_id, strict=True):
        where: dict[str, str] = {}
        for pid, (gid, _) in p.scenario.pools().items():
            where[pid] = moved_pools.get(ids[pid], group_map.get(gid, gid))
        pool_group.append(where)
    for g, n in renamed.items():
        report.add(f"--map {g}={n}: every pool of {g} is now in {n}, which carries {g}'s targets")
    for g, n in folded.items():
        report.add(
            f"--map {g}={n}: every pool of {g} joins {n} and counts in {n}'s targets; {g}'s own "
            f"targets follow only where {n} carries a target of the same id"
        )
    for pid, n in moved_pools.items():
        report.add(f"--map {pid}={n}: pool {pid} moves to {n} and counts in {n}'s targets")
    return _Layout(pool_id, pool_group, group_map, renamed, folded, moved_pools)


def _pools_named(
    name: str, provinces: Sequence[Province], pool_id: Sequence[dict[str, str]]
) -> list[str]:
    """New ids of the pools ``name`` names: a new (prefixed) id, or an input's own id."""
    exact = [new for ids in pool_id for new in ids.values() if new == name]
    if exact:
        return exact
    return [ids[name] for ids in pool_id if name in ids]


# --------------------------------------------------------------------------- the merge


def merge(provinces: Sequence[Province], options: MergeOptions) -> MergeResult:
    """The merged scenario of ``provinces`` (at least two) as data, and the report."""
    if len(provinces) < 2:
        raise MergeError("merge needs at least two scenarios")
    _identifier(options.name, "--name")
    names = [p.name for p in provinces]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MergeError(
            f"two inputs are both named {twice[0]!r}: each province needs its own name"
        )
    report = _Report()
    report.add(
        f"merged {', '.join(f'{p.name} ({p.label}, {p.file})' for p in provinces)} into "
        f"{options.name}"
    )
    rules = _Rules(options.rules)
    ex = [_Export(p) for p in provinces]
    layout = _layout(provinces, options.maps, report)
    horizon, start_year = _horizon(provinces, ex, report)
    course_groups = _merged_course_groups(provinces, layout)
    closed = _closed_records(provinces, layout, course_groups)
    groups = _groups(provinces, ex, layout, closed, dict(options.group_names), report)
    data: dict[str, Any] = {
        "name": options.name,
        "title": options.title
        or f"{' + '.join(p.label for p in provinces)} — merged province (2025 reform)",
        "province": " + ".join(p.label for p in provinces),
    }
    documents = [p.scenario.source_document for p in provinces if p.scenario.source_document]
    if documents:
        data["source_document"] = "; ".join(dict.fromkeys(documents))
    data["notes"] = _notes(provinces, start_year)
    data["horizon"] = horizon
    data["groups"] = groups
    promotions = _promotions(provinces, ex, layout)
    if promotions:
        data["promotions"] = promotions
    data["courses"] = _courses(provinces, ex, course_groups, rules, report)
    data["exams"] = _exams(provinces, ex, rules, report)
    sources = _funding_sources(provinces, report)
    if sources:
        data["funding_sources"] = sources
    budget = _budget(provinces, ex, start_year, rules, report)
    if budget:
        data["budget"] = budget
    correlations = _correlations(provinces, ex, layout, report)
    if correlations:
        data["correlations"] = correlations
    data["targets"] = _targets(provinces, ex, layout, start_year, report)
    start = _start(provinces, ex, layout, start_year, report)
    if start:
        data["start"] = start
    actuals = _actuals(provinces, ex, layout, start_year, report)
    if actuals:
        data["actuals"] = actuals
    stated = [p.name for p in provinces if p.scenario.stated_budget is not None]
    if stated:
        report.add(
            f"stated_budget of {', '.join(stated)} dropped: it is a plan's own printed budget, "
            "for `simopt audit` of that plan; the merged province has printed none"
        )
    return MergeResult(data, tuple(report.lines))


def _notes(provinces: Sequence[Province], start_year: int) -> str:
    parts = [
        f"Built by simopt merge from {', '.join(p.label for p in provinces)} (the 2025 reform: "
        "provinces merged and the district level abolished on 1 July 2025). Pools are kept "
        "apart (attribute former_province); each input's levels are its stated state, taken as "
        f"of 1 January {start_year} (an assumption where an input starts earlier)."
    ]
    parts += [
        f"[{p.label}] {' '.join(p.scenario.notes.split())}" for p in provinces if p.scenario.notes
    ]
    return "\n".join(parts)


def _horizon(
    provinces: Sequence[Province], ex: Sequence[_Export], report: _Report
) -> tuple[dict[str, Any], int]:
    ends = {p.scenario.horizon.end_year for p in provinces}
    if len(ends) > 1:
        raise MergeError(
            "the inputs' horizons end in different years ("
            + ", ".join(f"{p.name} {p.scenario.horizon.end_year}" for p in provinces)
            + "); give them one end year first"
        )
    end = ends.pop()
    starts = [
        (p.name, e.num("horizon.start_year", p.scenario.horizon.start_year))
        for p, e in zip(provinces, ex, strict=True)
    ]
    start_year = max(n.value for _, n in starts)
    start = _same(starts)
    if start is None:
        latest = [(name, n) for name, n in starts if n.value == start_year]
        start = Num(
            start_year,
            _merged_source(f"the latest start ({start_year}) of the inputs'", starts),
        )
        earlier = [name for name, n in starts if n.value < start_year]
        report.add(
            "horizon.start_year: "
            + ", ".join(f"{name} {n.value}" for name, n in starts)
            + f" → {start_year}, the later start (of {', '.join(n for n, _ in latest)}); the "
            f"state {', '.join(earlier)} stated for its own start is taken as of 1 January "
            f"{start_year} — an assumption"
        )
    # a list's note carries the source of its first entry; the lists are compared whole
    mile_parts = [
        (p.name, e.num("horizon.milestones.0", p.scenario.horizon.milestones))
        for p, e in zip(provinces, ex, strict=True)
    ]
    milestones = _same(mile_parts)
    years = sorted({y for p in provinces for y in p.scenario.horizon.milestones})
    kept = tuple(y for y in years if start_year <= y <= end)
    if milestones is None or milestones.value != kept:
        milestones = Num(kept, _merged_source("the milestones in the horizon", mile_parts))
        dropped = [y for y in years if y not in kept]
        if dropped or len({tuple(p.scenario.horizon.milestones) for p in provinces}) > 1:
            report.add(
                f"horizon.milestones: the union within {start_year}–{end}: {_fmt(list(kept))}"
                + (f" (dropped {_fmt(dropped)}: before the start)" if dropped else "")
            )
    end_parts = [
        (p.name, e.num("horizon.end_year", end)) for p, e in zip(provinces, ex, strict=True)
    ]
    return (
        {
            "start_year": start.note(),
            "end_year": (_same(end_parts) or end_parts[0][1]).note(),
            "milestones": milestones.note(),
        },
        int(start_year),
    )


def _effective_funding(p: Province, gid: str) -> dict[str, float]:
    """A group's funding shares; a group that states none is paid from the first public source
    (as :mod:`simopt.dynamics` reads it), which is written out so that the merge keeps it."""
    group = p.scenario.groups[gid]
    if group.funding or not p.scenario.funding_sources:
        return dict(group.funding)
    sources = p.scenario.funding_sources
    public = [sid for sid, src in sources.items() if src.public]
    return {(public or list(sources))[0]: 1.0}


def _groups(
    provinces: Sequence[Province],
    ex: Sequence[_Export],
    layout: _Layout,
    closed: Sequence[Mapping[str, tuple[str, ...]]],
    group_names: Mapping[str, str],
    report: _Report,
) -> dict[str, Any]:
    # merged group → its pools (new id → noted pool), and the funding each input group brings
    pools: dict[str, dict[str, Any]] = {}
    names: dict[str, list[str]] = {}
    funding: dict[str, list[tuple[str, str, dict[str, Num], float]]] = {}
    for i, (p, e) in enumerate(zip(provinces, ex, strict=True)):
        contribution: dict[tuple[str, str], float] = {}
        for pid, (gid, pool) in p.scenario.pools().items():
            new_group = layout.pool_group[i][pid]
            new_id = layout.pool_id[i][pid]
            pools.setdefault(new_group, {})[new_id] = _pool(p, e, gid, pid, pool, closed[i][pid])
            names.setdefault(new_group, [])
            group_name = p.scenario.groups[gid].name
            if group_name and group_name not in names[new_group]:
                names[new_group].append(group_name)
            key = (new_group, gid)
            contribution[key] = contribution.get(key, 0.0) + pool.headcount
        for (new_group, gid), heads in contribution.items():
            shares = _effective_funding(p, gid)
            stated = p.scenario.groups[gid].funding
            noted = {
                src: e.num(f"groups.{gid}.funding.{src}", share)
                if src in stated
                else Num(
                    share,
                    "assumption: the group states no funding; paid from the first "
                    "public source (simopt.dynamics), not drawn",
                )
                for src, share in shares.items()
            }
            funding.setdefault(new_group, []).append((p.name, gid, noted, heads))
    unknown = sorted(set(group_names) - set(pools))
    if unknown:
        raise MergeError(
            f"--group-name {printable(unknown[0])}: no such group in the merged province "
            f"(groups: {', '.join(pools)})"
        )
    out: dict[str, Any] = {}
    for gid, members in pools.items():
        group: dict[str, Any] = {}
        name = group_names.get(gid) or " / ".join(names[gid])
        if name:
            group["name"] = name
        shares = _funding(gid, funding[gid], report)
        if shares:
            group["funding"] = shares
        group["pools"] = members
        out[gid] = group
    return out


def _funding(
    gid: str, parts: Sequence[tuple[str, str, dict[str, Num], float]], report: _Report
) -> dict[str, Any]:
    """Funding shares of a merged group: the same, or weighted by the head count each input
    group brings (a source a part does not use counts as 0)."""
    if all(not shares for _, _, shares, _ in parts):
        return {}
    if any(not shares for _, _, shares, _ in parts):
        raise MergeError(
            f"group {gid}: some inputs fund it from named sources and some name no funding "
            "source at all; give every input funding_sources first"
        )
    sources = list(dict.fromkeys(src for _, _, shares, _ in parts for src in shares))
    labels = [name if own == gid else f"{name}.{own}" for name, own, _, _ in parts]
    out: dict[str, Any] = {}
    differ = False
    per_source: dict[str, list[tuple[str, Num, float]]] = {}
    for src in sources:
        per_source[src] = [
            (label, shares.get(src, Num(0.0, "assumption: this source pays nothing here")), heads)
            for label, (_, _, shares, heads) in zip(labels, parts, strict=True)
        ]
        if _same([(label, n) for label, n, _ in per_source[src]]) is None:
            differ = True
    for src, src_parts in per_source.items():
        same = _same([(label, n) for label, n, _ in src_parts])
        if same is not None and not differ:
            out[src] = same.note()
        else:
            out[src] = _weighted(
                src_parts, "head-count", report, f"groups.{gid}.funding.{src}"
            ).note()
    if differ:
        report.add(
            f"groups.{gid}.funding: shares differ ("
            + "; ".join(
                f"{label} " + ", ".join(f"{src} {_fmt(n.value)}" for src, n in shares.items())
                for label, (_, _, shares, _) in zip(labels, parts, strict=True)
            )
            + ") → head-count weighted: "
            + ", ".join(f"{src} {_fmt(out[src]['value'])}" for src in sources)
        )
    return out


def _pool(
    p: Province, e: _Export, gid: str, pid: str, pool: Pool, closed: Sequence[str]
) -> dict[str, Any]:
    """A pool as written in the merged file: one from an earlier merge as it was, any other named
    with its province and marked with it; either marked with the courses its former province did
    not open to it that the merged province does (``former_closed_courses``), when there are any."""
    noted = e.node(pool, f"groups.{gid}.pools.{pid}")
    attributes = {k: v for k, v in noted.get("attributes", {}).items() if k != FORMER_CLOSED}
    if FORMER not in pool.attributes:
        attributes[FORMER] = p.name
    if closed:
        attributes[FORMER_CLOSED] = " ".join(closed)
    out: dict[str, Any] = {}
    for name in Pool.model_fields:
        if name == "name" and FORMER not in pool.attributes:
            out[name] = f"{pool.name or pid} [{p.label}]"
        elif name == "attributes":
            if attributes:
                out[name] = _Flow(attributes)
        elif name in noted:
            out[name] = noted[name]
    return out


def _promotions(
    provinces: Sequence[Province], ex: Sequence[_Export], layout: _Layout
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, (p, e) in enumerate(zip(provinces, ex, strict=True)):
        for j, promo in enumerate(p.scenario.promotions):
            noted = e.node(promo, f"promotions.{j}")
            noted["from_pool"] = layout.pool_id[i][promo.from_pool]
            noted["to_pool"] = layout.pool_id[i][promo.to_pool]
            out.append(noted)
    return out


def _recorded_closed(pool: Pool) -> tuple[str, ...]:
    """The courses an earlier merge recorded as closed to the pool in its former province."""
    text = pool.attributes.get(FORMER_CLOSED)
    return () if text is None else tuple(str(text).split())


def _closed_before(p: Province, gid: str, pool: Pool, cid: str) -> bool:
    """Whether course ``cid`` was closed to a pool (of group ``gid`` in input ``p``) in the
    province the pool came from: the input does not offer it, or not to the pool's group, or
    (a pool from an earlier merge) its former province did not."""
    course = p.scenario.courses.get(cid)
    if course is None or (course.groups is not None and gid not in course.groups):
        return True
    return cid in _recorded_closed(pool)


def _course_weight(p: Province, cid: str) -> float:
    """Eligible people a course was open to in the provinces an input is made of (its own pools
    its course is open to, less those marked closed by an earlier merge): the weight of that
    input's numbers. Summed over the inputs of an earlier merge, so nested means weigh as flat."""
    return float(
        sum(
            pool.eligible
            for gid, pool in p.scenario.pools().values()
            if not _closed_before(p, gid, pool, cid)
        )
    )


def _merged_course_groups(
    provinces: Sequence[Province], layout: _Layout
) -> dict[str, list[str] | None]:
    """Each course's groups in the merged province: a course open to all in any input is open to
    all (None); else the merged groups its groups' pools went to."""
    ids = list(dict.fromkeys(cid for p in provinces for cid in p.scenario.courses))
    out: dict[str, list[str] | None] = {}
    for cid in ids:
        having = [
            (i, p, p.scenario.courses[cid].groups)
            for i, p in enumerate(provinces)
            if cid in p.scenario.courses
        ]
        if any(groups is None for _, _, groups in having):
            out[cid] = None
            continue
        merged: dict[str, None] = {}
        for i, p, groups in having:
            for gid in groups or ():
                for pid in p.scenario.groups[gid].pools:
                    merged[layout.pool_group[i][pid]] = None
        out[cid] = list(merged)
    return out


def _closed_records(
    provinces: Sequence[Province],
    layout: _Layout,
    course_groups: Mapping[str, list[str] | None],
) -> list[dict[str, tuple[str, ...]]]:
    """Per input, pool → the courses the merged province opens to it that its former province
    did not: what ``former_closed_courses`` records."""
    out: list[dict[str, tuple[str, ...]]] = []
    for i, p in enumerate(provinces):
        records: dict[str, tuple[str, ...]] = {}
        for pid, (gid, pool) in p.scenario.pools().items():
            group = layout.pool_group[i][pid]
            records[pid] = tuple(
                cid
                for cid, groups in course_groups.items()
                if (groups is None or group in groups) and _closed_before(p, gid, pool, cid)
            )
        out.append(records)
    return out


def _resolve(
    path: str,
    parts: Sequence[tuple[str, Num, float]],
    *,
    structural: bool,
    rules: _Rules,
    report: _Report,
    what: str = "head-count",
) -> Num:
    """One number from several inputs: the same, or a rule's pick, or (for a number that does
    not shape the model) the head-count weighted mean; a structural number that differs with no
    rule is refused."""
    if len(parts) == 1:
        return parts[0][1]
    same = _same([(name, n) for name, n, _ in parts])
    if same is not None:
        return same
    shown = ", ".join(f"{name} {n.shown()}" for name, n, _ in parts)
    rule = rules.get(path)
    if rule is not None:
        name, chosen = _pick(parts, rule)
        result = Num(
            chosen.value,
            _merged_source(f"--rule {rule}: {name}'s value", [(nm, n) for nm, n, _ in parts]),
            chosen.low,
            chosen.high,
            chosen.distribution,
            chosen.sd,
        )
        report.add(f"{path}: {shown} → {result.shown()} (--rule {rule}: {name}'s)")
        return result
    if structural:
        field_name = path.rpartition(".")[2]
        raise MergeError(
            f"{path} differs between the inputs ({shown}); it shapes the model and is not "
            f"averaged: give --rule {field_name}=first (or max, min) to choose"
        )
    result = _weighted(parts, what, report, path)
    weights = ", ".join(f"{name} {_fmt(w)}" for name, _, w in parts)
    report.add(f"{path}: {shown} → {result.shown()} ({what} weighted: {weights})")
    return result


def _courses(
    provinces: Sequence[Province],
    ex: Sequence[_Export],
    course_groups: Mapping[str, list[str] | None],
    rules: _Rules,
    report: _Report,
) -> dict[str, Any]:
    ids = list(dict.fromkeys(cid for p in provinces for cid in p.scenario.courses))
    out: dict[str, Any] = {}
    for cid in ids:
        having = [
            (i, p, e, p.scenario.courses[cid])
            for i, (p, e) in enumerate(zip(provinces, ex, strict=True))
            if cid in p.scenario.courses
        ]
        here = f"courses.{cid}"
        if len(having) < len(provinces):
            report.add(
                f"{here}: only in {', '.join(p.name for _, p, _, _ in having)}; the merged "
                "province offers it to the pools of its groups from every input"
            )
        fields = [
            name
            for name in Course.model_fields
            if any(name in c.model_fields_set for _, _, _, c in having)
        ]
        course: dict[str, Any] = {}
        for name in fields:
            values = [(i, p, e, getattr(c, name)) for i, p, e, c in having]
            path = f"{here}.{name}"
            if name == "name":
                texts = list(dict.fromkeys(v for _, _, _, v in values if v))
                course["name"] = " / ".join(texts)
            elif name == "groups":
                merged_groups = course_groups[cid]
                if merged_groups is not None:
                    course["groups"] = _FlowList(merged_groups)
                _report_course_groups(here, values, merged_groups, report)
            elif name in ("seats_per_year", "classes_per_year"):
                limited = [(p.name, e.num(path, v)) for _, p, e, v in values if v is not None]
                if len(limited) == len(values):
                    course[name] = _summed(limited).note()
                else:
                    report.add(
                        f"{path}: only {', '.join(n for n, _ in limited) or 'no input'} limits it; "
                        "limited + unlimited is unlimited: the merged course has no limit"
                    )
            else:
                parts = [(p.name, e.num(path, v), _course_weight(p, cid)) for _, p, e, v in values]
                course[name] = _resolve(
                    path,
                    parts,
                    structural=name in STRUCTURAL_FIELDS,
                    rules=rules,
                    report=report,
                ).note()
        out[cid] = course
    return out


def _report_course_groups(
    here: str,
    values: Sequence[tuple[int, Province, _Export, Any]],
    merged: Sequence[str] | None,
    report: _Report,
) -> None:
    """A line when the inputs open a course to different groups: the merged course is open to
    more people than some input's was; those people do not weigh in its numbers."""
    shown = [None if v is None else tuple(v) for _, _, _, v in values]
    if len(set(shown)) < 2:
        return
    report.add(
        f"{here}.groups: "
        + ", ".join(f"{p.name} {'all' if v is None else ' + '.join(v)}" for _, p, _, v in values)
        + f" → {'all' if merged is None else ' + '.join(merged)}; the pools it was closed to in "
        f"their former province are marked {FORMER_CLOSED} and do not weigh in its numbers"
    )


def _exams(
    provinces: Sequence[Province], ex: Sequence[_Export], rules: _Rules, report: _Report
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fields = [
        name
        for name in type(provinces[0].scenario.exams).model_fields
        if any(name in p.scenario.exams.model_fields_set for p in provinces)
    ]
    for name in fields:
        path = f"exams.{name}"
        parts = []
        for p, e in zip(provinces, ex, strict=True):
            value = getattr(p.scenario.exams, name)
            num = e.num(f"{path}.0" if isinstance(value, tuple) else path, value)
            weight = float(sum(pool.eligible for _, pool in p.scenario.pools().values()))
            parts.append((p.name, num, weight))
        out[name] = _resolve(
            path, parts, structural=name in STRUCTURAL_FIELDS, rules=rules, report=report
        ).note()
    return out


def _funding_sources(provinces: Sequence[Province], report: _Report) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ids = list(dict.fromkeys(sid for p in provinces for sid in p.scenario.funding_sources))
    for sid in ids:
        having = [
            (p.name, p.scenario.funding_sources[sid])
            for p in provinces
            if sid in p.scenario.funding_sources
        ]
        publics = {src.public for _, src in having}
        if len(publics) > 1:
            raise MergeError(
                f"funding_sources.{sid}: public in "
                + ", ".join(n for n, s in having if s.public)
                + " but not in "
                + ", ".join(n for n, s in having if not s.public)
                + "; a public source counts against the ceilings: make them agree first"
            )
        names = list(dict.fromkeys(src.name for _, src in having if src.name))
        entry: dict[str, Any] = {}
        if names:
            entry["name"] = " / ".join(names)
        entry["public"] = publics.pop()
        out[sid] = _Flow(entry)
    return out


def _budget(
    provinces: Sequence[Province],
    ex: Sequence[_Export],
    start_year: int,
    rules: _Rules,
    report: _Report,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    budgets = [p.scenario.budget for p in provinces]

    def all_or_none(path: str, values: Sequence[Any], what: str) -> Num | None:
        limited = [
            (p.name, e.num(path, v))
            for p, e, v in zip(provinces, ex, values, strict=True)
            if v is not None
        ]
        if not limited:
            return None
        if len(limited) < len(provinces):
            report.add(
                f"{path}: only {', '.join(n for n, _ in limited)} states {what}; limited + "
                "unlimited is unlimited: the merged province has none"
            )
            return None
        return _summed(limited)

    yearly = all_or_none(
        "budget.ceiling_vnd_per_year", [b.ceiling_vnd_per_year for b in budgets], "a yearly ceiling"
    )
    if yearly is not None:
        out["ceiling_vnd_per_year"] = yearly.note()
    by_year: dict[int, Any] = {}
    years = sorted({y for b in budgets for y in b.ceiling_vnd_by_year})
    for year in years:
        if year < start_year:
            report.add(f"budget.ceiling_vnd_by_year.{year}: before the merged start: dropped")
            continue
        parts: list[tuple[str, Num]] = []
        for p, e, b in zip(provinces, ex, budgets, strict=True):
            value = b.ceiling_for(year)
            if value is None:
                continue
            path = (
                f"budget.ceiling_vnd_by_year.{year}"
                if year in b.ceiling_vnd_by_year
                else "budget.ceiling_vnd_per_year"
            )
            parts.append((p.name, e.num(path, value)))
        if len(parts) < len(provinces):
            report.add(
                f"budget.ceiling_vnd_by_year.{year}: only {', '.join(n for n, _ in parts)} "
                "limits that year; limited + unlimited is unlimited: none"
            )
            continue
        by_year[year] = _summed(parts).note()
    if by_year:
        out["ceiling_vnd_by_year"] = by_year
    sources = list(dict.fromkeys(s for b in budgets for s in b.source_ceilings_vnd_per_year))
    per_source: dict[str, Any] = {}
    for src in sources:
        total = all_or_none(
            f"budget.source_ceilings_vnd_per_year.{src}",
            [b.source_ceilings_vnd_per_year.get(src) for b in budgets],
            f"a yearly ceiling on {src}",
        )
        if total is not None:
            per_source[src] = total.note()
    if per_source:
        out["source_ceilings_vnd_per_year"] = per_source
    envelopes = _envelopes(provinces, ex, start_year, report)
    if envelopes:
        out["envelopes"] = envelopes
    total = all_or_none(
        "budget.total_ceiling_vnd", [b.total_ceiling_vnd for b in budgets], "a total ceiling"
    )
    if total is not None:
        out["total_ceiling_vnd"] = total.note()
        if any(p.scenario.horizon.start_year < start_year for p in provinces):
            report.add(
                "budget.total_ceiling_vnd: summed whole although the merged horizon starts later "
                "than some input's: a looser but still true bound"
            )
    if any("discount_rate_per_year" in b.model_fields_set for b in budgets):
        rates = [
            (p.name, e.num("budget.discount_rate_per_year", b.discount_rate_per_year), 1.0)
            for p, e, b in zip(provinces, ex, budgets, strict=True)
        ]
        out["discount_rate_per_year"] = _resolve(
            "budget.discount_rate_per_year", rates, structural=True, rules=rules, report=report
        ).note()
    return out


def _envelopes(
    provinces: Sequence[Province], ex: Sequence[_Export], start_year: int, report: _Report
) -> dict[str, Any]:
    """Envelopes of the same name and span are summed; a span that starts before the merged
    horizon is cut to it (spending in the shorter span is within the whole span's ceiling, so the
    bound still holds)."""
    names = list(dict.fromkeys(n for p in provinces for n in p.scenario.budget.envelopes))
    out: dict[str, Any] = {}
    for name in names:
        here = f"budget.envelopes.{name}"
        spans: list[tuple[str, tuple[int, int, str | None], dict[str, Num], str]] = []
        for p, e in zip(provinces, ex, strict=True):
            env = p.scenario.budget.envelopes.get(name)
            if env is None:
                continue
            if env.last_year < start_year:
                report.add(f"{here} of {p.name}: ends before the merged start: dropped")
                continue
            first = e.num(f"{here}.first_year", env.first_year)
            if env.first_year < start_year:
                report.add(
                    f"{here} of {p.name}: {env.first_year}–{env.last_year} cut to "
                    f"{start_year}–{env.last_year} (the merged start), ceiling kept"
                )
                first = Num(start_year, f"{first.source} (cut to the merged start by simopt merge)")
            nums = {
                "first_year": first,
                "last_year": e.num(f"{here}.last_year", env.last_year),
                "ceiling_vnd": e.num(f"{here}.ceiling_vnd", env.ceiling_vnd),
            }
            span = (int(first.value), env.last_year, env.source)
            spans.append((p.name, span, nums, env.label))
        if not spans:
            continue
        if len(spans) < len(provinces):
            report.add(
                f"{here}: only {', '.join(n for n, _, _, _ in spans)} has it; limited + unlimited "
                "is unlimited: dropped"
            )
            continue
        if len({span for _, span, _, _ in spans}) > 1:
            report.add(
                f"{here}: spans differ ("
                + ", ".join(
                    f"{n} {s[0]}–{s[1]}" + (f" {s[2]}" if s[2] else "") for n, s, _, _ in spans
                )
                + "): dropped"
            )
            continue
        env_out: dict[str, Any] = {}
        labels = list(dict.fromkeys(label for _, _, _, label in spans if label))
        if labels:
            env_out["label"] = " / ".join(labels)
        for key in ("first_year", "last_year"):
            parts = [(n, nums[key]) for n, _, nums, _ in spans]
            env_out[key] = (_same(parts) or parts[0][1]).note()
        env_out["ceiling_vnd"] = _summed(
            [(n, nums["ceiling_vnd"]) for n, _, nums, _ in spans]
        ).note()
        source = spans[0][1][2]
        if source is not None:
            env_out["source"] = source
        out[name] = env_out
    return out


# --------------------------------------------------------------------------- targets


@dataclass
class _TargetPart:
    name: str
    index: int
    tid: str
    target: Target
    groups: tuple[str, ...]
    export: _Export


def _target_groups(
    i: int,
    p: Province,
    tid: str,
    target: Target,
    layout: _Layout,
    carriers: Mapping[str, set[str]],
    report: _Report,
) -> tuple[str, ...]:
    """The merged groups a target is measured over: a renamed group's new id; a group folded
    into another only when that one carries a target of the same id (then it is the same
    programme target: this keeps (A+B)+C, where the first merge renamed the group, equal to
    A+B+C); a group emptied by pool moves no longer counts."""
    out: dict[str, None] = {}
    for gid in target.groups:
        new = layout.renamed.get(gid, layout.folded.get(gid, gid))
        if gid in layout.folded and new not in carriers.get(tid, set()):
            report.add(
                f"targets.{tid} of {p.name}: group {gid} was folded into {new}, which has no "
                f"target {tid}; the target no longer covers {gid}"
            )
            continue
        remaining = [
            pid for pid in p.scenario.groups[gid].pools if layout.pool_group[i][pid] == new
        ]
        if not remaining:
            report.add(
                f"targets.{tid} of {p.name}: every pool of {gid} was moved elsewhere; the target "
                f"no longer covers {gid}"
            )
            continue
        out[new] = None
    return tuple(out)


def _targets(
    provinces: Sequence[Province],
    ex: Sequence[_Export],
    layout: _Layout,
    start_year: int,
    report: _Report,
) -> dict[str, Any]:
    # target id → the groups (not moved by --map) that carry it in some input
    carriers: dict[str, set[str]] = {}
    for p in provinces:
        for tid, target in p.scenario.targets.items():
            kept = {g for g in target.groups if g not in layout.group_map}
            carriers.setdefault(tid, set()).update(kept)
    by_id: dict[str, list[_TargetPart]] = {}
    for i, (p, e) in enumerate(zip(provinces, ex, strict=True)):
        for tid, target in p.scenario.targets.items():
            if target.year < start_year:
                report.add(
                    f"targets.{tid} of {p.name}: due in {target.year}, before the merged start: "
                    "dropped"
                )
                continue
            groups = _target_groups(i, p, tid, target, layout, carriers, report)
            if not groups:
                report.add(f"targets.{tid} of {p.name}: covers no group any more: dropped")
                continue
            by_id.setdefault(tid, []).append(_TargetPart(p.name, i, tid, target, groups, e))
    out: dict[str, Any] = {}
    for tid, parts in by_id.items():
        keys = {_target_scope(part) for part in parts}
        if len(keys) > 1:
            for part in parts:
                out[f"{part.name}_{tid}"] = _target_apart(part, provinces[part.index], report)
            continue
        if len(parts) < len(provinces):
            report.add(
                f"targets.{tid}: only in {', '.join(part.name for part in parts)}; now measured "
                "over the merged groups' pools of every input"
            )
        out[tid] = _target_merged(tid, parts, report)
    return out


def _target_scope(part: _TargetPart) -> tuple[Any, ...]:
    """What a target is about: its groups, selector and year (share and level may differ)."""
    where = tuple(sorted((k, repr(v)) for k, v in part.target.where.items()))
    return (tuple(sorted(part.groups)), where, part.target.year)


def _target_apart(part: _TargetPart, p: Province, report: _Report) -> dict[str, Any]:
    """A target whose groups, selector or year differ between inputs stays that province's: its
    id prefixed and its selector narrowed to that province's pools."""
    formers = {str(pool.attributes.get(FORMER, p.name)) for _, pool in p.scenario.pools().values()}
    if len(formers) > 1:
        raise MergeError(
            f"targets.{part.tid}: its groups, selector or year differ between the inputs, and "
            f"{p.name} is itself a merge of {', '.join(sorted(formers))}: rename the target in "
            "one input first"
        )
    report.add(
        f"targets.{part.tid}: groups, selector or year differ between the inputs: kept apart as "
        f"{part.name}_{part.tid}, over {part.name}'s pools only"
    )
    noted = part.export.node(part.target, f"targets.{part.tid}")
    noted["groups"] = _FlowList(part.groups)
    noted["where"] = _Flow(
        {**part.export.node(part.target.where, f"targets.{part.tid}.where"), FORMER: formers.pop()}
    )
    return _ordered_target(noted)


def _ordered_target(noted: dict[str, Any]) -> dict[str, Any]:
    order = list(Target.model_fields)
    return {k: noted[k] for k in sorted(noted, key=order.index)}


def _target_merged(tid: str, parts: Sequence[_TargetPart], report: _Report) -> dict[str, Any]:
    here = f"targets.{tid}"
    first = parts[0]
    out: dict[str, Any] = {}
    labels = list(dict.fromkeys(part.target.label for part in parts if part.target.label))
    out["groups"] = _FlowList(first.groups)
    if first.target.where:
        out["where"] = _Flow(first.export.node(first.target.where, f"{here}.where"))
    level = _stricter(
        here,
        "min_level",
        [(pt.name, pt.export.num(f"{here}.min_level", pt.target.min_level)) for pt in parts],
        report,
    )
    out["min_level"] = level.note()
    shares = [
        (pt.name, pt.export.num(f"{here}.share", pt.target.share))
        for pt in parts
        if pt.target.share is not None
    ]
    share = _stricter(here, "share", shares, report) if shares else None
    if share is not None:
        out["share"] = share.note()
    counts = [
        (pt.name, pt.export.num(f"{here}.min_count", pt.target.min_count))
        for pt in parts
        if pt.target.min_count is not None
    ]
    count = _summed(counts, "sum of the minimum counts") if counts else None
    if count is not None:
        out["min_count"] = count.note()
        if len(counts) > 1:
            report.add(
                f"{here}.min_count: "
                + ", ".join(f"{n} {_fmt(c.value)}" for n, c in counts)
                + f" → {_fmt(count.value)} (summed)"
            )
    years = [(pt.name, pt.export.num(f"{here}.year", pt.target.year)) for pt in parts]
    out["year"] = (_same(years) or years[0][1]).note()
    return {
        "label": _merged_label(labels, out["groups"], first.target.where, level, share, count),
        **out,
    }


_AT_LEAST = re.compile(r",?\s*at least [\d.,]+\s*$")


def _merged_label(
    labels: Sequence[str],
    groups: Sequence[str],
    where: Mapping[str, Any],
    level: Num,
    share: Num | None,
    count: Num | None,
) -> str:
    """The inputs' label when they agree but for the minimum count (which is then the summed
    one); else a label written from the merged definition."""
    bases = list(dict.fromkeys(_AT_LEAST.sub("", label) for label in labels))
    if len(bases) == 1:
        text = bases[0]
    else:
        text = f"{share.value:.0%} of " if share is not None else "people of "
        text += " + ".join(groups)
        if where:
            text += " where " + ", ".join(f"{k}={v}" for k, v in where.items())
        text += f" at level ≥ {level.value}"
    if count is not None:
        text += f", at least {_fmt(count.value)}"
    return text


def _stricter(here: str, name: str, parts: Sequence[tuple[str, Num]], report: _Report) -> Num:
    """A target's share or level that differs between inputs: the higher, i.e. the stricter (the
    merged province then meets every input's target)."""
    same = _same(parts)
    if same is not None:
        return same
    chosen = max(parts, key=lambda part: part[1].value)
    result = Num(chosen[1].value, _merged_source("the stricter (higher)", parts))
    report.add(
        f"{here}.{name}: "
        + ", ".join(f"{n} {_fmt(v.value)}" for n, v in parts)
        + f" → {_fmt(result.value)} (the stricter)"
    )
    return result


# --------------------------------------------------------------------------- correlations


def _rewrite_pattern(pattern: str, i: int, p: Province, layout: _Layout, offset: int) -> list[str]:
    """A correlation's parameter pattern in the merged file's paths. ``groups.*.pools.*.x``
    stays a wildcard (it then spans every input); a pattern naming groups or pools becomes the
    concrete paths of the pools it matched; ``promotions.N`` moves by the input's offset."""
    parts = pattern.split(".")
    if len(parts) >= 5 and parts[0] == "groups" and parts[2] == "pools":
        g, pl, rest = parts[1], parts[3], ".".join(parts[4:])
        if g == "*" and pl == "*":
            return [pattern]
        out = [
            f"groups.{layout.pool_group[i][pid]}.pools.{layout.pool_id[i][pid]}.{rest}"
            for pid, (gid, _) in p.scenario.pools().items()
            if fnmatch.fnmatchcase(gid, g) and fnmatch.fnmatchcase(pid, pl)
        ]
        return out or [pattern]
    if len(parts) >= 3 and parts[0] == "promotions" and parts[1].isdecimal():
        return [".".join(["promotions", str(int(parts[1]) + offset), *parts[2:]])]
    return [pattern]


def _correlations(
    provinces: Sequence[Province],
    ex: Sequence[_Export],
    layout: _Layout,
    report: _Report,
) -> list[dict[str, Any]]:
    entries: dict[str, list[tuple[str, list[str], Num, str, float]]] = {}
    offset = 0
    for i, (p, e) in enumerate(zip(provinces, ex, strict=True)):
        weight = float(sum(pool.eligible for _, pool in p.scenario.pools().values()))
        for j, entry in enumerate(p.scenario.correlations):
            patterns = [
                new
                for pattern in entry.parameters
                for new in _rewrite_pattern(pattern, i, p, layout, offset)
            ]
            rank = e.num(f"correlations.{j}.rank_correlation", entry.rank_correlation)
            entries.setdefault(entry.label, []).append(
                (p.name, patterns, rank, entry.source, weight)
            )
        offset += len(p.scenario.promotions)
    out: list[dict[str, Any]] = []
    for label, parts in entries.items():
        patterns = list(dict.fromkeys(pt for _, pts, _, _, _ in parts for pt in pts))
        ranks = [(name, rank, weight) for name, _, rank, _, weight in parts]
        rank = _same([(n, r) for n, r, _ in ranks]) or _weighted(
            ranks, "head-count", report, f"correlations.{label}"
        )
        if _same([(n, r) for n, r, _ in ranks]) is None:
            report.add(
                f"correlations.{label}.rank_correlation: "
                + ", ".join(f"{n} {_fmt(r.value)}" for n, r, _ in ranks)
                + f" → {_fmt(rank.value)} (head-count weighted)"
            )
        if len(parts) < len(provinces) and any("*" in pt for pt in patterns):
            report.add(
                f"correlations.{label}: only in {', '.join(n for n, *_ in parts)}; its wildcard "
                "patterns now match every input's numbers"
            )
        noted: dict[str, Any] = {"label": label, "parameters": _FlowList(patterns)}
        noted["rank_correlation"] = rank.note()
        texts = list(dict.fromkeys(src for _, _, _, src, _ in parts if src))
        if texts:
            noted["source"] = " / ".join(texts)
        out.append(noted)
    return out


# --------------------------------------------------------------------------- start, actuals


def _start(
    provinces: Sequence[Province],
    ex: Sequence[_Export],
    layout: _Layout,
    start_year: int,
    report: _Report,
) -> dict[str, Any]:
    out: dict[str, list[Any]] = {}
    for i, (p, e) in enumerate(zip(provinces, ex, strict=True)):
        shift = start_year - p.scenario.horizon.start_year
        for kind in ("in_course", "waiting", "queued"):
            for j, entry in enumerate(getattr(p.scenario.start, kind)):
                noted = e.node(entry, f"start.{kind}.{j}")
                noted["pool"] = layout.pool_id[i][entry.pool]
                if kind == "in_course" and shift:
                    year = noted["intake_year"]
                    noted["intake_year"] = Num(
                        entry.intake_year + shift,
                        f"{year['source']} (moved {shift} year(s) by simopt merge: {p.name}'s "
                        f"start state is taken as of {start_year})",
                    ).note()
                out.setdefault(kind, []).append(noted)
        if shift and not p.scenario.start.empty:
            report.add(
                f"start of {p.name}: its state on 1 January {p.scenario.horizon.start_year} is "
                f"taken as of 1 January {start_year} (intake years moved {shift} year(s))"
            )
    return dict(out)


def _actuals(
    provinces: Sequence[Province],
    ex: Sequence[_Export],
    layout: _Layout,
    start_year: int,
    report: _Report,
) -> dict[str, Any]:
    """Records of the same year side by side under the new pool ids, or summed, each part kept
    only where a partial record cannot read as a whole one:

    - ``enrolments`` only when every input recorded enrolments that year: a pool a year's
      enrolments leave out enrolled nobody, so one province's record would say that nobody in
      the others enrolled; else dropped for every province, with a line;
    - ``headcount`` and ``certified`` (surveys) per pool, as recorded: a pool a survey leaves out
      was not surveyed, so a survey of some pools is a true survey of those;
    - course- and source-keyed parts (exams, completions, spending) summed when every input
      recorded them that year (a sum of one province's record would read as the whole
      province's), else dropped with a line."""
    having = [
        (i, p, e)
        for i, (p, e) in enumerate(zip(provinces, ex, strict=True))
        if p.scenario.actuals is not None
    ]
    if not having:
        return {}
    out: dict[str, Any] = {}
    notes = [
        f"[{p.label}] {p.scenario.actuals.note}"
        for _, p, _ in having
        if p.scenario.actuals and p.scenario.actuals.note
    ]
    if notes:
        out["note"] = " ".join(notes)
    if any(p.scenario.actuals and p.scenario.actuals.illustrative for _, p, _ in having):
        out["illustrative"] = True
    years = sorted(
        {y for _, p, _ in having for y in (p.scenario.actuals.years if p.scenario.actuals else {})}
    )
    merged_years: dict[int, Any] = {}
    for year in years:
        if year < start_year:
            report.add(f"actuals.years.{year}: before the merged start: dropped")
            continue
        records = [
            (i, p, e, p.scenario.actuals.years[year])
            for i, p, e in having
            if p.scenario.actuals is not None and year in p.scenario.actuals.years
        ]
        here = f"actuals.years.{year}"
        rec: dict[str, Any] = {}
        for part in ("enrolments", "headcount", "certified"):
            side: dict[str, Any] = {}
            recorded = []
            for i, p, e, r in records:
                values = getattr(r, part)
                if values is None:
                    continue
                recorded.append(p.name)
                for pid, v in values.items():
                    side[layout.pool_id[i][pid]] = e.node(v, f"{here}.{part}.{pid}")
            if not recorded:
                continue
            if part == "enrolments":
                if len(recorded) < len(provinces):
                    report.add(
                        f"{here}.enrolments: recorded by {', '.join(recorded)} only: dropped for "
                        "every province (a pool left out of a year's enrolments reads as nobody "
                        "enrolled)"
                    )
                    continue
                rec[part] = side  # every input recorded that year: {} is "nobody enrolled"
            elif side:
                rec[part] = side
                if len(recorded) < len(provinces):
                    report.add(
                        f"{here}.{part}: recorded for {', '.join(recorded)}'s pools only (a "
                        "survey of those pools; the others' are unsurveyed)"
                    )
        for part, fields in (
            ("exams", ("sat", "passed")),
            ("completions", ("finished", "completed")),
        ):
            summed = _summed_record(records, part, fields, here, len(provinces), report)
            if summed:
                rec[part] = summed
        spending = _summed_record(records, "spending_vnd", None, here, len(provinces), report)
        if spending:
            rec["spending_vnd"] = spending
        if rec:
            merged_years[year] = rec
    if merged_years:
        out["years"] = merged_years
    return out


def _summed_record(
    records: Sequence[tuple[int, Province, _Export, Any]],
    part: str,
    fields: tuple[str, ...] | None,
    here: str,
    n_inputs: int,
    report: _Report,
) -> dict[str, Any]:
    present = [(p, e, getattr(r, part)) for _, p, e, r in records if getattr(r, part) is not None]
    if not present:
        return {}
    if len(present) < n_inputs:
        report.add(
            f"{here}.{part}: recorded by {', '.join(p.name for p, _, _ in present)} only: "
            "dropped (one province's figure would read as the merged province's)"
        )
        return {}
    keys = list(dict.fromkeys(k for _, _, values in present for k in values))
    out: dict[str, Any] = {}
    for key in keys:
        if fields is None:
            parts = [
                (p.name, e.num(f"{here}.{part}.{key}", values.get(key, 0.0)))
                for p, e, values in present
            ]
            out[key] = _summed(parts).note()
            continue
        entry: dict[str, Any] = {}
        for name in fields:
            parts = [
                (
                    p.name,
                    e.num(
                        f"{here}.{part}.{key}.{name}",
                        getattr(values[key], name) if key in values else 0,
                    ),
                )
                for p, e, values in present
            ]
            entry[name] = _summed(parts).note()
        out[key] = entry
    return out


# --------------------------------------------------------------------------- files


class _Dumper(yaml.SafeDumper):
    """Notes and short lists on one line; no anchors (a merged file is read by people)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_flow(dumper: yaml.SafeDumper, data: Mapping[Any, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _represent_flow_list(dumper: yaml.SafeDumper, data: Sequence[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


def _represent_text(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(_Flow, _represent_flow)
_Dumper.add_representer(str, _represent_text)
_Dumper.add_representer(_FlowList, _represent_flow_list)


def render(result: MergeResult, *, command: str, inputs: Sequence[tuple[str, bytes]]) -> str:
    """The merged scenario as the file ``simopt merge`` writes: a header saying how it was
    built (the command, each input's SHA-256, the report), then the YAML."""
    header = [
        "Built by `simopt merge`; do not edit by hand: change the inputs and run again:",
        f"  {command}",
        "Inputs:",
        *(f"  {name}  sha256 {hashlib.sha256(raw).hexdigest()}" for name, raw in inputs),
        "Report:",
        *(f"  {line}" for line in result.report),
    ]
    body = yaml.dump(
        result.data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=10**6,
        default_flow_style=False,
    )
    comments = "".join(f"# {' '.join(printable(line).split())}\n" for line in header)
    return comments + "\n" + body


@dataclass(frozen=True)
class MergedFile:
    text: str
    scenario: Scenario
    report: tuple[str, ...]


def merge_files(
    files: Sequence[str | Path], options: MergeOptions, *, command: str, output: str = "<merged>"
) -> MergedFile:
    """Read and validate each file, merge, render, and validate the result with the loader any
    file goes through. Bad input raises :class:`ScenarioError` or :class:`MergeError`."""
    provinces: list[Province] = []
    raws: list[tuple[str, bytes]] = []
    for f in files:
        scenario = load_scenario(f)
        provinces.append(Province(scenario, str(f)))
        raws.append((str(f), Path(f).read_bytes()))
    result = merge(provinces, options)
    text = render(result, command=command, inputs=raws)
    try:
        scenario = parse_scenario(text, file=output)
    except ScenarioError as err:
        raise MergeError(
            f"the merged scenario is not valid, nothing written: {err.message}"
        ) from None
    return MergedFile(text, scenario, result.report)


def describe(merged: Scenario) -> str:
    """One line on what the merged scenario holds."""
    pools = merged.pools()
    eligible = sum(pool.eligible for _, pool in pools.values())
    return (
        f"{len(merged.groups)} groups, {len(pools)} pools ({eligible:,} eligible people), "
        f"{len(merged.courses)} courses, {len(merged.targets)} targets, horizon "
        f"{merged.horizon.start_year}–{merged.horizon.end_year}"
    )
