"""The start state: who is in training on 1 January of the horizon's first year.

A scenario that starts from nothing (the plans as written) has nobody in training. A re-plan
from 2026 starts with people who entered a course in 2025 and have not finished it, completers
waiting for a retake, and people refused a seat who queue for the first intake. Each of them is a
*carried cohort*: its people and its events (course end, sittings) in months from 1 January of
the first year. The optimiser reads a carried cohort's expected fate (:class:`CohortProfile`,
indexed by the horizon's years) as constants; the simulators turn it into a cohort with those
events. Both read this module's one description, so they agree on the timeline.

Time: month ``m`` is the end of the ``m``-th month from 1 January of the first year (as in
:mod:`simopt.simulate.timeline`). A course that started in a past year ends, and its sittings
fall, on its own timeline from its intake; a completer waiting for a sitting sits the next exam
sessions from 1 January, with the pass probability of the attempt that is next for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from simopt.dynamics import CohortProfile, Sitting
    from simopt.scenario import Scenario

    Fail = Callable[[str, Any, str], NoReturn]

FloatArray = npt.NDArray[np.float64]

COURSE_END = 0
SITTING = 1


@dataclass(frozen=True)
class Carried:
    """A cohort the horizon inherits from the years before it."""

    pool: int
    course: int
    people: float
    """People in it on 1 January (expected people where the state is a projection)."""
    events: tuple[tuple[int, int, int], ...]
    """(month from 1 January of the first year, COURSE_END or SITTING, attempt), in order."""
    profile: CohortProfile
    """Expected fate per person, by the horizon's year index (certified, in the pipeline at the
    end of the year, sittings paid)."""
    kind: str
    """``in_course`` or ``waiting``: the start-state entry it comes from."""


def course_start_month(s: Scenario, course_id: str, intake_year: int) -> int:
    """Months from 1 January of the first year to the start of an intake (negative: before)."""
    course = s.courses[course_id]
    return 12 * (intake_year - s.horizon.start_year) + course.intake_month - 1


def course_end_month(s: Scenario, course_id: str, intake_year: int) -> int:
    return course_start_month(s, course_id, intake_year) + s.courses[course_id].duration_months


def next_sessions(s: Scenario, after_month: int, count: int) -> list[int]:
    """The next ``count`` exam sessions held at or after the end of month ``after_month + 1``."""
    months: list[int] = []
    year = after_month // 12 - 1
    while len(months) < count:
        for m in s.exams.session_months:
            at = 12 * year + m
            if at > after_month and len(months) < count:
                months.append(at)
        year += 1
    return months


def _in_course_events(
    s: Scenario, course_id: str, intake_year: int, sittings: tuple[Sitting, ...]
) -> tuple[tuple[int, int, int], ...]:
    start = course_start_month(s, course_id, intake_year)
    end = course_end_month(s, course_id, intake_year)
    events = [(end, COURSE_END, 0)]
    events += [(start + sp.months_after_intake, SITTING, sp.attempt) for sp in sittings]
    return tuple(events)


def _waiting_events(s: Scenario, attempts_used: int) -> tuple[tuple[int, int, int], ...]:
    left = s.exams.max_attempts - attempts_used
    return tuple(
        (month, SITTING, attempts_used + 1 + i) for i, month in enumerate(next_sessions(s, 0, left))
    )


def compile_start(
    s: Scenario,
    pool_ids: tuple[str, ...],
    course_ids: tuple[str, ...],
    sittings: tuple[tuple[Sitting, ...], ...],
    attrition: FloatArray,
) -> tuple[tuple[Carried, ...], FloatArray]:
    """The carried cohorts, and the people queued for each (pool, course)'s first intake."""
    from simopt.dynamics import cohort_fate, sitting_pass_probability

    n_years = len(s.horizon.years)
    carried: list[Carried] = []

    def add(kind: str, pool_id: str, course_id: str, people: float, events: Any) -> None:
        if people <= 0:
            return
        p, c = pool_ids.index(pool_id), course_ids.index(course_id)
        course = s.courses[course_id]

        def pass_probability(attempt: int) -> float:
            return float(
                sitting_pass_probability(
                    course.exam_pass_probability, s.exams.retake_pass_factor, attempt
                )
            )

        profile = cohort_fate(
            events,
            since=0,
            n_years=n_years,
            completion=course.completion_rate,
            pass_probability=pass_probability,
            yearly_attrition=float(attrition[p]),
        )
        carried.append(Carried(p, c, float(people), events, profile, kind))

    for e in s.start.in_course:
        timeline = sittings[course_ids.index(e.course)]
        events = _in_course_events(s, e.course, e.intake_year, timeline)
        add("in_course", e.pool, e.course, e.people, events)
    for w in s.start.waiting:
        add("waiting", w.pool, w.course, w.people, _waiting_events(s, w.attempts_used))
    queued = np.zeros((len(pool_ids), len(course_ids)))
    for q in s.start.queued:
        queued[pool_ids.index(q.pool), course_ids.index(q.course)] += q.people
    return tuple(carried), queued


