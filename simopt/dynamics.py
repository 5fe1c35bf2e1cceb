"""The scenario compiled once into its dynamics: the one description every engine reads.

The rules, written here and nowhere else:

* Time runs in months inside calendar years. Attrition is a constant monthly hazard giving the
  pool's yearly rate; it strikes trainees and non-trainees alike.
* A course's intake is at the start of ``intake_month``; it ends ``duration_months`` later. Those
  who have not left by then complete with ``completion_rate`` (the rest drop out).
* Completers sit the first exam session at or after the course's end, then (after a fail) each
  following session, up to ``max_attempts`` sittings. Attempt 1 passes with the course's pass
  probability, later attempts with that times ``retake_pass_factor`` (capped at 1). A pass
  certifies the target level in the year the session falls in; a session in month ``m`` is held
  at the end of that month.
* At the end of each year, after attrition and certification: each promotion moves its rate of the
  pool's people *not in a course or waiting for a retake* to another pool, level kept; then the
  year's hires arrive with their level mix.
* Seats: an intake takes the scheduled people who are free, pools in order, up to the course's
  seats; those refused a seat queue and are added to the next year's intake of that course.
  The optimiser never plans past the seats, so it has no queue.
* Tuition and class costs fall in the intake year; each exam sitting's fee in the session's year,
  also when that year is after the horizon (a retake early in the year after the last: the plan
  pays it, so both models count it; see :attr:`Dynamics.cost_years`). Each cost is split between
  funding sources by the trainee's group's shares.

The optimiser uses the expectations in :class:`CohortProfile`; the simulators draw the same events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from simopt.scenario import MAX_LEVEL, Scenario
from simopt.start import COURSE_END, SITTING, Carried, compile_start

N_LEVELS = MAX_LEVEL + 1
DEFAULT_SOURCE = "state_budget"

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Sitting:
    """One exam attempt of a cohort: when (months after intake) and its pass probability."""

    attempt: int
    months_after_intake: int
    year_offset: int
    pass_probability: float


@dataclass(frozen=True)
class CohortProfile:
    """Expected fate, per person enrolled, of a cohort from one pool in one course.

    Index ``k`` is the year offset from the intake year.
    """

    certified: tuple[float, ...]
    """Certified in year k and still employed at the end of year k."""
    in_pipeline: tuple[float, ...]
    """Employed at the end of year k and still in the course or waiting for a retake."""
    sittings: tuple[float, ...]
    """Exam sittings (fees paid) in year k."""

    @property
    def years(self) -> int:
        return len(self.certified)


@dataclass(frozen=True)
class Dynamics:
    scenario: Scenario
    years: tuple[int, ...]
    pool_ids: tuple[str, ...]
    pool_group: tuple[str, ...]
    start_levels: FloatArray
    """(pools, levels): eligible people at each level on 1 January of the first year."""
    attrition: FloatArray
    hires: FloatArray
    hire_mix: FloatArray
    """(pools, levels): the level mix of each pool's hires."""
    promotions: tuple[tuple[int, int, float], ...]
    """(from pool index, to pool index, yearly rate of the free people)."""
    course_ids: tuple[str, ...]
    entry: tuple[int, ...]
    target: tuple[int, ...]
    intake_month: tuple[int, ...]
    tuition_vnd: FloatArray
    class_cost_vnd_per_trainee: FloatArray
    """Per-class cost spread over a full class (the LP's continuous view)."""
    capacity: tuple[float | None, ...]
    allowed: npt.NDArray[np.bool_]
    """(pools, courses): may people of this pool take this course?"""
    exam_fee_vnd: float
    sittings: tuple[tuple[Sitting, ...], ...]
    """Per course: the exam attempts a completer may sit, in order."""
    completion: FloatArray
    profiles: tuple[tuple[CohortProfile, ...], ...]
    """[pool][course] expected cohort fate."""
    source_ids: tuple[str, ...]
    source_public: tuple[bool, ...]
    funding: FloatArray
    """(pools, sources): share of each cost paid by each source."""
    carried: tuple[Carried, ...] = ()
    """Cohorts in training on 1 January of the first year (:mod:`simopt.start`)."""
    queued: FloatArray | None = None
    """(pools, courses) people queued for the first intake: they are part of it."""

    @property
    def queued_people(self) -> FloatArray:
        if self.queued is None:
            return np.zeros((self.n_pools, self.n_courses))
        return self.queued

    def carried_pipeline(self) -> FloatArray:
        """(pools, levels) people in a carried cohort on 1 January, at the level they hold."""
        out = np.zeros((self.n_pools, N_LEVELS))
        for k in self.carried:
            out[k.pool, self.entry[k.course]] += k.people
        return out

    def carried_costs(self) -> dict[tuple[int, int], float]:
        """(calendar year, source index) → expected VND the carried cohorts' sittings cost."""
        out: dict[tuple[int, int], float] = {}
        for k in self.carried:
            for yi, n in enumerate(k.profile.sittings):
                vnd = k.people * n * self.exam_fee_vnd
                for src, share in enumerate(self.funding[k.pool]):
                    if vnd and share:
                        key = (self.years[0] + yi, src)
                        out[key] = out.get(key, 0.0) + vnd * share
        return out

    @property
    def n_pools(self) -> int:
        return len(self.pool_ids)

    @property
    def n_courses(self) -> int:
        return len(self.course_ids)

    @property
    def cost_years(self) -> tuple[int, ...]:
        """Calendar years in which the plan's money is spent: the horizon, then the years after
        it in which exam sittings of its last intakes still fall (their fees are the plan's)."""
        tail = _cost_tail(self.intake_month, self.sittings)
        return tuple(range(self.years[0], self.years[-1] + tail + 1))

    def pool_index(self, pool_id: str) -> int:
        return self.pool_ids.index(pool_id)

    def cost_items(
        self, pool: int, course: int, *, whole_classes: bool = False
    ) -> list[tuple[int, str, float]]:
        """Expected VND per person enrolled, as (year offset from intake, item, amount): tuition
        and the class cost spread per trainee in the intake year (left out when classes are
        counted whole), then each year's expected exam fees."""
        items = [(0, "tuition", float(self.tuition_vnd[course]))]
        if not whole_classes and self.class_cost_vnd_per_trainee[course]:
            items.append((0, "classes", float(self.class_cost_vnd_per_trainee[course])))
        sittings = self.profiles[pool][course].sittings
        items += [(k, "exam_fees", self.exam_fee_vnd * n) for k, n in enumerate(sittings)]
        return [item for item in items if item[2] != 0.0]

    def survival(self, pool: int, months: float) -> float:
        """Probability that someone in the pool is still employed ``months`` later."""
        return float((1.0 - self.attrition[pool]) ** (months / 12.0))


