"""The main job: a schedule that meets every target with a stated probability.

An expected-value schedule meets a target about half the time. The loop: optimise → simulate the
schedule → for each target held with less than the asked probability, add to its requirement the
margin the simulation shows is missing (the lower quantile of attained − required) → optimise
again, until every target holds or the optimiser says why it cannot. Margins only grow, so the
loop ends; the same seed is used in every round (common random numbers) so that rounds differ by
the schedule, not by luck.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from simopt.dynamics import Dynamics, compile_dynamics
from simopt.format import vnd
from simopt.optimize import Plan, optimize
from simopt.scenario import Scenario
from simopt.simulate import SimulationResult, simulate

FloatArray = npt.NDArray[np.float64]
MIN_STEP_PEOPLE = 1.0
"""Smallest margin increase a round makes, so that each round changes the schedule."""


class PlanError(ValueError):
    """The planning loop was asked for something it cannot answer honestly."""


def min_replications(confidence: float) -> int:
    """Replications needed before "holds with probability ≥ confidence" means anything: about
    ten expected failures at that confidence."""
    return math.ceil(10.0 / (1.0 - confidence) - 1e-9)


@dataclass(frozen=True)
class RobustPlan:
    scenario: str
    confidence: float
    status: str
    """"met": every target holds with the asked probability; "not_met": the loop stopped short
    (see ``message``); "infeasible": not even the expected-value plan exists."""
    message: str
    expected: Plan
    robust: Plan | None
    before: SimulationResult | None
    after: SimulationResult | None
    buffers: dict[str, float] = field(default_factory=dict)
    rounds: int = 0
    confirmed: SimulationResult | None = None
    """The final schedule simulated again on a fresh random stream (the margins were learnt on
    ``after``'s stream, so this is the out-of-sample check)."""

    @property
    def is_met(self) -> bool:
        return self.status == "met"

    def comparison(self) -> pd.DataFrame:
        """Per target at its year: expected attainment and probability, before and after."""
        rows: list[dict[str, Any]] = []
        if self.before is None:
            return pd.DataFrame()
        ev = _at_target_year(self.expected.attainment)
        b = _at_target_year(self.before.summary)
        robust = _at_target_year(self.robust.attainment) if self.robust is not None else None
        a = _at_target_year(self.after.summary) if self.after is not None else None
        for tid in ev.index:
            row: dict[str, Any] = {
                "target": tid,
                "year": int(ev.loc[tid, "year"]),
                "expected_attained_people": float(ev.loc[tid, "attained_people"]),
                "expected_share": float(ev.loc[tid, "attained_share"]),
                "probability_met_before": float(b.loc[tid, "probability_met"]),
                "buffer_people": self.buffers.get(tid, 0.0),
            }
            if robust is not None and a is not None:
                row["robust_expected_attained_people"] = float(robust.loc[tid, "attained_people"])
                row["robust_expected_share"] = float(robust.loc[tid, "attained_share"])
                row["probability_met"] = float(a.loc[tid, "probability_met"])
                row["probability_met_se"] = float(a.loc[tid, "probability_met_se"])
            if self.confirmed is not None:
                fresh = _at_target_year(self.confirmed.summary)
                row["probability_met_fresh_seed"] = float(fresh.loc[tid, "probability_met"])
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def extra_people(self) -> float | None:
        if self.robust is None or not self.robust.is_ok:
            return None
        return float(
            self.robust.schedule["enrolments"].sum() - self.expected.schedule["enrolments"].sum()
        )

    @property
    def extra_cost_vnd(self) -> float | None:
        if self.robust is None or self.robust.total_cost_vnd is None:
            return None
        return float(self.robust.total_cost_vnd - (self.expected.total_cost_vnd or 0.0))


def _at_target_year(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["year"] == frame["target_year"]].set_index("target")


def target_gaps(d: Dynamics, result: SimulationResult) -> dict[str, FloatArray]:
    """Per target, attained − required at the target's year in every replication (people)."""
    s = d.scenario
    gaps = {}
    for i, (tid, t) in enumerate(s.targets.items()):
        y = d.years.index(t.year)
        a = result.attained[:, i, y]
        b = result.base[:, i, y]
        need = t.required(b)
        gaps[tid] = a - need
    return gaps


def robust_plan(
    scenario: Scenario,
    *,
    confidence: float = 0.9,
    reps: int = 1000,
    seed: int = 0,
    ceiling_vnd: float | None = None,
    engine: str = "fast",
    workers: int = 1,
    solver: str = "highs",
    max_rounds: int = 12,
    progress: Callable[[str], None] | None = None,
    start_buffers: dict[str, float] | None = None,
) -> RobustPlan:
    """Optimise, simulate, and add margins until every target holds with ``confidence``."""
    if not 0.0 < confidence < 1.0:
        raise PlanError(f"confidence(={confidence}) must lie strictly between 0 and 1")
    if reps < min_replications(confidence):
        raise PlanError(
            f"--reps {reps} is too few to show a probability of {confidence:.0%}: use at least "
            f"{min_replications(confidence)} (about ten expected misses)"
        )
    d = compile_dynamics(scenario)
    say = progress or (lambda _msg: None)

    def sim(plan: Plan) -> SimulationResult:
        return simulate(
            scenario,
            plan.schedule,
            reps=reps,
            seed=seed,
            engine=engine,
            workers=workers,
            dynamics=d,
        )

    expected = optimize(scenario, ceiling_vnd=ceiling_vnd, solver=solver, dynamics=d)
    if not expected.is_ok:
        return RobustPlan(
            scenario.name, confidence, "infeasible", expected.message, expected, None, None, None
        )
    before = sim(expected)
    buffers = dict.fromkeys(scenario.targets, 0.0)
    plan, result = expected, before
    if start_buffers:
        # resume from margins learnt elsewhere (e.g. without a ceiling)
        buffers.update(start_buffers)
        candidate = optimize(
            scenario, ceiling_vnd=ceiling_vnd, solver=solver, dynamics=d, buffers=buffers
        )
        if not candidate.is_ok:
            why = _why_not(candidate, ceiling_vnd is not None or _has_ceiling(scenario))
            return RobustPlan(
                scenario.name,
                confidence,
                "not_met",
                f"the margins the targets need do not fit: {why}",
                expected,
                plan,
                before,
                result,
                buffers,
                0,
            )
        plan, result = candidate, sim(candidate)
    for round_ in range(1, max_rounds + 1):
        gaps = target_gaps(d, result)
        short = {t: g for t, g in gaps.items() if float(np.mean(g >= -1e-9)) < confidence}
        say(f"round {round_}: {len(short)} target(s) below {confidence:.0%}")
        if not short:
            fresh = simulate(
                scenario,
                plan.schedule,
                reps=reps,
                seed=seed + 1,
                engine=engine,
                workers=workers,
                dynamics=d,
            )
            return RobustPlan(
                scenario.name,
                confidence,
                "met",
                f"every target holds with probability ≥ {confidence:.0%}",
                expected,
                plan,
                before,
                result,
                buffers,
                round_ - 1,
                fresh,
            )
        for tid, g in short.items():
            missing = -float(np.quantile(g, 1.0 - confidence))
            buffers[tid] += max(missing, MIN_STEP_PEOPLE)
        candidate = optimize(
            scenario, ceiling_vnd=ceiling_vnd, solver=solver, dynamics=d, buffers=buffers
        )
        if not candidate.is_ok:
            names = ", ".join(sorted(short))
            why = _why_not(candidate, ceiling_vnd is not None or _has_ceiling(scenario))
            return RobustPlan(
                scenario.name,
                confidence,
                "not_met",
                f"{names} cannot be made to hold with probability {confidence:.0%}: {why}",
                expected,
                plan,
                before,
                result,
                buffers,
                round_,
            )
        plan, result = candidate, sim(candidate)
    return RobustPlan(
        scenario.name,
        confidence,
        "not_met",
        f"no schedule found in {max_rounds} rounds",
        expected,
        plan,
        before,
        result,
        buffers,
        max_rounds,
    )


def _has_ceiling(scenario: Scenario) -> bool:
    b = scenario.budget
    return b.ceiling_vnd_per_year is not None or bool(b.ceiling_vnd_by_year)


def _why_not(plan: Plan, ceiling: bool) -> str:
    if plan.smallest_ceiling_vnd is None:
        return "seats, time or the people available do not allow the margin it needs"
    if ceiling:
        return (
            "the budget ceiling is too low; a yearly ceiling of "
            f"{vnd(plan.smallest_ceiling_vnd)} would allow it"
        )
    return plan.message


@dataclass(frozen=True)
class RobustCeiling:
    ceiling_vnd: float | None
    """Smallest uniform yearly public ceiling found with every target held at the confidence."""
    plan: RobustPlan | None
    message: str


def robust_ceiling(
    scenario: Scenario,
    *,
    confidence: float = 0.9,
    reps: int = 1000,
    seed: int = 0,
    engine: str = "fast",
    max_rounds: int = 8,
) -> RobustCeiling:
    """The smallest yearly ceiling under which the robust loop still meets every target.

    Margins learnt without a ceiling give, by LP, the smallest ceiling that can carry them; the
    schedule under that ceiling has another shape, so it is simulated again and the margins and
    the ceiling are raised until the plan holds.
    """
    d = compile_dynamics(scenario)
    free = robust_plan(scenario, confidence=confidence, reps=reps, seed=seed, engine=engine)
    if not free.is_met:
        return RobustCeiling(None, None, f"even without a ceiling: {free.message}")
    from simopt.optimize.solve import smallest_ceiling

    buffers = dict(free.buffers)
    for _ in range(max_rounds):
        ceiling = smallest_ceiling(d, solver="highs", buffers=buffers)
        if ceiling is None:
            return RobustCeiling(None, None, "no ceiling carries the margins the targets need")
        ceiling *= 1.0 + 1e-6  # solver tolerance
        held = robust_plan(
            scenario,
            confidence=confidence,
            reps=reps,
            seed=seed,
            engine=engine,
            ceiling_vnd=ceiling,
            start_buffers=buffers,
        )
        if held.is_met:
            return RobustCeiling(
                ceiling,
                held,
                f"every target holds with probability ≥ {confidence:.0%} under this ceiling",
            )
        buffers = dict(held.buffers)
    return RobustCeiling(None, None, f"no stable ceiling found in {max_rounds} rounds")
