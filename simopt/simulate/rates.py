"""The rates a simulation runs with, one row per replication.

Without uncertainty every row holds the compiled dynamics' values. With it, each row holds that
replication's drawn parameters, mapped onto the same arrays: the rules in
:mod:`simopt.simulate.state` read only these arrays, so a drawn pass rate and a fixed one go
through the same code, and a range of zero width gives the very same draws as no range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simopt.dynamics import (
    N_LEVELS,
    Dynamics,
    class_cost_per_trainee,
    level_row,
    sitting_pass_probability,
    whole_people_rows,
)
from simopt.uncertain.draws import ParameterDraws

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RepRates:
    """Per-replication parameters; the first axis of every array is the replication."""

    survival_month: FloatArray
    """(reps, pools) probability of staying employed one more month."""
    hires: FloatArray
    """(reps, pools) hires a year."""
    hire_mix: FloatArray
    """(reps, pools, levels)."""
    promotion: FloatArray
    """(reps, promotions) yearly rate of each promotion."""
    completion: FloatArray
    """(reps, courses)."""
    pass_probability: FloatArray
    """(reps, courses, attempts) pass probability of each sitting."""
    per_trainee_vnd: FloatArray
    """(reps, courses) tuition and class cost per trainee at intake."""
    exam_fee_vnd: FloatArray
    """(reps,)."""
    start: IntArray
    """(reps, pools, levels) eligible people at each level on 1 January of the first year."""

    @property
    def reps(self) -> int:
        return int(self.hires.shape[0])


def central_rates(d: Dynamics, reps: int) -> RepRates:
    """Every replication at the scenario's stated values."""
    n_attempts = max((len(s) for s in d.sittings), default=0)
    passing = np.zeros((d.n_courses, max(n_attempts, 1)))
    for c, sittings in enumerate(d.sittings):
        for a, spec in enumerate(sittings):
            passing[c, a] = spec.pass_probability
    whole = np.floor(np.asarray(d.start_levels) + 0.5).astype(np.int64)

    def rows(a: npt.ArrayLike) -> FloatArray:
        arr = np.asarray(a, dtype=float)
        return np.broadcast_to(arr, (reps, *arr.shape))

    return RepRates(
        survival_month=rows((1.0 - np.asarray(d.attrition)) ** (1.0 / 12.0)),
        hires=rows(d.hires),
        hire_mix=rows(d.hire_mix),
        promotion=rows([rate for _, _, rate in d.promotions]),
        completion=rows(d.completion),
        pass_probability=rows(passing),
        per_trainee_vnd=rows(d.tuition_vnd + d.class_cost_vnd_per_trainee),
        exam_fee_vnd=rows(d.exam_fee_vnd),
        start=np.broadcast_to(whole, (reps, *whole.shape)),
    )


def drawn_rates(d: Dynamics, draws: ParameterDraws) -> RepRates:
    """The rates of each replication from its drawn parameters (the rest at stated values)."""
    s = d.scenario
    reps = draws.reps
    base = central_rates(d, reps)
    attrition = np.array(np.broadcast_to(d.attrition, (reps, d.n_pools)))
    hires = np.array(base.hires)
    hire_mix = np.array(base.hire_mix)
    promotion = np.array(base.promotion)
    completion = np.array(base.completion)
    pass_first = np.broadcast_to(
        np.array([s.courses[c].exam_pass_probability for c in d.course_ids]), (reps, d.n_courses)
    ).copy()
    retake = np.full(reps, s.exams.retake_pass_factor)
    tuition = np.array(np.broadcast_to(d.tuition_vnd, (reps, d.n_courses)))
    class_cost = np.array(
        np.broadcast_to(
            np.array([s.courses[c].cost_vnd_per_class for c in d.course_ids], dtype=float),
            (reps, d.n_courses),
        )
    )
    fee = np.array(base.exam_fee_vnd)
    headcount: dict[int, FloatArray] = {}
    excluded: dict[int, FloatArray] = {}
    shares: dict[int, FloatArray] = {}

    for j, path in enumerate(draws.paths):
        v = draws.values[:, j]
        parts = path.split(".")
        if parts[0] == "groups":
            p = d.pool_index(parts[3])
            name = parts[4]
            if name == "attrition_rate_per_year":
                attrition[:, p] = v
            elif name == "hires_per_year":
                hires[:, p] = v
            elif name == "headcount":
                headcount[p] = v
            elif name == "excluded":
                excluded[p] = v
            else:
                raise ValueError(f"no rule draws {path}")
        elif parts[0] == "promotions":
            promotion[:, int(parts[1])] = v
        elif parts[0] == "courses":
            c = d.course_ids.index(parts[1])
            name = parts[2]
            if name == "completion_rate":
                completion[:, c] = v
            elif name == "exam_pass_probability":
                pass_first[:, c] = v
            elif name == "tuition_vnd_per_trainee":
                tuition[:, c] = v
            elif name == "cost_vnd_per_class":
                class_cost[:, c] = v
            else:
                raise ValueError(f"no rule draws {path}")
        elif path == "exams.fee_vnd":
            fee = v.copy()
        elif path == "exams.retake_pass_factor":
            retake = v.copy()
        else:
            raise ValueError(f"no rule draws {path}")
    for path, mix in draws.mixes.items():
        parts = path.split(".")
        p = d.pool_index(parts[3])
        if parts[4] == "level_shares":
            shares[p] = mix
        else:
            hire_mix[:, p, :] = mix

    passing = np.array(base.pass_probability)
    for c, sittings in enumerate(d.sittings):
        for a, spec in enumerate(sittings):
            passing[:, c, a] = sitting_pass_probability(pass_first[:, c], retake, spec.attempt)
    per_class = class_cost_per_trainee(
        class_cost, [s.courses[c].class_size or 0 for c in d.course_ids]
    )
    start = np.array(base.start)
    pools = s.pools()
    for p in sorted(set(headcount) | set(excluded) | set(shares)):
        pool = pools[d.pool_ids[p]][1]
        if pool.level_counts is not None:
            continue  # counts are facts: their pool's head count ranges have zero width
        n = np.rint(headcount.get(p, np.full(reps, float(pool.headcount))))
        n -= np.rint(excluded.get(p, np.full(reps, float(pool.excluded))))
        if p in shares:
            table = shares[p]
        else:
            row = level_row(pool.level_shares or {0: 1.0})
            table = np.broadcast_to(row, (reps, N_LEVELS))
        start[:, p, :] = whole_people_rows(table * n[:, None], n)
    return RepRates(
        survival_month=(1.0 - attrition) ** (1.0 / 12.0),
        hires=hires,
        hire_mix=hire_mix / hire_mix.sum(axis=2, keepdims=True),
        promotion=promotion,
        completion=completion,
        pass_probability=passing,
        per_trainee_vnd=tuition + per_class,
        exam_fee_vnd=fee,
        start=start,
    )
