"""The scenario: one province's plan as typed, frozen, validated data.

Input goes through one pipeline before any model object exists: read YAML (syntax errors with line
and column) → strip ``{value, source}`` notes into a provenance map → build the pydantic models
(types, ranges, unknown keys) → check the rules that span fields (pools that exist, targets inside
the horizon, distributions that sum to one) → check the uncertainty the notes declare (ranges,
level-table concentrations, correlations; :mod:`simopt.uncertain.parse`). Every failure is one
:class:`ScenarioError`.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
)

from simopt.errors import ScenarioError, yaml_kind
from simopt.limits import (
    MAX_COURSES,
    MAX_HORIZON_YEARS,
    MAX_POOLS,
    MAX_PROMOTIONS,
    MAX_SCENARIO_BYTES,
    MAX_SCHEDULE_CELLS,
    MAX_TARGETS,
    LimitError,
    count_rule,
)
from simopt.uncertain.spec import Uncertainties
from simopt.yamlio import DeclaredUncertainty, Provenance, line_of, parse_yaml_text, strip_sources

MAX_LEVEL = 6
"""Vietnam's 6-level framework (Circular 01/2014/TT-BGDĐT); level 0 = nothing certified."""

SUM_TOLERANCE = 1e-6

MAX_COUNT = 1_000_000_000
"""Upper bound on any count of people: a province's civil service is some tens of thousands."""

MAX_VND = 1e18
"""Upper bound on any amount of money (about 40 times Vietnam's GDP): larger is a typo."""

MAX_QUANTITY = 1e9
"""Upper bound on other non-negative quantities (hires a year, factors, people a year)."""


# --------------------------------------------------------------------------- field types
#
# Every field type checks its input itself, so that each rule reads the same wherever it applies
# ("must be a probability between 0 and 1") and nothing is converted behind the planner's back:
# true is not 1, "12" is not 12, 2.5 people is not 2, NaN and infinity are not numbers.


