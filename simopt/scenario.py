"""The scenario: one province's plan as typed, frozen, validated data.

Input goes through one pipeline before any model object exists: read YAML (syntax errors with line
and column) → strip ``{value, source}`` notes into a provenance map → build the pydantic models
(types, ranges, unknown keys) → check the rules that span fields (pools that exist, targets inside
the horizon, distributions that sum to one). Every failure is one :class:`ScenarioError`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
)

from simopt.errors import ScenarioError
from simopt.yamlio import Provenance, line_of, parse_yaml_text, strip_sources

MAX_LEVEL = 6
"""Vietnam's 6-level framework (Circular 01/2014/TT-BGDĐT); level 0 = nothing certified."""

SUM_TOLERANCE = 1e-6


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _whole(value: Any) -> Any:
    value = _number(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"must be a text, not {type(value).__name__}")
    return value


Count = Annotated[int, BeforeValidator(_whole), Field(ge=0)]
PositiveCount = Annotated[int, BeforeValidator(_whole), Field(ge=1)]
Year = Annotated[int, BeforeValidator(_whole), Field(ge=1900, le=2200)]
Level = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=MAX_LEVEL)]
Month = Annotated[int, BeforeValidator(_whole), Field(ge=1, le=12)]
Vnd = Annotated[float, BeforeValidator(_number), Field(ge=0)]
Rate = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1)]
Probability = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1)]
NonNegative = Annotated[float, BeforeValidator(_number), Field(ge=0)]
Text = Annotated[str, BeforeValidator(_text)]
Identifier = Annotated[str, BeforeValidator(_text), Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
AttributeValue = bool | int | str
LevelTable = dict[Level, NonNegative]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Horizon(Model):
    """Years are calendar years; the state is known at 1 January of ``start_year``."""

    start_year: Year
    end_year: Year
    milestones: tuple[Year, ...]

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.start_year, self.end_year + 1))


class Pool(Model):
    """A disjoint slice of a group: people who share attributes and dynamics."""

    name: Text = ""
    headcount: Count
    excluded: Count = 0
    attributes: dict[Identifier, AttributeValue] = Field(default_factory=dict)
    level_shares: LevelTable | None = None
    level_counts: dict[Level, Count] | None = None
    attrition_rate_per_year: Rate = 0.0
    hires_per_year: NonNegative = 0.0
    hire_level_shares: LevelTable = Field(default_factory=lambda: {0: 1.0})

    @property
    def eligible(self) -> int:
        """People in the target base: headcount less those excluded (teachers, …)."""
        return self.headcount - self.excluded

    def start_levels(self) -> dict[int, float]:
        """Eligible people at each level at the start of the horizon."""
        if self.level_counts is not None:
            return {lvl: float(n) for lvl, n in sorted(self.level_counts.items())}
        shares = self.level_shares if self.level_shares is not None else {0: 1.0}
        return {lvl: s * self.eligible for lvl, s in sorted(shares.items())}


class Group(Model):
    name: Text = ""
    pools: dict[Identifier, Pool]
    funding: dict[Identifier, Rate] = Field(default_factory=dict)
    """Share of every cost of this group's trainees paid by each funding source."""

    @property
    def headcount(self) -> int:
        return sum(p.headcount for p in self.pools.values())

    @property
    def eligible(self) -> int:
        return sum(p.eligible for p in self.pools.values())


class Promotion(Model):
    """People moving each year from one pool to another, keeping their level."""

    from_pool: Identifier
    to_pool: Identifier
    rate_per_year: Rate


class Course(Model):
    name: Text = ""
    entry_level: Level
    target_level: Level
    duration_months: Annotated[int, BeforeValidator(_whole), Field(ge=1, le=48)]
    intake_month: Month = 1
    tuition_vnd_per_trainee: Vnd
    class_size: PositiveCount | None = None
    cost_vnd_per_class: Vnd = 0.0
    completion_rate: Probability = 1.0
    exam_pass_probability: Probability
    seats_per_year: Count | None = None
    classes_per_year: Count | None = None
    groups: tuple[Identifier, ...] | None = None
    """Groups whose people may take the course; all when omitted."""

    @property
    def capacity_per_year(self) -> float | None:
        """Trainee seats a year, from seats or classes × class size; None = unlimited."""
        limits: list[float] = []
        if self.seats_per_year is not None:
            limits.append(self.seats_per_year)
        if self.classes_per_year is not None and self.class_size is not None:
            limits.append(self.classes_per_year * self.class_size)
        return min(limits) if limits else None


