"""The state of a province in simulation, and the rules that change it.

Every rule of the dynamics (see :mod:`simopt.dynamics`) is one method here, written over arrays
whose first axis is the replication. The SimPy engine calls them with one replication at a time
from its processes; the fast engine calls them with all replications at once along a fixed
timeline. So each rule exists once, and the two engines differ only in how they order time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from simopt.dynamics import N_LEVELS, Dynamics
from simopt.simulate.rates import RepRates, central_rates

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

YEAR_COUNTERS = ("enrolled", "passed", "failed", "dropped_out", "left", "queued")


def stochastic_round(rng: np.random.Generator, x: FloatArray) -> IntArray:
    """Round each value up with probability equal to its fraction: integers, exact mean."""
    low = np.floor(x)
    return (low + (rng.random(x.shape) < (x - low))).astype(np.int64)


@dataclass(eq=False)
class Cohort:
    """People of one pool who entered one course in one year, still in the pipeline."""

    pool: int
    course: int
    year_index: int
    active: IntArray
    """(reps,) members still in the course or waiting for their next sitting."""


@dataclass
class ProvinceState:
    d: Dynamics
    rng: np.random.Generator
    reps: int
    rates: RepRates | None = None
    """Each replication's parameters; None = the scenario's stated values in every one."""
    free: IntArray = field(init=False)
    """(reps, pools, levels) eligible people not in a course (the queued included)."""
    queue: IntArray = field(init=False)
    """(reps, pools, courses) people waiting for a seat from an earlier intake."""
    cohorts: list[Cohort] = field(default_factory=list)
    carried: list[tuple[Cohort, int]] = field(default_factory=list)
    """The cohorts in training on 1 January, each with its index in ``d.carried``."""
    clock_months: float = 0.0
    counters: dict[str, IntArray] = field(init=False)
    """Per year, (reps, pools): the YEAR_COUNTERS; reset at each year end."""
    cost_vnd: FloatArray = field(init=False)
    """(reps, pools) money spent this year."""

    def __post_init__(self) -> None:
        d = self.d
        if self.rates is None:
            self.rates = central_rates(d, self.reps)
        if self.rates.reps != self.reps:
            raise ValueError(f"rates for {self.rates.reps} replications, state for {self.reps}")
        self.free = np.array(self.rates.start, dtype=np.int64)
        self.queue = np.zeros((self.reps, d.n_pools, d.n_courses), dtype=np.int64)
        self._start_training()
        self.reset_year()

    def _start_training(self) -> None:
        """Those in training on 1 January (:mod:`simopt.start`): whole people in each
        replication, rounded without bias, taken from the free people at the level they hold."""
        d = self.d
        for i, k in enumerate(d.carried):
            people = stochastic_round(self.rng, np.full(self.reps, k.people))
            lvl = d.entry[k.course]
            people = np.minimum(people, self.free[:, k.pool, lvl])
            self.free[:, k.pool, lvl] -= people
            cohort = Cohort(k.pool, k.course, -1, people)
            self.cohorts.append(cohort)
            self.carried.append((cohort, i))
        if d.queued is not None and d.queued.any():
            self.queue = stochastic_round(
                self.rng, np.broadcast_to(d.queued, (self.reps, *d.queued.shape)).astype(float)
            )

    @property
    def r(self) -> RepRates:
        assert self.rates is not None
        return self.rates

    def reset_year(self) -> None:
        shape = (self.reps, self.d.n_pools)
        self.counters = {name: np.zeros(shape, dtype=np.int64) for name in YEAR_COUNTERS}
        self.cost_vnd = np.zeros(shape)

    # ------------------------------------------------------------------ attrition, lazily

    def advance(self, now_months: float) -> None:
        """Apply attrition for the months elapsed since the last event, to everyone."""
        dt = now_months - self.clock_months
        if dt <= 0:
            return
        self.clock_months = now_months
        keep = self.r.survival_month**dt  # (reps, pools)
        before = self.free
        after = self.rng.binomial(before, keep[:, :, None])
        self.counters["left"] += (before - after).sum(axis=2)
        self.free = after
        if self.cohorts:
            # all cohorts in one draw: per-cohort calls would dominate the run time
            active = np.stack([c.active for c in self.cohorts], axis=1)
            pools = np.fromiter((c.pool for c in self.cohorts), dtype=np.int64)
            stay = self.rng.binomial(active, keep[:, pools])
            np.add.at(self.counters["left"], (slice(None), pools), active - stay)  # type: ignore[arg-type]
            for k, cohort in enumerate(self.cohorts):
                cohort.active = stay[:, k]

    # ------------------------------------------------------------------ courses and exams

    def intake(
        self, course: int, year_index: int, requested: FloatArray, seats: float | None
    ) -> tuple[list[Cohort], IntArray]:
        """Enrol ``requested`` (pools,) people, limited by who is free and by ``seats``.

        Returns the new cohorts and the seats used (reps,). People refused for want of a seat
        queue for the next intake; people who do not exist are simply not enrolled.
        """
        d = self.d
        entry = d.entry[course]
        if year_index == 0 and d.queued is not None:
            # the schedule's first intake counts the people queued for it, who come first
            requested = np.maximum(requested - d.queued[:, course], 0.0)
        want = stochastic_round(self.rng, np.broadcast_to(requested, (self.reps, d.n_pools)))
        want = want + self.queue[:, :, course]
        can = np.minimum(want, self.free[:, :, entry])
        if seats is None:
            granted = can
        else:
            # seats go to pools in order: the first pools fill before later ones queue
            before = np.cumsum(can, axis=1) - can
            granted = np.clip(int(seats) - before, 0, can)
        self.queue[:, :, course] = can - granted
        self.counters["queued"] += can - granted
        self.free[:, :, entry] -= granted
        self.counters["enrolled"] += granted
        self.cost_vnd += granted * self.r.per_trainee_vnd[:, course, None]
        new = []
        starts = granted.any(axis=0) & d.allowed[:, course]
        for p in np.flatnonzero(starts):
            cohort = Cohort(int(p), course, year_index, granted[:, p].copy())
            self.cohorts.append(cohort)
            new.append(cohort)
        return new, granted.sum(axis=1)

    def course_end(self, cohort: Cohort) -> None:
        """Survivors complete with the course's completion rate; the rest drop out."""
        c = cohort.course
        done = self.rng.binomial(cohort.active, self.r.completion[:, c])
        dropped = cohort.active - done
        self.free[:, cohort.pool, self.d.entry[c]] += dropped
        self.counters["dropped_out"][:, cohort.pool] += dropped
        cohort.active = done
        if not done.any():
            self._retire(cohort)

    def sitting(self, cohort: Cohort, attempt: int) -> None:
        """One exam session: fees paid, passes certified, the last failures return to work."""
        d = self.d
        c, p = cohort.course, cohort.pool
        sat = cohort.active
        self.cost_vnd[:, p] += sat * self.r.exam_fee_vnd
        passed = self.rng.binomial(sat, self.r.pass_probability[:, c, attempt - 1])
        self.free[:, p, d.target[c]] += passed
        self.counters["passed"][:, p] += passed
        self.counters["failed"][:, p] += sat - passed
        cohort.active = sat - passed
        if attempt == len(d.sittings[c]):
            self.free[:, p, d.entry[c]] += cohort.active
            cohort.active = np.zeros_like(cohort.active)
            self._retire(cohort)

    def _retire(self, cohort: Cohort) -> None:
        if cohort in self.cohorts:
            self.cohorts.remove(cohort)

    # ------------------------------------------------------------------ the year's end

    def year_end(self) -> None:
        """Promotions of the free people (from one snapshot), then the year's hires."""
        d = self.d
        if d.promotions:
            snapshot = self.free.copy()
            moved_out = np.zeros_like(self.free)
            remaining_share: dict[int, FloatArray] = {}
            moves = []
            for k, (src, dst, _) in enumerate(d.promotions):
                # successive conditional draws make the moves out of one pool multinomial
                rate = self.r.promotion[:, k]
                left_share = remaining_share.get(src, np.ones(self.reps))
                prob = np.divide(rate, left_share, out=np.zeros(self.reps), where=left_share > 0)
                prob = np.minimum(1.0, prob)
                pool_left = snapshot[:, src, :] - moved_out[:, src, :]
                n = self.rng.binomial(pool_left, prob[:, None])
                moved_out[:, src, :] += n
                remaining_share[src] = left_share - rate
                moves.append((dst, n))
            self.free -= moved_out
            for dst, n in moves:
                self.free[:, dst, :] += n
        hires = stochastic_round(self.rng, np.asarray(self.r.hires))
        if hires.any():
            self.free += self.rng.multinomial(hires, self.r.hire_mix)

    def levels(self) -> IntArray:
        """(reps, pools, levels) everyone employed, trainees at their current level."""
        total = self.free.copy()
        for cohort in self.cohorts:
            total[:, cohort.pool, self.d.entry[cohort.course]] += cohort.active
        return total


def new_state(
    d: Dynamics, rng: np.random.Generator, reps: int, rates: RepRates | None = None
) -> ProvinceState:
    return ProvinceState(d=d, rng=rng, reps=reps, rates=rates)


__all__ = ["N_LEVELS", "YEAR_COUNTERS", "Cohort", "ProvinceState", "new_state", "stochastic_round"]
