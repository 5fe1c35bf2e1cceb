"""Two engines over the same rules (:mod:`simopt.simulate.state`) and the same timeline.

* ``simpy``: one replication at a time as a SimPy discrete-event model — a process per year's
  end, per course's yearly intake and per cohort; course seats are SimPy containers refilled at
  each intake, so an over-full intake queues for the next.
* ``fast``: all replications at once, as arrays, stepping through the same events in order.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Generator
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from simopt.dynamics import Dynamics
from simopt.simulate.rates import RepRates
from simopt.simulate.record import Recorder
from simopt.simulate.state import Cohort, ProvinceState
from simopt.simulate.timeline import (
    SAME_MONTH_RANK,
    Event,
    Order,
    carried_events,
    cohort_events,
    horizon_events,
    intake_month,
    year_end_month,
)

FloatArray = npt.NDArray[np.float64]
ENGINES = ("simpy", "fast")


def _apply(state: ProvinceState, ev: Event, cohort: Cohort) -> None:
    if cohort not in state.cohorts:
        return  # everyone has left, passed or dropped out already
    if ev.order is Order.COURSE_END:
        state.course_end(cohort)
    else:
        state.sitting(cohort, ev.attempt)


def run_fast(
    d: Dynamics,
    enrol: FloatArray,
    rng: np.random.Generator,
    rec: Recorder,
    rows: slice,
    rates: RepRates | None = None,
) -> None:
    """All replications of ``rows`` at once; ``enrol`` is (years, pools, courses)."""
    reps = rows.stop - rows.start
    state = ProvinceState(d=d, rng=rng, reps=reps, rates=rates)
    seq = itertools.count()
    queue: list[tuple[float, int, int, Event, Cohort | None]] = [
        (ev.month, ev.order, next(seq), ev, None) for ev in horizon_events(d)
    ]
    for carried, i in state.carried:
        queue += [(ev.month, ev.order, next(seq), ev, carried) for ev in carried_events(d, i)]
    heapq.heapify(queue)
    n_years = len(d.years)
    last = len(d.cost_years) - 1
    while queue:
        month, _, _, ev, cohort = heapq.heappop(queue)
        state.advance(month)
        if ev.order is Order.YEAR_END:
            if ev.year_index < n_years:
                state.year_end()
                rec.record(ev.year_index, state, rows)
            else:
                rec.record_cost(ev.year_index, state, rows)
            state.reset_year()
            if ev.year_index == last:
                return
        elif ev.order is Order.INTAKE:
            new, _ = state.intake(
                ev.course, ev.year_index, enrol[ev.year_index, :, ev.course], d.capacity[ev.course]
            )
            for c in new:
                for cev in cohort_events(d, c.course, c.year_index):
                    heapq.heappush(queue, (cev.month, cev.order, next(seq), cev, c))
        else:
            assert cohort is not None
            _apply(state, ev, cohort)


def run_simpy(
    d: Dynamics,
    enrol: FloatArray,
    rng: np.random.Generator,
    rec: Recorder,
    row: int,
    rates: RepRates | None = None,
) -> None:
    """One replication as a SimPy model."""
    env = simpy.Environment()
    state = ProvinceState(d=d, rng=rng, reps=1, rates=rates)
    n_years = len(d.years)
    n_cost_years = len(d.cost_years)
    seats = {
        c: simpy.Container(env, capacity=max(int(cap), 1), init=int(cap))
        for c, cap in enumerate(d.capacity)
        if cap is not None
    }

    def at(month: float, order: Order) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(month - env.now)
        for _ in range(SAME_MONTH_RANK[order]):  # same-month events in the timeline's order
            yield env.timeout(0)

    def year_ends() -> Generator[simpy.Event, Any, None]:
        for y in range(n_cost_years):
            yield from at(year_end_month(y), Order.YEAR_END)
            state.advance(env.now)
            if y < n_years:
                state.year_end()
                rec.record(y, state, slice(row, row + 1))
            else:  # after the horizon only the sittings' fees are counted
                rec.record_cost(y, state, slice(row, row + 1))
            state.reset_year()

    def intakes(c: int) -> Generator[simpy.Event, Any, None]:
        for y in range(n_years):
            yield from at(intake_month(d, c, y), Order.INTAKE)
            state.advance(env.now)
            box = seats.get(c)
            # Container puts and gets with room succeed at once; not yielding on them keeps
            # same-month intakes in course order, as in the fast engine.
            if box is not None and box.level < box.capacity and d.capacity[c]:
                box.put(box.capacity - box.level)  # this year's seats
            free_seats = None if box is None else (box.level if d.capacity[c] else 0)
            new, used = state.intake(c, y, enrol[y, :, c], free_seats)
            if box is not None and int(used[0]) > 0:
                box.get(int(used[0]))
            for cohort in new:
                env.process(cohort_life(cohort, cohort_events(d, cohort.course, cohort.year_index)))

    def cohort_life(cohort: Cohort, events: list[Event]) -> Generator[simpy.Event, Any, None]:
        for ev in events:
            if ev.month > year_end_month(n_cost_years - 1):
                return
            yield from at(ev.month, ev.order)
            state.advance(env.now)
            _apply(state, ev, cohort)
            if cohort not in state.cohorts:
                return

    env.process(year_ends())
    for carried, i in state.carried:
        env.process(cohort_life(carried, carried_events(d, i)))
    for c in range(d.n_courses):
        env.process(intakes(c))
    env.run(until=year_end_month(n_cost_years - 1) + 0.5)