class Exams(Model):
    session_months: tuple[Month, ...]
    fee_vnd: Vnd = 0.0
    max_attempts: Annotated[int, BeforeValidator(_whole), Field(ge=1, le=10)] = 1
    retake_pass_factor: NonNegative = 1.0
    """A retake passes with the course's pass probability times this factor (capped at 1)."""


class FundingSource(Model):
    name: Text = ""
    public: bool = True
    """Public sources count against the budget ceiling; trainees' own contributions do not."""


class Budget(Model):
    ceiling_vnd_per_year: Vnd | None = None
    """Ceiling on public spending (all public sources together) in every year of the horizon."""
    ceiling_vnd_by_year: dict[Year, Vnd] = Field(default_factory=dict)
    source_ceilings_vnd_per_year: dict[Identifier, Vnd] = Field(default_factory=dict)
    discount_rate_per_year: Rate = 0.0

    def ceiling_for(self, year: int) -> float | None:
        return self.ceiling_vnd_by_year.get(year, self.ceiling_vnd_per_year)


class Target(Model):
    """By the end of ``year``: ≥ ``share`` of the eligible people selected, and/or ≥ ``min_count``
    people, hold level ≥ ``min_level``."""

    label: Text = ""
    groups: tuple[Identifier, ...]
    where: dict[Identifier, AttributeValue] = Field(default_factory=dict)
    min_level: Annotated[int, BeforeValidator(_whole), Field(ge=1, le=MAX_LEVEL)]
    share: Probability | None = None
    min_count: Count | None = None
    year: Year


class StatedLine(Model):
    """One budget line as the plan prints it: people and VND for some groups."""

    groups: tuple[Identifier, ...] = ()
    people: Count | None = None
    vnd: Vnd | None = None


class StatedPhase(Model):
    first_year: Year
    last_year: Year
    people: Count | None = None
    vnd: Vnd | None = None
    people_per_year: NonNegative | None = None
    vnd_per_year: Vnd | None = None
    lines: dict[Identifier, StatedLine] = Field(default_factory=dict)


class StatedEarmark(Model):
    """Money the plan says comes from somewhere for some years (e.g. the national programme)."""

    first_year: Year
    last_year: Year
    vnd: Vnd


class StatedBudget(Model):
    """The plan's own budget, kept verbatim so that ``simopt audit`` can check its arithmetic."""

    unit_cost_vnd: Vnd
    first_year: Year
    last_year: Year
    people: Count | None = None
    vnd: Vnd | None = None
    phases: dict[Identifier, StatedPhase] = Field(default_factory=dict)
    earmarks: dict[Identifier, StatedEarmark] = Field(default_factory=dict)


class Scenario(Model):
    name: Identifier
    title: Text = ""
    province: Text = ""
    source_document: Text = ""
    notes: Text = ""
    horizon: Horizon
    groups: dict[Identifier, Group]
    promotions: tuple[Promotion, ...] = ()
    courses: dict[Identifier, Course]
    exams: Exams
    funding_sources: dict[Identifier, FundingSource] = Field(default_factory=dict)
    budget: Budget = Field(default_factory=Budget)
    targets: dict[Identifier, Target]
    stated_budget: StatedBudget | None = None

    _provenance: Provenance = PrivateAttr(default_factory=Provenance)

    @property
    def provenance(self) -> Provenance:
        return self._provenance

    def pools(self) -> dict[str, tuple[str, Pool]]:
        """Every pool by id, with the id of its group."""
        return {pid: (gid, p) for gid, g in self.groups.items() for pid, p in g.pools.items()}

    def target_pools(self, target: Target) -> list[str]:
        """Pools a target's selector picks: in its groups, with every ``where`` attribute."""
        return [
            pid
            for gid in target.groups
            for pid, pool in self.groups[gid].pools.items()
            if all(pool.attributes.get(k) == v for k, v in target.where.items())
        ]

    def eligible_base(self, target: Target) -> int:
        """Eligible people (headcount less excluded) a target is measured against, at the start."""
        pools = self.pools()
        return sum(pools[pid][1].eligible for pid in self.target_pools(target))