def _finite_number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {yaml_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number, not NaN or infinity")
    return value


def _format_bound(bound: float) -> str:
    return f"{bound:,.0f}" if float(bound).is_integer() and abs(bound) >= 10_000 else f"{bound:g}"


def _bounded(
    lo: float, hi: float, *, whole: bool, what: str = "", unit: str = ""
) -> Callable[[Any], Any]:
    """A validator for a number in [lo, hi]; ``what`` names it in the rule ("a probability")."""
    connector = "between" if not whole else "from"
    joiner = "and" if not whole else "to"
    suffix = f" {unit}" if unit else ""

    def rule(below: bool) -> str:
        if what:
            return f"must be {what} {connector} {_format_bound(lo)} {joiner} {_format_bound(hi)}"
        if below:
            return "must not be negative" if lo == 0 else f"must be at least {_format_bound(lo)}"
        return f"must be at most {_format_bound(hi)}{suffix}"

    def check(value: Any) -> int | float:
        number = _finite_number(value)
        if whole:
            if isinstance(number, float):
                if not number.is_integer():
                    raise ValueError("must be a whole number")
                number = int(number)
        else:
            try:
                number = float(number)
            except OverflowError:
                raise ValueError(rule(below=number < 0)) from None
        if number < lo:
            raise ValueError(rule(below=True))
        if number > hi:
            raise ValueError(rule(below=False))
        return number

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {yaml_kind(value)}")
    return value


_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _identifier(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a name (letters, digits and _), not {yaml_kind(value)}")
    if not _IDENTIFIER.fullmatch(value):
        raise ValueError("must be a name of letters, digits and _ that starts with a letter")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {yaml_kind(value)}")
    return value


def _attribute(value: Any) -> bool | int | str:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise ValueError(
        f"an attribute must be true/false, a whole number or text, not {yaml_kind(value)}"
    )


Count = Annotated[int, BeforeValidator(_bounded(0, MAX_COUNT, whole=True))]
PositiveCount = Annotated[int, BeforeValidator(_bounded(1, MAX_COUNT, whole=True))]
Year = Annotated[int, BeforeValidator(_bounded(1900, 2200, whole=True, what="a year"))]
Level = Annotated[int, BeforeValidator(_bounded(0, MAX_LEVEL, whole=True, what="a level"))]
TargetLevel = Annotated[int, BeforeValidator(_bounded(1, MAX_LEVEL, whole=True, what="a level"))]
Month = Annotated[int, BeforeValidator(_bounded(1, 12, whole=True, what="a month"))]
Months = Annotated[int, BeforeValidator(_bounded(1, 48, whole=True, what="a number of months"))]
Attempts = Annotated[int, BeforeValidator(_bounded(1, 10, whole=True, what="a number"))]
Vnd = Annotated[float, BeforeValidator(_bounded(0, MAX_VND, whole=False, unit="VND"))]
Rate = Annotated[float, BeforeValidator(_bounded(0, 1, whole=False, what="a rate"))]
Probability = Annotated[float, BeforeValidator(_bounded(0, 1, whole=False, what="a probability"))]
Share = Annotated[float, BeforeValidator(_bounded(0, 1, whole=False, what="a share"))]
RankCorrelation = Annotated[
    float, BeforeValidator(_bounded(-1, 1, whole=False, what="a rank correlation"))
]
NonNegative = Annotated[float, BeforeValidator(_bounded(0, MAX_QUANTITY, whole=False))]
Text = Annotated[str, BeforeValidator(_text)]
Identifier = Annotated[str, BeforeValidator(_identifier)]
Boolean = Annotated[bool, BeforeValidator(_boolean)]
AttributeValue = Annotated[bool | int | str, PlainValidator(_attribute)]
LevelTable = dict[Level, Share]


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
    funding: dict[Identifier, Share] = Field(default_factory=dict)
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
    duration_months: Months
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
    max_attempts: Attempts = 1
    retake_pass_factor: NonNegative = 1.0
    """A retake passes with the course's pass probability times this factor (capped at 1)."""


class FundingSource(Model):
    name: Text = ""
    public: Boolean = True
    """Public sources count against the budget ceiling; trainees' own contributions do not."""


class Envelope(Model):
    """A ceiling on spending summed over a span of years (a phase of the plan, say 2026–2030):
    all public sources together, or one funding source (public or not) when ``source`` is given.
    Money counts in the year it falls in, so a span reaching past the horizon counts the exam
    fees (retakes) of the last intakes that fall there."""

    label: Text = ""
    first_year: Year
    last_year: Year
    ceiling_vnd: Vnd
    source: Identifier | None = None


class Budget(Model):
    ceiling_vnd_per_year: Vnd | None = None
    """Ceiling on public spending (all public sources together) in every year of the horizon."""
    ceiling_vnd_by_year: dict[Year, Vnd] = Field(default_factory=dict)
    source_ceilings_vnd_per_year: dict[Identifier, Vnd] = Field(default_factory=dict)
    envelopes: dict[Identifier, Envelope] = Field(default_factory=dict)
    """Ceilings over spans of years (phases), by name: the name is how a diagnosis says which
    one binds and how ``--set budget.envelopes.<name>.ceiling_vnd=…`` moves it."""
    total_ceiling_vnd: Vnd | None = None
    """Ceiling on public spending summed over every year the plan spends in, exam fees falling
    after the horizon included."""
    discount_rate_per_year: Rate = 0.0

    def ceiling_for(self, year: int) -> float | None:
        return self.ceiling_vnd_by_year.get(year, self.ceiling_vnd_per_year)

    @property
    def has_ceiling(self) -> bool:
        """Whether any ceiling at all limits spending (yearly, per source, per span or total)."""
        return (
            self.ceiling_vnd_per_year is not None
            or bool(self.ceiling_vnd_by_year)
            or bool(self.source_ceilings_vnd_per_year)
            or bool(self.envelopes)
            or self.total_ceiling_vnd is not None
        )


class Target(Model):
    """By the end of ``year``: ≥ ``share`` of the eligible people selected, and/or ≥ ``min_count``
    people, hold level ≥ ``min_level``."""

    label: Text = ""
    groups: tuple[Identifier, ...]
    where: dict[Identifier, AttributeValue] = Field(default_factory=dict)
    min_level: TargetLevel
    share: Probability | None = None
    min_count: Count | None = None
    year: Year

    def required(self, base: Any) -> Any:
        """People the target asks for out of ``base`` eligible people (a number or an array):
        the share of the base or the minimum count, whichever is larger."""
        return np.maximum((self.share or 0.0) * base, float(self.min_count or 0))


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


class InCourse(Model):
    """People who entered a course before the start and are still in it on 1 January: they
    finish it, and sit its exams, on the course's own timeline from their intake."""

    pool: Identifier
    course: Identifier
    intake_year: Year
    people: NonNegative
    """Whole people from a record, or expected people from a projection: the simulators round
    each replication's count to whole people without bias."""


class Waiting(Model):
    """People who completed a course and may still sit its exam: they sit the next sessions
    from 1 January, with the pass probability of their next attempt."""

    pool: Identifier
    course: Identifier
    attempts_used: Count
    people: NonNegative


class Queued(Model):
    """People refused a seat in the last intake before the start: they are enrolled in the
    course's first intake of the horizon, before anyone scheduled."""

    pool: Identifier
    course: Identifier
    people: NonNegative


class StartState(Model):
    """Who is in training on 1 January of ``horizon.start_year``. The pools' level tables count
    everyone employed, trainees at the level they hold (a course's entry level); by default
    nobody is in training."""

    in_course: tuple[InCourse, ...] = ()
    waiting: tuple[Waiting, ...] = ()
    queued: tuple[Queued, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.in_course or self.waiting or self.queued)


class ExamResult(Model):
    """Exam sittings of a course's trainees in a year, first attempts and retakes together."""

    sat: Count
    passed: Count


class CourseResult(Model):
    """Trainees whose course ended in a year, and how many of them completed it."""

    finished: Count
    completed: Count


class ActualYear(Model):
    """What was recorded for one calendar year; every part is optional."""

    enrolments: dict[Identifier, dict[Identifier, Count]] | None = None
    """Pool → course → people who entered the course that year."""
    exams: dict[Identifier, ExamResult] | None = None
    """Course → sittings and passes that year."""
    completions: dict[Identifier, CourseResult] | None = None
    """Course → trainees whose course ended that year and those who completed it."""
    spending_vnd: dict[Identifier, Vnd] | None = None
    """Funding source → VND spent on the programme that year."""
    headcount: dict[Identifier, Count] | None = None
    """Pool → eligible people employed at the end of the year (a survey)."""
    certified: dict[Identifier, dict[Level, Count]] | None = None
    """Pool → level → people holding that level at the end of the year (a survey); the rest of
    the pool holds no level that counts."""


class Actuals(Model):
    """What actually happened, year by year: the record a re-plan starts from."""

    note: Text = ""
    illustrative: Boolean = False
    """True when the figures are made up to show the method, not a province's record."""
    years: dict[Year, ActualYear] = Field(default_factory=dict)


class CorrelationEntry(Model):
    """Uncertain numbers that move together: every pair of the numbers with a range that the
    patterns match (``*`` = any one id, e.g. ``courses.*.exam_pass_probability``) has this
    Spearman rank correlation in every replication."""

    label: Text
    parameters: tuple[Text, ...]
    rank_correlation: RankCorrelation
    source: Text = ""


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
    correlations: tuple[CorrelationEntry, ...] = ()
    start: StartState = Field(default_factory=StartState)
    actuals: Actuals | None = None

    _provenance: Provenance = PrivateAttr(default_factory=Provenance)
    _uncertainties: Uncertainties = PrivateAttr(default_factory=Uncertainties)

    @property
    def provenance(self) -> Provenance:
        return self._provenance

    @property
    def uncertainties(self) -> Uncertainties:
        """Ranges, level-table concentrations and correlations the file declares (none when the
        scenario is certain: then every replication uses the stated values)."""
        return self._uncertainties

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
    raw = read_limited(path, MAX_SCENARIO_BYTES, what="a scenario file", file=file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded); "
            "save the file as UTF-8",
            file=file,
            line=line,
        ) from None
    return parse_scenario(text, file=file, overrides=overrides)


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int, what: str, file: str) -> ScenarioError:
    if stat.S_ISDIR(mode):
        return ScenarioError(f"is a directory, not {what}", file=file)
    kind = next((name for test, name in _SPECIAL_FILES if test(mode)), "a special file")
    return ScenarioError(
        f"is not a regular file (it is {kind}); give the path of {what}", file=file
    )


