"""When things happen: the events of a schedule in months from 1 January of the first year.

Events at the same month run in a fixed order: course ends, then exam sittings (end of a month),
then the year's end, then intakes (start of the next month).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from simopt.dynamics import Dynamics


class Order(IntEnum):
    COURSE_END = 0
    SITTING = 1
    YEAR_END = 2
    INTAKE = 3


# Cohort events only touch their own cohort and add to the free stock, so their mutual order
# within a month does not matter; what matters is that they come before the year's end, and the
# year's end before the next intake. The SimPy engine waits this many zero-delays to get there.
SAME_MONTH_RANK = {Order.COURSE_END: 0, Order.SITTING: 0, Order.YEAR_END: 1, Order.INTAKE: 2}


@dataclass(frozen=True)
class Event:
    month: float
    order: Order
    year_index: int
    course: int = -1
    attempt: int = 0


def intake_month(d: Dynamics, course: int, year_index: int) -> int:
    return 12 * year_index + d.intake_month[course] - 1


def course_end_month(d: Dynamics, course: int, year_index: int) -> int:
    cid = d.course_ids[course]
    return intake_month(d, course, year_index) + d.scenario.courses[cid].duration_months


def sitting_month(d: Dynamics, course: int, year_index: int, attempt: int) -> int:
    spec = d.sittings[course][attempt - 1]
    return intake_month(d, course, year_index) + spec.months_after_intake


def year_end_month(year_index: int) -> int:
    return 12 * (year_index + 1)


def horizon_events(d: Dynamics) -> list[Event]:
    """Every intake and year end of the horizon (cohort events follow from their intake), and
    the ends of the years after it in which sittings still cost money (``d.cost_years``)."""
    events = [Event(year_end_month(y), Order.YEAR_END, y) for y in range(len(d.cost_years))]
    events += [
        Event(intake_month(d, c, y), Order.INTAKE, y, c)
        for y in range(len(d.years))
        for c in range(d.n_courses)
    ]
    return events


def cohort_events(d: Dynamics, course: int, year_index: int) -> list[Event]:
    events = [Event(course_end_month(d, course, year_index), Order.COURSE_END, year_index, course)]
    events += [
        Event(sitting_month(d, course, year_index, a), Order.SITTING, year_index, course, a)
        for a in range(1, len(d.sittings[course]) + 1)
    ]
    return events


def carried_events(d: Dynamics, index: int) -> list[Event]:
    """The remaining events of the ``index``-th cohort in training on 1 January."""
    from simopt.start import COURSE_END

    k = d.carried[index]
    return [
        Event(month, Order.COURSE_END if kind == COURSE_END else Order.SITTING, -1, k.course, a)
        for month, kind, a in k.events
    ]
