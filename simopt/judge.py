"""The seed's own plan, judged: the plan as written, run in a world where pass rates, drop-out
and attrition are real.

The written plan trains, per group and phase, the people its budget pays for (one course each,
as if everyone passed and nobody left), spread evenly over the phase's years. In the real-world
scenario each group's people take the course that leads to the level its targets ask for, split
between the group's pools in proportion to the eligible people at that course's entry level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simopt.dynamics import compile_dynamics
from simopt.optimize import Plan, optimize
from simopt.plan import RobustPlan, robust_plan
from simopt.scenario import Scenario
from simopt.simulate import SimulationResult, schedule_frame, simulate


class JudgeError(ValueError):
    """The written plan cannot be mapped onto the real-world scenario."""


def written_people(written: Scenario) -> pd.DataFrame:
    """People the written plan trains: (group, first_year, last_year, people) per phase."""
    plan = optimize(written)
    if not plan.is_ok:
        raise JudgeError(f"the written plan itself has no schedule: {plan.message}")
    h = written.horizon
    rows = []
    lo = h.start_year
    for hi in h.milestones:
        part = plan.schedule[(plan.schedule["year"] >= lo) & (plan.schedule["year"] <= hi)]
        for group, n in part.groupby("group")["enrolments"].sum().items():
            rows.append({"group": group, "first_year": lo, "last_year": hi, "people": float(n)})
        lo = hi + 1
    return pd.DataFrame(rows)


def as_written_schedule(real: Scenario, written: Scenario) -> pd.DataFrame:
    """The written plan's people as an enrolment schedule of the real-world scenario."""
    d = compile_dynamics(real)
    enrol = np.zeros((len(d.years), d.n_pools, d.n_courses))
    for row in written_people(written).to_dict("records"):
        group = str(row["group"])
        if group not in real.groups:
            raise JudgeError(f"group {group!r} of the written plan is not in {real.name!r}")
        levels = {t.min_level for t in real.targets.values() if group in t.groups}
        courses = [
            c
            for c in range(d.n_courses)
            if d.target[c] in levels
            and any(d.allowed[p, c] for p in range(d.n_pools) if d.pool_group[p] == group)
        ]
        if not courses:
            raise JudgeError(f"no course in {real.name!r} leads group {group!r} to its level")
        c = max(courses, key=lambda k: d.target[k])
        pools = [p for p in range(d.n_pools) if d.pool_group[p] == group and d.allowed[p, c]]
        weights = np.array([d.start_levels[p, d.entry[c]] for p in pools], dtype=float)
        if weights.sum() <= 0:
            weights = np.ones(len(pools))
        years = [
            y
            for y, yr in enumerate(d.years)
            if int(row["first_year"]) <= yr <= int(row["last_year"])
        ]
        if not years:
            continue
        per_year = float(row["people"]) / len(years)
        for y in years:
            for p, w in zip(pools, weights / weights.sum(), strict=True):
                enrol[y, p, c] += per_year * w
    return schedule_frame(d, enrol)


@dataclass(frozen=True)
class Judgement:
    schedule: pd.DataFrame
    """The written plan as a schedule of the real-world scenario."""
    simulated: SimulationResult
    robust: RobustPlan
    as_written_cost_vnd: float
    """What the written schedule costs in the real world (tuition and exam fees)."""


def judge(
    real: Scenario, written: Scenario, *, reps: int = 1000, seed: int = 0, confidence: float = 0.9
) -> Judgement:
    """Simulate the written plan in the real world, beside the robust plan for the same targets."""
    schedule = as_written_schedule(real, written)
    d = compile_dynamics(real)
    result = simulate(real, schedule, reps=reps, seed=seed, engine="fast", dynamics=d)
    cost = float(result.cost_vnd.mean(axis=0).sum())
    robust = robust_plan(real, confidence=confidence, reps=reps, seed=seed)
    return Judgement(schedule, result, robust, cost)


__all__ = ["JudgeError", "Judgement", "Plan", "as_written_schedule", "judge", "written_people"]