def engine_dynamics(scenario: Scenario | None, dynamics: Dynamics | None) -> Dynamics:
    """The one model an engine runs: ``dynamics``, or the scenario compiled.

    Both given must agree: the engines read nothing but the dynamics, so a scenario beside it
    that says something else would only label one model's answer with another's name. An equal
    scenario that is a distinct object (loaded twice) is the same model.
    """
    if dynamics is None:
        if scenario is None:
            raise TypeError("give a scenario or the dynamics compiled from it")
        return compile_dynamics(scenario)
    if scenario is not None and dynamics.scenario is not scenario and dynamics.scenario != scenario:
        compiled, given = dynamics.scenario.name, scenario.name
        if compiled == given:
            raise ValueError(f"dynamics compiled from another version of scenario {given!r}")
        raise ValueError(f"dynamics compiled from scenario {compiled!r}, not {given!r}")
    return dynamics


def _cost_tail(intake_month: tuple[int, ...], sittings: tuple[tuple[Sitting, ...], ...]) -> int:
    """Years after an intake year in which its last exam sitting can fall (0: the same year)."""
    tail = 0
    for c, course_sittings in enumerate(sittings):
        start = intake_month[c] - 1
        for spec in course_sittings:
            tail = max(tail, (start + spec.months_after_intake - 1) // 12)
    return tail


def last_cost_year(scenario: Scenario) -> int:
    """The last calendar year the plan can spend in (:attr:`Dynamics.cost_years`), from the
    scenario alone: the validation of budget envelopes reads it before anything is compiled."""
    ids = tuple(scenario.courses)
    tail = _cost_tail(
        tuple(scenario.courses[c].intake_month for c in ids),
        tuple(exam_sittings(scenario, c) for c in ids),
    )
    return scenario.horizon.end_year + tail


def exam_sittings(scenario: Scenario, course_id: str) -> tuple[Sitting, ...]:
    """The exam attempts open to a completer of ``course_id``, relative to its intake."""
    course = scenario.courses[course_id]
    exams = scenario.exams
    start = course.intake_month - 1  # months from 1 January of the intake year
    ready = start + course.duration_months
    sittings: list[Sitting] = []
    year = 0
    while len(sittings) < exams.max_attempts:
        for month in exams.session_months:
            at = 12 * year + month  # end of that month
            if at < ready:
                continue
            attempt = len(sittings) + 1
            p = float(
                sitting_pass_probability(
                    course.exam_pass_probability, exams.retake_pass_factor, attempt
                )
            )
            sittings.append(Sitting(attempt, at - start, (at - 1) // 12, p))
            if len(sittings) == exams.max_attempts:
                break
        year += 1
    return tuple(sittings)


def cohort_profile(
    sittings: tuple[Sitting, ...],
    *,
    intake_month: int,
    duration_months: int,
    completion: float,
    yearly_attrition: float,
) -> CohortProfile:
    """Expected fate per person enrolled, by year offset from the intake year: the walk of
    :func:`cohort_fate` with the cohort's events timed from 1 January of its intake year."""
    start = intake_month - 1
    events = [(start + duration_months, COURSE_END, 0)]
    events += [(start + s.months_after_intake, SITTING, s.attempt) for s in sittings]
    chance = {s.attempt: s.pass_probability for s in sittings}
    return cohort_fate(
        tuple(events),
        since=start,
        n_years=0,
        completion=completion,
        pass_probability=chance.__getitem__,
        yearly_attrition=yearly_attrition,
    )


def cohort_fate(
    events: tuple[tuple[int, int, int], ...],
    *,
    since: int,
    n_years: int,
    completion: float,
    pass_probability: Callable[[int], float],
    yearly_attrition: float,
) -> CohortProfile:
    """Expected fate per person of a cohort whose ``events`` — (month, COURSE_END or SITTING,
    attempt), in months from 1 January of year 0 — are still to come, counted from month
    ``since`` (its intake, or 1 January for a cohort carried into the horizon). Without a
    COURSE_END event the cohort has completed already. Year ``k`` ends at month 12 (k + 1);
    at least ``n_years`` years."""

    def alive(months: float) -> float:
        return float((1.0 - yearly_attrition) ** (months / 12.0))

    end = next((m for m, kind, _ in events if kind == COURSE_END), 0)
    done = completion if any(kind == COURSE_END for _, kind, _ in events) else 1.0
    sittings = [(m, a) for m, kind, a in events if kind == SITTING]
    last = max([(m - 1) // 12 for m, _ in sittings] + [(end - 1) // 12, 0])
    n = max(n_years, last + 1)
    certified = [0.0] * n
    pipeline = [0.0] * n
    sat = [0.0] * n
    not_passed = 1.0  # probability a completer has not passed before the current sitting
    for month, attempt in sittings:
        k = (month - 1) // 12
        p = pass_probability(attempt)
        sat[k] += done * not_passed * alive(month - since)
        certified[k] += done * not_passed * p * alive(12 * (k + 1) - since)
        not_passed *= 1.0 - p
    for k in range(n):
        year_end = 12 * (k + 1)
        if year_end < end:
            pipeline[k] = alive(year_end - since)
            continue
        # completers who have neither passed nor used their last sitting by the year's end
        waiting = 0.0
        not_passed = 1.0
        for month, attempt in sittings:
            if month > year_end:
                waiting = not_passed
                break
            not_passed *= 1.0 - pass_probability(attempt)
        pipeline[k] = done * waiting * alive(year_end - since)
    return CohortProfile(tuple(certified), tuple(pipeline), tuple(sat))


def sitting_pass_probability(first: Any, retake_factor: Any, attempt: int) -> Any:
    """Pass probability of a sitting: the course's on the first attempt, times the retake factor
    (capped at 1) on later ones. Numbers or per-replication arrays alike."""
    if attempt == 1:
        return first
    return np.minimum(1.0, np.multiply(first, retake_factor))


def class_cost_per_trainee(cost_per_class: Any, class_size: Any) -> Any:
    """A class's cost spread over a full class (the LP's continuous view); 0 without classes."""
    cost = np.asarray(cost_per_class, dtype=float)
    size = np.broadcast_to(np.asarray(class_size, dtype=float), cost.shape)
    return np.divide(cost, size, out=np.zeros_like(cost), where=size > 0)


def level_row(table: Mapping[int, float]) -> FloatArray:
    """A {level: value} table as an array over the levels."""
    row = np.zeros(N_LEVELS)
    for lvl, value in table.items():
        row[lvl] = value
    return row


def whole_people_rows(raw: FloatArray, total: FloatArray) -> npt.NDArray[np.int64]:
    """Each row of (rows, levels) people as whole people summing to its total (largest
    remainders, ties to the lower level), so that the optimiser and the simulators start from the
    very same people, and each replication that draws its own head count or level mix likewise."""
    whole = np.floor(raw)
    short = np.rint(total - whole.sum(axis=1)).astype(np.int64)
    order = np.argsort(-(raw - whole), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(raw.shape[1])[None, :], axis=1)
    whole += rank < short[:, None]
    return whole.astype(np.int64)


def whole_people(levels: dict[int, float], total: int) -> FloatArray:
    """One table of people at each level as whole people summing to ``total``."""
    rows = whole_people_rows(level_row(levels)[None, :], np.array([float(total)]))
    one: FloatArray = rows[0].astype(float)
    return one


def compile_dynamics(scenario: Scenario) -> Dynamics:
    """Compile a validated scenario into arrays and cohort profiles."""
    s = scenario
    pools = s.pools()
    pool_ids = tuple(pools)
    pool_group = tuple(pools[p][0] for p in pool_ids)
    n_p = len(pool_ids)

    start = np.zeros((n_p, N_LEVELS))
    hire_mix = np.zeros((n_p, N_LEVELS))
    for i, pid in enumerate(pool_ids):
        pool = pools[pid][1]
        start[i] = whole_people(pool.start_levels(), pool.eligible)
        hire_mix[i] = level_row(pool.hire_level_shares)
    # shares are validated to sum to 1 within 1e-6; the multinomial draw wants it exact
    hire_mix /= hire_mix.sum(axis=1, keepdims=True)
    attrition = np.array([pools[p][1].attrition_rate_per_year for p in pool_ids], dtype=float)
    hires = np.array([pools[p][1].hires_per_year for p in pool_ids], dtype=float)
    promotions = tuple(
        (pool_ids.index(pr.from_pool), pool_ids.index(pr.to_pool), pr.rate_per_year)
        for pr in s.promotions
    )

    course_ids = tuple(s.courses)
    courses = [s.courses[c] for c in course_ids]
    allowed = np.array(
        [[c.groups is None or pool_group[i] in c.groups for c in courses] for i in range(n_p)],
        dtype=bool,
    ).reshape(n_p, len(courses))
    sittings = tuple(exam_sittings(s, cid) for cid in course_ids)
    profiles = tuple(
        tuple(
            cohort_profile(
                sittings[j],
                intake_month=c.intake_month,
                duration_months=c.duration_months,
                completion=c.completion_rate,
                yearly_attrition=float(attrition[i]),
            )
            for j, c in enumerate(courses)
        )
        for i in range(n_p)
    )

    source_ids = tuple(s.funding_sources) or (DEFAULT_SOURCE,)
    source_public = tuple(
        s.funding_sources[x].public if x in s.funding_sources else True for x in source_ids
    )
    funding = np.zeros((n_p, len(source_ids)))
    for i, gid in enumerate(pool_group):
        shares = s.groups[gid].funding
        if not shares:
            # a group with no stated funding is paid from the first (public) source
            funding[i, source_public.index(True) if True in source_public else 0] = 1.0
        for src, share in shares.items():
            funding[i, source_ids.index(src)] = share

    carried, queued = compile_start(s, pool_ids, course_ids, sittings, attrition)
    return Dynamics(
        scenario=s,
        years=s.horizon.years,
        pool_ids=pool_ids,
        pool_group=pool_group,
        start_levels=start,
        attrition=attrition,
        hires=hires,
        hire_mix=hire_mix,
        promotions=promotions,
        course_ids=course_ids,
        entry=tuple(c.entry_level for c in courses),
        target=tuple(c.target_level for c in courses),
        intake_month=tuple(c.intake_month for c in courses),
        tuition_vnd=np.array([c.tuition_vnd_per_trainee for c in courses], dtype=float),
        class_cost_vnd_per_trainee=class_cost_per_trainee(
            [c.cost_vnd_per_class for c in courses], [c.class_size or 0 for c in courses]
        ),
        capacity=tuple(c.capacity_per_year for c in courses),
        allowed=allowed,
        exam_fee_vnd=s.exams.fee_vnd,
        sittings=sittings,
        completion=np.array([c.completion_rate for c in courses], dtype=float),
        profiles=profiles,
        source_ids=source_ids,
        source_public=source_public,
        funding=funding,
        carried=carried,
        queued=queued,
    )