# --------------------------------------------------------------------------- rules


def _month_name(s: Scenario, month: int) -> str:
    """Month ``month`` (end of) as 'MM/YYYY'."""
    year = s.horizon.start_year + (month - 1) // 12
    return f"{(month - 1) % 12 + 1:02d}/{year}"


def check_start(s: Scenario, fail: Fail) -> None:
    """The start state names pools and courses that exist, people a pool has, and timelines
    that are still running on 1 January of the first year."""
    st = s.start
    if st.empty:
        return
    pools = s.pools()
    start_year = s.horizon.start_year
    in_training: dict[tuple[str, int], float] = {}
    seats: dict[str, float] = {}

    def entry(here: str, pool_id: str, course_id: str) -> int:
        if pool_id not in pools:
            fail(f"{here}.pool", pool_id, "names a pool the scenario does not define")
        if course_id not in s.courses:
            fail(f"{here}.course", course_id, "names a course the scenario does not define")
        course = s.courses[course_id]
        group = pools[pool_id][0]
        if course.groups is not None and group not in course.groups:
            fail(
                f"{here}.course",
                course_id,
                f"is not open to pool {pool_id!r} (group {group!r} is not in its groups)",
            )
        return course.entry_level

    for i, e in enumerate(st.in_course):
        here = f"start.in_course.{i}"
        lvl = entry(here, e.pool, e.course)
        if e.intake_year >= start_year:
            fail(
                f"{here}.intake_year",
                e.intake_year,
                f"must be before the horizon starts ({start_year}); "
                "people entering a course in the horizon are the schedule's",
            )
        end = course_end_month(s, e.course, e.intake_year)
        if end <= 0:
            fail(
                f"{here}.intake_year",
                e.intake_year,
                f"that intake's course ended at the end of {_month_name(s, end)}, before the start "
                "(record those still to sit the exam under start.waiting)",
            )
        in_training[e.pool, lvl] = in_training.get((e.pool, lvl), 0.0) + e.people
    for i, w in enumerate(st.waiting):
        here = f"start.waiting.{i}"
        lvl = entry(here, w.pool, w.course)
        if w.attempts_used >= s.exams.max_attempts:
            fail(
                f"{here}.attempts_used",
                w.attempts_used,
                f"must be below exams.max_attempts ({s.exams.max_attempts}): "
                "nobody waits with no attempt left",
            )
        in_training[w.pool, lvl] = in_training.get((w.pool, lvl), 0.0) + w.people
    for i, q in enumerate(st.queued):
        here = f"start.queued.{i}"
        lvl = entry(here, q.pool, q.course)
        in_training[q.pool, lvl] = in_training.get((q.pool, lvl), 0.0) + q.people
        seats[q.course] = seats.get(q.course, 0.0) + q.people
        cap = s.courses[q.course].capacity_per_year
        if cap is not None and seats[q.course] > cap + 1e-9:
            fail(
                f"{here}.people",
                q.people,
                f"the people queued for course {q.course!r} ({seats[q.course]:g}) exceed its "
                f"seats a year ({cap:g}): they could not all start in the first intake",
            )
    for (pool_id, lvl), people in in_training.items():
        have = pools[pool_id][1].start_levels().get(lvl, 0.0)
        if people > have + 1e-6:
            fail(
                "start",
                pool_id,
                f"puts {people:g} people of pool {pool_id!r} in training from level {lvl}, "
                f"but the pool has {have:g} at that level on 1 January {start_year}",
            )