# --------------------------------------------------------------------------- loading pipeline


def load_scenario(path: str | Path, overrides: Mapping[str, str] | None = None) -> Scenario:
    """Read, validate and return a scenario file; raise :class:`ScenarioError` on any problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", file=file) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, not a scenario file", file=file) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text ({exc.reason})", file=file) from None
    except OSError as exc:
        raise ScenarioError(f"cannot be read ({exc.strerror})", file=file) from None
    return parse_scenario(text, file=file, overrides=overrides)


def parse_scenario(
    text: str, *, file: str = "<text>", overrides: Mapping[str, str] | None = None
) -> Scenario:
    """Validate scenario YAML text; ``overrides`` maps dotted paths to YAML values (``--set``)."""
    data, node = parse_yaml_text(text, file=file)
    if data is None:
        raise ScenarioError("the file is empty; a scenario is a YAML mapping", file=file)
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario must be a YAML mapping of fields, not a {_yaml_kind(data)}", file=file
        )
    if overrides:
        from simopt.overrides import apply_overrides

        data = apply_overrides(data, overrides, file=file)
    try:
        return build_scenario(data, file=file)
    except ScenarioError as err:
        if err.line is None and err.path:
            keys = tuple(int(p) if p.isdigit() else p for p in err.path.split("."))
            raise err.located(line=line_of(node, keys)) from None
        raise


def build_scenario(data: dict[str, Any], *, file: str = "<scenario>") -> Scenario:
    """Build and check a scenario from already-parsed data."""
    provenance = Provenance()
    plain = strip_sources(data, provenance, file=file)
    try:
        scenario = Scenario.model_validate(plain)
    except ValidationError as exc:
        raise _first_error(exc, plain, file) from None
    scenario._provenance = provenance
    check_rules(scenario, file=file)
    return scenario


def _yaml_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _first_error(exc: ValidationError, data: Any, file: str) -> ScenarioError:
    err = exc.errors(include_url=False)[0]
    loc = tuple(p for p in err["loc"] if p != "[key]" and not _is_union_tag(p))
    path = ".".join(str(p) for p in loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return ScenarioError(_unknown_key_rule(loc, data), file=file, path=path, value=err["input"])
    if kind == "missing":
        return ScenarioError("is required but missing", file=file, path=path, show_value=False)
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if kind.startswith("greater_than_equal") and "ge" in err.get("ctx", {}):
        msg = f"must be ≥ {err['ctx']['ge']}"
    elif kind.startswith("less_than_equal") and "le" in err.get("ctx", {}):
        msg = f"must be ≤ {err['ctx']['le']}"
    elif kind == "string_pattern_mismatch":
        msg = "must be an identifier: a letter, then letters, digits or _"
    elif kind in {"dict_type", "model_type", "model_attributes_type"}:
        msg = f"must be a mapping, not a {_yaml_kind(err['input'])}"
    elif kind in {"tuple_type", "list_type"}:
        msg = f"must be a list, not a {_yaml_kind(err['input'])}"
    elif kind == "bool_type" or kind == "bool_parsing":
        msg = "must be true or false"
    return ScenarioError(msg, file=file, path=path, value=err["input"])


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in {"bool", "int", "str", "function-before[_whole()]"}


_FIELD_CACHE: dict[str, type[Model]] = {}


def _unknown_key_rule(loc: tuple[Any, ...], data: Any) -> str:
    """'unknown field' with a 'did you mean' taken from the model the key sits in."""
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    known = sorted(model.model_fields) if model is not None else []
    close = (
        difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        or [k for k in known if len(key) >= 3 and (k.startswith(key) or key.startswith(k))][:1]
    )
    hint = f"; did you mean '{close[0]}'?" if close else ""
    allowed = f" (known fields: {', '.join(known)})" if known and not close else ""
    return f"unknown field{hint}{allowed}"


def _model_at(loc: tuple[Any, ...]) -> type[Model] | None:
    """Walk the model classes along a location path (dict keys and list indexes skipped)."""
    import typing

    current: Any = Scenario
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if fields is not None and isinstance(part, str) and part in fields:
            current = fields[part].annotation
        elif isinstance(current, type) and issubclass(current, Model):
            return None
        # unwrap containers: dict[K, V] → V, tuple[V, ...] → V, V | None → V
        while True:
            origin = typing.get_origin(current)
            args = [a for a in typing.get_args(current) if a is not type(None)]
            if origin in (dict,) and args:
                if fields is None or part not in (fields or {}):
                    current = args[-1]
                break
            if origin in (tuple, list) and args:
                current = args[0]
                break
            if args and origin is not None and origin is not typing.Annotated:
                current = args[0]
                continue
            if origin is typing.Annotated:
                current = args[0]
                continue
            break
    return current if isinstance(current, type) and issubclass(current, Model) else None


# --------------------------------------------------------------------------- cross-field rules


def check_rules(s: Scenario, *, file: str = "<scenario>") -> None:
    """Rules that span fields; the first broken one raises."""

    def fail(path: str, value: Any, rule: str) -> None:
        raise ScenarioError(rule, file=file, path=path, value=value)

    h = s.horizon
    if h.end_year < h.start_year:
        fail("horizon.end_year", h.end_year, f"must not be before start_year ({h.start_year})")
    if not h.milestones:
        fail("horizon.milestones", list(h.milestones), "must list at least one milestone year")
    for i, year in enumerate(h.milestones):
        if i and year <= h.milestones[i - 1]:
            fail(
                f"horizon.milestones.{i}",
                year,
                f"milestone years must be in increasing order (follows {h.milestones[i - 1]})",
            )
        if not h.start_year <= year <= h.end_year:
            fail(
                f"horizon.milestones.{i}",
                year,
                f"must lie in the horizon {h.start_year}–{h.end_year}",
            )

    if not s.groups:
        fail("groups", {}, "must define at least one group")
    seen_pools: dict[str, str] = {}
    for gid, group in s.groups.items():
        if not group.pools:
            fail(f"groups.{gid}.pools", {}, "a group must have at least one pool")
        for pid, pool in group.pools.items():
            here = f"groups.{gid}.pools.{pid}"
            if pid in seen_pools:
                fail(
                    here, pid, f"pool ids must be unique; already used in group '{seen_pools[pid]}'"
                )
            seen_pools[pid] = gid
            if pool.excluded > pool.headcount:
                fail(
                    f"{here}.excluded",
                    pool.excluded,
                    f"must not exceed headcount ({pool.headcount})",
                )
            _check_levels(pool, here, fail)
        _check_funding(s, gid, group, fail)

    for i, promo in enumerate(s.promotions):
        for end in ("from_pool", "to_pool"):
            pid = getattr(promo, end)
            if pid not in seen_pools:
                fail(f"promotions.{i}.{end}", pid, _no_such("pool", pid, seen_pools))
        if promo.from_pool == promo.to_pool:
            fail(f"promotions.{i}.to_pool", promo.to_pool, "must differ from from_pool")

    if not s.courses:
        fail("courses", {}, "must define at least one course")
    for cid, course in s.courses.items():
        here = f"courses.{cid}"
        if course.target_level <= course.entry_level:
            fail(
                f"{here}.target_level",
                course.target_level,
                f"must be above entry_level ({course.entry_level})",
            )
        if course.cost_vnd_per_class > 0 and course.class_size is None:
            fail(f"{here}.cost_vnd_per_class", course.cost_vnd_per_class, "needs class_size")
        if course.classes_per_year is not None and course.class_size is None:
            fail(f"{here}.classes_per_year", course.classes_per_year, "needs class_size")
        for j, gid in enumerate(course.groups or ()):
            if gid not in s.groups:
                fail(f"{here}.groups.{j}", gid, _no_such("group", gid, s.groups))

    if not s.exams.session_months:
        fail("exams.session_months", [], "must list at least one exam month")
    months = s.exams.session_months
    for i in range(1, len(months)):
        if months[i] <= months[i - 1]:
            fail(f"exams.session_months.{i}", months[i], "exam months must be in increasing order")

    budget = s.budget
    for year in budget.ceiling_vnd_by_year:
        if not h.start_year <= year <= h.end_year:
            fail(f"budget.ceiling_vnd_by_year.{year}", year, _outside(h))
    for src in budget.source_ceilings_vnd_per_year:
        if src not in s.funding_sources:
            fail(
                f"budget.source_ceilings_vnd_per_year.{src}",
                src,
                _no_such("funding source", src, s.funding_sources),
            )

    if not s.targets:
        fail("targets", {}, "must define at least one target")
    for tid, target in s.targets.items():
        here = f"targets.{tid}"
        if not h.start_year <= target.year <= h.end_year:
            fail(f"{here}.year", target.year, _outside(h))
        if target.share is None and target.min_count is None:
            fail(
                here,
                tid,
                "a target needs a share, a min_count, or both",
            )
        if not target.groups:
            fail(f"{here}.groups", [], "must name at least one group")
        for j, gid in enumerate(target.groups):
            if gid not in s.groups:
                fail(f"{here}.groups.{j}", gid, _no_such("group", gid, s.groups))
        if not s.target_pools(target):
            fail(f"{here}.where", dict(target.where), "selects no pool in the target's groups")

    if s.stated_budget is not None:
        for ph, phase in s.stated_budget.phases.items():
            if phase.last_year < phase.first_year:
                fail(
                    f"stated_budget.phases.{ph}.last_year",
                    phase.last_year,
                    f"must not be before first_year ({phase.first_year})",
                )
            for ln, line in phase.lines.items():
                for j, gid in enumerate(line.groups):
                    if gid not in s.groups:
                        fail(
                            f"stated_budget.phases.{ph}.lines.{ln}.groups.{j}",
                            gid,
                            _no_such("group", gid, s.groups),
                        )


def _check_levels(pool: Pool, here: str, fail: Any) -> None:
    if pool.level_shares is not None and pool.level_counts is not None:
        fail(
            f"{here}.level_counts", pool.level_counts, "give level_shares or level_counts, not both"
        )
    if pool.level_shares is not None:
        total = sum(pool.level_shares.values())
        if abs(total - 1.0) > SUM_TOLERANCE:
            fail(
                f"{here}.level_shares",
                pool.level_shares,
                f"shares must sum to 1 (they sum to {total:g})",
            )
    if pool.level_counts is not None:
        total_n = sum(pool.level_counts.values())
        if total_n != pool.eligible:
            fail(
                f"{here}.level_counts",
                pool.level_counts,
                f"counts must sum to the eligible headcount {pool.eligible} "
                f"(headcount − excluded); they sum to {total_n}",
            )
    total_h = sum(pool.hire_level_shares.values())
    if abs(total_h - 1.0) > SUM_TOLERANCE:
        fail(
            f"{here}.hire_level_shares",
            pool.hire_level_shares,
            f"shares must sum to 1 (they sum to {total_h:g})",
        )


def _check_funding(s: Scenario, gid: str, group: Group, fail: Any) -> None:
    for src in group.funding:
        if src not in s.funding_sources:
            fail(
                f"groups.{gid}.funding.{src}",
                src,
                _no_such("funding source", src, s.funding_sources),
            )
    if group.funding:
        total = sum(group.funding.values())
        if abs(total - 1.0) > SUM_TOLERANCE:
            fail(
                f"groups.{gid}.funding",
                dict(group.funding),
                f"shares must sum to 1 (they sum to {total:g})",
            )


def _no_such(kind: str, name: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    listing = f" (known: {', '.join(known)})" if known and not close else ""
    return f"no {kind} of that name{hint}{listing}"


def _outside(h: Horizon) -> str:
    return f"must lie in the horizon {h.start_year}–{h.end_year}"
