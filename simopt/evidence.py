"""What a plan's probabilities rest on, gathered for its report: the price of each step of
confidence, which uncertainties drive the targets at risk, and how much of each target's spread
the parameters explain rather than luck."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from simopt.plan import RobustPlan
from simopt.price import LEVELS, price_of_confidence
from simopt.scenario import Scenario
from simopt.simulate import SimulationResult
from simopt.uncertain.drivers import oat_drivers

AT_RISK = 0.95
"""A target held with less than this probability is at risk: its drivers are listed."""


@dataclass(frozen=True)
class Evidence:
    drivers: pd.DataFrame
    """One-at-a-time swings (:func:`simopt.uncertain.drivers.oat_drivers`) of the targets that
    miss or are at risk, on the schedule reported."""
    variance: pd.DataFrame | None
    """Per target: the spread of attained people split into parameters and luck."""
    price: pd.DataFrame | None
    """The price of confidence (:func:`simopt.price.price_of_confidence`)."""
    at_risk: tuple[str, ...]
    ceiling: pd.DataFrame | None = None
    """Per year under a ceiling: public spending drawn with the ranges, and the probability it
    stays within the ceiling (None without a ceiling)."""


def simulation_drivers(
    scenario: Scenario, schedule: pd.DataFrame, result: SimulationResult, *, seed: int = 0
) -> pd.DataFrame | None:
    """What the targets a simulation holds below :data:`AT_RISK` rest on (None when nothing was
    drawn or no target is at risk)."""
    if result.parameters is None:
        return None
    at = result.summary[result.summary["year"] == result.summary["target_year"]]
    at_risk = at.loc[at["probability_met"] < AT_RISK, "target"].astype(str).tolist()
    if not at_risk:
        return None
    return oat_drivers(scenario, schedule, targets=at_risk, seed=seed)


def targets_at_risk(r: RobustPlan) -> tuple[str, ...]:
    table = r.comparison()
    if table.empty:
        return ()
    for column in ("probability_met_fresh_seed", "probability_met", "probability_met_before"):
        if column in table:
            return tuple(table.loc[table[column] < AT_RISK, "target"].astype(str))
    return ()


def gather_evidence(
    scenario: Scenario,
    r: RobustPlan,
    *,
    seed: int = 0,
    reps: int = 1000,
    price_levels: Sequence[float] | None = LEVELS,
    ceiling_vnd: float | None = None,
    uncertainty: str = "ranges",
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
    continuous: bool = False,
) -> Evidence:
    """Drivers for the targets at risk on the reported schedule, the variance split of the
    fresh check and, unless ``price_levels`` is None, the price of confidence."""
    plan = r.robust if r.robust is not None and r.robust.is_ok else r.expected
    at_risk = targets_at_risk(r)
    drivers = pd.DataFrame()
    if plan.is_ok and at_risk and scenario.uncertainties.any and uncertainty == "ranges":
        drivers = oat_drivers(scenario, plan.schedule, targets=list(at_risk), seed=seed)
    price = None
    if price_levels is not None and r.before is not None:
        kind = "joint" if r.joint else "per_target"
        price = price_of_confidence(
            scenario,
            levels=price_levels,
            reps=reps,
            seed=seed,
            ceiling_vnd=ceiling_vnd,
            uncertainty=uncertainty,
            workers=workers,
            known={(r.confidence, kind): r},
            progress=progress,
            continuous=continuous,
        )
    variance = r.confirmed.variance if r.confirmed is not None else None
    ceiling = None
    judged = r.confirmed or r.after
    b = scenario.budget
    if judged is not None and (
        ceiling_vnd is not None or b.ceiling_vnd_per_year is not None or b.ceiling_vnd_by_year
    ):
        ceiling = judged.ceiling_table(
            lambda year: ceiling_vnd if ceiling_vnd is not None else b.ceiling_for(year)
        )
    return Evidence(drivers, variance, price, at_risk, ceiling)