def _too_large(size: int | None, limit: int, what: str, file: str) -> LimitError:
    has = f"is {_megabytes(size)}" if size is not None else "is larger than that"
    return LimitError(
        f"{has}; {what} may be at most {_megabytes(limit)} (simopt.limits)", file=file
    )


def _megabytes(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def read_limited(path: str | Path, limit: int, *, what: str, file: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; any other file is a one-line
    :class:`ScenarioError` before (or instead of) reading it.

    The mode is checked before opening: opening a named pipe waits for a writer, forever, and
    reading a device such as /dev/zero never ends. The file is then opened without blocking and
    checked again (it may have been swapped in between), and at most ``limit`` + 1 bytes are read
    whatever its stated size (files in /proc say 0 and hold more).
    """
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(mode, what, file)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _not_regular(info.st_mode, what, file)
            if info.st_size > limit:
                raise _too_large(info.st_size, limit, what, file)
            chunks: list[bytes] = []
            got = 0
            while got <= limit:
                chunk = handle.read(limit + 1 - got)
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
    except ScenarioError:
        raise
    except FileNotFoundError:
        raise ScenarioError("file not found", file=file) from None
    except IsADirectoryError:
        raise ScenarioError(f"is a directory, not {what}", file=file) from None
    except OSError as exc:
        raise ScenarioError(f"cannot be read ({exc.strerror or exc})", file=file) from None
    except ValueError as exc:  # e.g. a NUL byte in the name
        raise ScenarioError(f"cannot be read ({exc})", file=file) from None
    if got > limit:
        raise _too_large(None, limit, what, file)
    return b"".join(chunks)


def parse_scenario(
    text: str, *, file: str = "<text>", overrides: Mapping[str, str] | None = None
) -> Scenario:
    """Validate scenario YAML text; ``overrides`` maps dotted paths to YAML values (``--set``)."""
    data, node = parse_yaml_text(text, file=file)
    if data is None:
        raise ScenarioError(
            "the file is empty (or holds only comments); a scenario is a YAML mapping of fields",
            file=file,
        )
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario must be a YAML mapping of fields (name: …, horizon: …), "
            f"not {yaml_kind(data)}",
            file=file,
        )
    overridden: list[str] = []
    if overrides:
        from simopt.overrides import apply_overrides

        data = apply_overrides(data, overrides, file=file)
        # ``X.value=…`` edits the note at X: an error about X's range concerns the override too
        overridden = [path.strip().removesuffix(".value") for path in overrides]
    try:
        return build_scenario(data, file=file)
    except ScenarioError as err:
        if err.line is not None or not err.path or err.file != file:
            raise
        if any(_overlaps(err.path, path) for path in overridden):
            # The offending value came from --set, not from a line of the file.
            raise err.located(file=f"{file} (--set)") from None
        keys = tuple(int(p) if p.isdecimal() else p for p in err.path.split("."))
        raise err.located(line=line_of(node, keys)) from None


def _overlaps(error_path: str, override_path: str) -> bool:
    """Whether an error at ``error_path`` concerns a value set at ``override_path``."""
    a, b = error_path.split("."), override_path.split(".")
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def build_scenario(data: dict[str, Any], *, file: str = "<scenario>") -> Scenario:
    """Build and check a scenario from already-parsed data."""
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f"a scenario must be a YAML mapping of fields, not {yaml_kind(data)}", file=file
        )
    provenance = Provenance()
    declared: dict[str, DeclaredUncertainty] = {}
    try:
        plain = strip_sources(data, provenance, file=file, declared=declared)
        scenario = Scenario.model_validate(plain)
    except ValidationError as exc:
        raise _first_error(exc, file) from None
    except RecursionError:
        raise ScenarioError(
            "lists or mappings are nested too deeply (or contain themselves)", file=file
        ) from None
    scenario._provenance = provenance
    check_limits(scenario, file=file)
    check_rules(scenario, file=file)
    # Imported here: the parser reads the schema of this module to reuse each field's own rules.
    from simopt.uncertain.parse import parse_uncertainties

    scenario._uncertainties = parse_uncertainties(scenario, declared, file=file)
    return scenario


def _first_error(exc: ValidationError, file: str) -> ScenarioError:
    """The first pydantic error as a planner's one-liner.

    A misspelt field shows up twice: the right name is missing and the wrong one is unknown.
    The unknown one, with its "did you mean", is the message that helps; it is given first.
    """
    errors = exc.errors(include_url=False)
    err = errors[0]
    if err["type"] == "missing":
        missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
        for other in errors:
            loc_ = tuple(other["loc"])
            if other["type"] == "extra_forbidden" and any(
                m[:-1] == loc_[:-1]
                and difflib.get_close_matches(str(loc_[-1]), [str(m[-1])], n=1, cutoff=0.6)
                for m in missing
            ):
                err = other
                break
    raw_loc = tuple(err["loc"])
    is_key = bool(raw_loc) and raw_loc[-1] == "[key]"
    loc = tuple(p for p in raw_loc if p != "[key]")
    path = ".".join(str(p) for p in loc)
    kind = err["type"]
    value = err.get("input")
    if kind in {"extra_forbidden", "invalid_key"}:
        return ScenarioError(unknown_field_rule(loc), file=file, path=path, value=value)
    if kind == "missing":
        return ScenarioError("is required but missing", file=file, path=path, show_value=False)
    if kind == "value_error":
        rule = str(err["msg"]).removeprefix("Value error, ")
    elif kind in {"dict_type", "model_type", "model_attributes_type"}:
        rule = f"must be a mapping (field: value), not {yaml_kind(value)}"
    elif kind in {"tuple_type", "list_type"}:
        rule = f"must be a list, e.g. [a, b], not {yaml_kind(value)}"
    elif kind == "recursion_loop":
        rule = "refers to itself"
    else:  # a pydantic rule our own validators do not cover; its words are still one line
        rule = str(err["msg"])
    if is_key:
        rule = f"key {rule}"
    return ScenarioError(rule, file=file, path=path, value=value)


def _unwrap(tp: Any) -> Any:
    """``Annotated[X, …]`` → X and ``X | None`` → X, repeatedly."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def schema_at(parts: Sequence[Any]) -> Any:
    """The type a field path leads to in the scenario schema (a model class, ``dict[K, V]``,
    ``tuple[V, ...]`` or a scalar type), or None when no field has that path."""
    tp: Any = Scenario
    for part in parts:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return None
            tp = tp.model_fields[part].annotation
            continue
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is dict and len(args) == 2:
            tp = args[1]
        elif origin in (tuple, list) and args:
            tp = args[0]
        else:
            return None
    return _unwrap(tp)


def model_at(parts: Sequence[Any]) -> type[BaseModel] | None:
    """The model class whose fields sit at a path (None when the path holds no model)."""
    tp = schema_at(parts)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def unknown_field_rule(loc: Sequence[Any]) -> str:
    """'unknown field' with a 'did you mean' taken from the model the key sits in."""
    if not loc:
        return "unknown field"
    key = str(loc[-1])
    model = model_at(loc[:-1])
    known = sorted(model.model_fields) if model is not None else []
    close = (
        difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        or [k for k in known if len(key) >= 3 and (k.startswith(key) or key.startswith(k))][:1]
    )
    if close:
        return f"unknown field; did you mean '{close[0]}'?"
    if known:
        return f"unknown field (known fields: {', '.join(known)})"
    return "unknown field"


# --------------------------------------------------------------------------- size limits


def check_limits(s: Scenario, *, file: str = "<scenario>") -> None:
    """Refuse a scenario beyond the stated limits of :mod:`simopt.limits` (checked before the
    cross-field rules, some of which grow with the square of the counts)."""

    def fail(path: str, rule: str) -> NoReturn:
        raise LimitError(rule, file=file, path=path, show_value=False)

    n_pools = sum(len(g.pools) for g in s.groups.values())
    if n_pools > MAX_POOLS:
        fail(
            "groups",
            count_rule("pools in all groups", n_pools, MAX_POOLS, "the national scenario has 238"),
        )
    if len(s.courses) > MAX_COURSES:
        fail(
            "courses",
            count_rule("courses", len(s.courses), MAX_COURSES, "a province offers a handful"),
        )
    h = s.horizon
    n_years = h.end_year - h.start_year + 1
    if n_years > MAX_HORIZON_YEARS:
        fail(
            "horizon.end_year",
            count_rule(
                f"years in the horizon ({h.start_year}–{h.end_year})",
                n_years,
                MAX_HORIZON_YEARS,
                "plans run 5–15 years",
            ),
        )
    if len(s.targets) > MAX_TARGETS:
        fail(
            "targets",
            count_rule("targets", len(s.targets), MAX_TARGETS, "a province states about 10"),
        )
    if len(s.promotions) > MAX_PROMOTIONS:
        fail(
            "promotions",
            count_rule("promotions", len(s.promotions), MAX_PROMOTIONS, "about 10 a pool"),
        )
    cells = n_pools * len(s.courses) * max(n_years, 1)
    if cells > MAX_SCHEDULE_CELLS:
        fail(
            "groups",
            f"{n_pools:,} pools × {len(s.courses):,} courses × {n_years:,} years = {cells:,} "
            f"enrolment cells; a scenario may have at most {MAX_SCHEDULE_CELLS:,} "
            "(the optimiser's problem grows with them)",
        )


# --------------------------------------------------------------------------- cross-field rules

Fail = Callable[[str, Any, str], NoReturn]

_NO_VALUE: Any = object()
"""Passed to ``fail`` when the path says it all (the value would only repeat the name)."""


def check_rules(s: Scenario, *, file: str = "<scenario>") -> None:
    """Rules that span fields; the first broken one raises."""

    def fail(path: str, value: Any, rule: str) -> NoReturn:
        raise ScenarioError(
            rule, file=file, path=path, value=value, show_value=value is not _NO_VALUE
        )

    _check_horizon(s.horizon, fail)
    pool_group = _check_groups(s, fail)
    _check_promotions(s, pool_group, fail)
    _check_courses(s, fail)
    _check_exams(s.exams, fail)
    _check_budget(s, fail)
    _check_targets(s, fail)
    if s.stated_budget is not None:
        _check_stated_budget(s, s.stated_budget, fail)
    # Imported here: the rules of the start state and of the actuals read this module's types.
    from simopt.actuals import check_actuals
    from simopt.start import check_start

    check_start(s, fail)
    if s.actuals is not None:
        check_actuals(s, s.actuals, fail)


def _check_horizon(h: Horizon, fail: Fail) -> None:
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
            fail(f"horizon.milestones.{i}", year, _outside(h))


def _check_groups(s: Scenario, fail: Fail) -> dict[str, str]:
    """Check groups and pools; return the group of every pool."""
    if not s.groups:
        fail("groups", {}, "must define at least one group")
    pool_group: dict[str, str] = {}
    for gid, group in s.groups.items():
        if not group.pools:
            fail(f"groups.{gid}.pools", {}, "a group must have at least one pool")
        for pid, pool in group.pools.items():
            here = f"groups.{gid}.pools.{pid}"
            if pid in pool_group:
                fail(
                    here, pid, f"pool ids must be unique; already used in group '{pool_group[pid]}'"
                )
            pool_group[pid] = gid
            if pool.excluded > pool.headcount:
                fail(
                    f"{here}.excluded",
                    pool.excluded,
                    f"must not exceed headcount ({pool.headcount})",
                )
            _check_levels(pool, here, fail)
        _check_funding(s, gid, group, fail)
    return pool_group


def _check_levels(pool: Pool, here: str, fail: Fail) -> None:
    if pool.level_shares is not None and pool.level_counts is not None:
        fail(
            f"{here}.level_counts", pool.level_counts, "give level_shares or level_counts, not both"
        )
    if pool.level_shares is not None:
        _check_shares(f"{here}.level_shares", pool.level_shares, fail)
    if pool.level_counts is not None:
        total_n = sum(pool.level_counts.values())
        if total_n != pool.eligible:
            fail(
                f"{here}.level_counts",
                pool.level_counts,
                f"counts must sum to the eligible headcount {pool.eligible} "
                f"(headcount − excluded); they sum to {total_n}",
            )
    _check_shares(f"{here}.hire_level_shares", pool.hire_level_shares, fail)


def _check_shares(path: str, shares: Mapping[Any, float], fail: Fail) -> None:
    if not shares:
        fail(path, dict(shares), "must give at least one share")
    total = math.fsum(shares.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        fail(path, dict(shares), f"shares must sum to 1 (they sum to {total:.6g})")


def _check_funding(s: Scenario, gid: str, group: Group, fail: Fail) -> None:
    for src in group.funding:
        if src not in s.funding_sources:
            fail(
                f"groups.{gid}.funding.{src}",
                src,
                _no_such("funding source", src, s.funding_sources, "funding_sources"),
            )
    if group.funding:
        _check_shares(f"groups.{gid}.funding", group.funding, fail)


def _check_promotions(s: Scenario, pool_group: Mapping[str, str], fail: Fail) -> None:
    outflow: dict[str, float] = {
        pid: pool.attrition_rate_per_year for pid, (_, pool) in s.pools().items()
    }
    for i, promo in enumerate(s.promotions):
        for end in ("from_pool", "to_pool"):
            pid = getattr(promo, end)
            if pid not in pool_group:
                fail(f"promotions.{i}.{end}", pid, _no_such("pool", pid, pool_group))
        if promo.from_pool == promo.to_pool:
            fail(f"promotions.{i}.to_pool", promo.to_pool, "must differ from from_pool")
        outflow[promo.from_pool] += promo.rate_per_year
        if outflow[promo.from_pool] > 1 + SUM_TOLERANCE:
            fail(
                f"promotions.{i}.rate_per_year",
                promo.rate_per_year,
                f"attrition and promotions out of pool '{promo.from_pool}' add up to more than "
                f"everyone each year ({outflow[promo.from_pool]:.6g})",
            )


def _check_courses(s: Scenario, fail: Fail) -> None:
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
        if course.groups is not None:
            _check_group_list(s, f"{here}.groups", course.groups, fail)


def _check_group_list(s: Scenario, path: str, groups: Sequence[str], fail: Fail) -> None:
    if not groups:
        fail(path, list(groups), "must name at least one group")
    for j, gid in enumerate(groups):
        if gid not in s.groups:
            fail(f"{path}.{j}", gid, _no_such("group", gid, s.groups))
        if gid in groups[:j]:
            fail(f"{path}.{j}", gid, "is listed twice")


def _check_exams(exams: Exams, fail: Fail) -> None:
    months = exams.session_months
    if not months:
        fail("exams.session_months", [], "must list at least one exam month")
    for i in range(1, len(months)):
        if months[i] <= months[i - 1]:
            fail(
                f"exams.session_months.{i}",
                months[i],
                f"exam months must be in increasing order (follows {months[i - 1]})",
            )


def _check_budget(s: Scenario, fail: Fail) -> None:
    h, budget = s.horizon, s.budget
    for year in budget.ceiling_vnd_by_year:
        if not h.start_year <= year <= h.end_year:
            fail(f"budget.ceiling_vnd_by_year.{year}", year, _outside(h))
    for src in budget.source_ceilings_vnd_per_year:
        if src not in s.funding_sources:
            fail(
                f"budget.source_ceilings_vnd_per_year.{src}",
                src,
                _no_such("funding source", src, s.funding_sources, "funding_sources"),
            )
    if budget.envelopes:
        # an envelope may reach into the years after the horizon in which the last intakes'
        # exam fees still fall (the plan pays them), no further: beyond, nothing is ever spent
        from simopt.dynamics import last_cost_year

        last = last_cost_year(s)
        for eid, env in budget.envelopes.items():
            here = f"budget.envelopes.{eid}"
            if not h.start_year <= env.first_year <= last:
                fail(f"{here}.first_year", env.first_year, _outside_costs(h, last))
            if not h.start_year <= env.last_year <= last:
                fail(f"{here}.last_year", env.last_year, _outside_costs(h, last))
            if env.last_year < env.first_year:
                fail(
                    f"{here}.last_year",
                    env.last_year,
                    f"must not be before first_year ({env.first_year})",
                )
            if env.source is not None and env.source not in s.funding_sources:
                fail(
                    f"{here}.source",
                    env.source,
                    _no_such("funding source", env.source, s.funding_sources, "funding_sources"),
                )


def _outside_costs(h: Horizon, last: int) -> str:
    if last == h.end_year:
        return f"must lie in the horizon {h.start_year}–{h.end_year}"
    return (
        f"must lie in the years the plan spends in, {h.start_year}–{last} (the horizon and the "
        "exam fees of its last intakes)"
    )


def _check_targets(s: Scenario, fail: Fail) -> None:
    h = s.horizon
    if not s.targets:
        fail("targets", {}, "must define at least one target")
    for tid, target in s.targets.items():
        here = f"targets.{tid}"
        if not h.start_year <= target.year <= h.end_year:
            fail(f"{here}.year", target.year, _outside(h))
        if target.share is None and target.min_count is None:
            fail(here, _NO_VALUE, "a target needs a share, a min_count, or both")
        _check_group_list(s, f"{here}.groups", target.groups, fail)
        pools = [pool for gid in target.groups for pool in s.groups[gid].pools.values()]
        attributes = {k for pool in pools for k in pool.attributes}
        for key, value in target.where.items():
            if key not in attributes:
                fail(
                    f"{here}.where.{key}",
                    value,
                    "no pool in the target's groups has this attribute"
                    + did_you_mean(key, sorted(attributes)),
                )
        if not s.target_pools(target):
            fail(f"{here}.where", dict(target.where), "selects no pool in the target's groups")


def _check_stated_budget(s: Scenario, sb: StatedBudget, fail: Fail) -> None:
    def years(path: str, first: int, last: int) -> None:
        if last < first:
            fail(f"{path}.last_year", last, f"must not be before first_year ({first})")

    years("stated_budget", sb.first_year, sb.last_year)
    for ph, phase in sb.phases.items():
        years(f"stated_budget.phases.{ph}", phase.first_year, phase.last_year)
        for ln, line in phase.lines.items():
            for j, gid in enumerate(line.groups):
                if gid not in s.groups:
                    fail(
                        f"stated_budget.phases.{ph}.lines.{ln}.groups.{j}",
                        gid,
                        _no_such("group", gid, s.groups),
                    )
    for em, earmark in sb.earmarks.items():
        years(f"stated_budget.earmarks.{em}", earmark.first_year, earmark.last_year)


def did_you_mean(name: str, known: Sequence[str]) -> str:
    """ "; did you mean 'x'?" for a close name, else the list of known names."""
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f" (known: {', '.join(known)})" if known else ""


def _no_such(kind: str, name: str, known: Mapping[str, Any], where: str = "") -> str:
    if not known and where:
        return f"no {kind} of that name ({where} defines none)"
    return f"no {kind} of that name" + did_you_mean(name, list(known))


def _outside(h: Horizon) -> str:
    return f"must lie in the horizon {h.start_year}–{h.end_year}"
