"""Outcomes: the named measures an experiment reports, and how one experiment computes them.

Two tiers, run only when an asked outcome needs them:

* the optimiser (one linear program at the stated values, fractions of people — the smooth
  quantity sensitivity analysis needs): ``minimum_cost_vnd``, ``attainment:<target>`` (expected
  share, or count for a count target, at the target's year) and ``optimizer_status``;
* the robust plan (:func:`simopt.plan.robust_plan` on the fast engine, whole people, the
  uncertainties the row does not fix still drawn): ``robust_cost_vnd`` (only when the plan is
  met; NaN with its status otherwise),
  ``probability_met:<target>``, ``probability_all_met``, ``cost_per_certified_vnd`` (robust cost ÷
  the simulated mean of people certified) and ``robust_status``.

Every outcome is one row of the long table: experiment, outcome, value, status. A status outcome
has no value (NaN) and its word in ``status``; a measure that does not exist for the experiment
(the cost of an infeasible plan) is NaN with the reason's status.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simopt.errors import ScenarioError
from simopt.scenario import Scenario

if TYPE_CHECKING:
    from simopt.experiments.model import ExperimentModel

OPTIMIZER = ("minimum_cost_vnd", "attainment", "optimizer_status")
ROBUST = (
    "robust_cost_vnd",
    "probability_met",
    "probability_all_met",
    "cost_per_certified_vnd",
    "robust_status",
)
OUTCOMES: tuple[str, ...] = OPTIMIZER + ROBUST
"""Outcome families; ``attainment`` and ``probability_met`` expand to one per target."""
PER_TARGET = ("attainment", "probability_met")


@dataclass(frozen=True)
class Settings:
    """How the robust tier runs (levers ``confidence`` and ``reps`` override per row)."""

    confidence: float = 0.9
    reps: int = 400
    engine: str = "fast"


Record = tuple[str, float, str]
"""(outcome, value, status)."""


def expand_outcomes(model: ExperimentModel, names: Sequence[str]) -> tuple[str, ...]:
    """Validated outcome names, each family expanded to its targets, in a stable order."""
    targets = list(model.scenario.targets)
    out: list[str] = []
    for raw in names:
        name = raw.strip()
        family, _, target = name.partition(":")
        if family not in OUTCOMES:
            known = ", ".join(f"{f}:<target>" if f in PER_TARGET else f for f in OUTCOMES)
            raise ScenarioError(
                f"unknown outcome (known: {known})", file="--outcome", path="", value=name
            )
        if target and family not in PER_TARGET:
            raise ScenarioError(
                f"{family} is one figure for the whole plan; it takes no ':<target>'",
                file="--outcome",
                path="",
                value=name,
            )
        if target and target not in targets:
            raise ScenarioError(
                f"no target of that name (targets: {', '.join(targets)})",
                file="--outcome",
                path="",
                value=name,
            )
        expanded = (
            [f"{family}:{t}" for t in targets] if family in PER_TARGET and not target else [name]
        )
        out += [e for e in expanded if e not in out]
    if not out:
        raise ScenarioError("name at least one outcome", file="--outcome", path="", value="")
    return tuple(out)


def needs_robust(outcomes: Sequence[str]) -> bool:
    return any(o.partition(":")[0] in ROBUST for o in outcomes)


def needs_optimizer(outcomes: Sequence[str]) -> bool:
    return any(o.partition(":")[0] in OPTIMIZER for o in outcomes)


def evaluate(
    scenario: Scenario, outcomes: Sequence[str], *, seed: int, settings: Settings
) -> list[Record]:
    """Every asked outcome of one experiment's scenario, in the order asked."""
    found: dict[str, Record] = {}
    if needs_optimizer(outcomes):
        found.update(_optimizer(scenario))
    if needs_robust(outcomes):
        found.update(_robust(scenario, seed=seed, settings=settings))
    return [found.get(o, (o, math.nan, "not_computed")) for o in outcomes]


def _optimizer(scenario: Scenario) -> dict[str, Record]:
    status, cost, attainment = _minimum_cost(scenario)
    out: dict[str, Record] = {
        "optimizer_status": ("optimizer_status", math.nan, status),
        "minimum_cost_vnd": ("minimum_cost_vnd", math.nan if cost is None else cost, status),
    }
    for tid in scenario.targets:
        name = f"attainment:{tid}"
        value = attainment.get(tid) if status == "optimal" else None
        out[name] = (name, math.nan if value is None else float(value), status)
    return out


def _minimum_cost(scenario: Scenario) -> tuple[str, float | None, dict[str, float]]:
    """The expected-value plan's status, cost and attainment (share; count for a count target),
    from the array form of the optimiser's linear program (the same program, built at once)."""
    from simopt.dynamics import compile_dynamics
    from simopt.optimize.arrays import minimum_cost

    result = minimum_cost(compile_dynamics(scenario))
    cost = None if result.cost_vnd is None else float(result.cost_vnd)
    return result.status, cost, dict(result.attainment)


def _robust(scenario: Scenario, *, seed: int, settings: Settings) -> dict[str, Record]:
    from simopt.compare import people_certified
    from simopt.plan import robust_plan

    r = robust_plan(
        scenario,
        confidence=settings.confidence,
        reps=settings.reps,
        seed=seed,
        engine=settings.engine,
    )
    status = r.status
    # a plan that stopped short of the confidence has no robust cost: its last schedule is
    # not a plan that holds (its probabilities below still say how short it fell)
    cost = (
        float(r.robust.total_cost_vnd)
        if status == "met"
        and r.robust is not None
        and r.robust.is_ok
        and r.robust.total_cost_vnd is not None
        else math.nan
    )
    out: dict[str, Record] = {
        "robust_status": ("robust_status", math.nan, status),
        "robust_cost_vnd": ("robust_cost_vnd", cost, status),
    }
    certified = people_certified(r)
    per_person = cost / certified if certified and not math.isnan(cost) else math.nan
    out["cost_per_certified_vnd"] = ("cost_per_certified_vnd", per_person, status)
    judged = r.confirmed if r.confirmed is not None else r.after
    if judged is not None and r.robust is not None:
        for row in r.comparison().to_dict("records"):
            name = f"probability_met:{row['target']}"
            p = row.get(
                "probability_met_fresh_seed",
                row.get("probability_met", row.get("probability_met_before")),
            )
            out[name] = (name, float(p) if p is not None else math.nan, status)
        if judged.joint is not None:
            every = judged.joint[judged.joint["scope"] == "all"]
            if len(every):
                value = float(every["probability_all_met"].iloc[0])
                out["probability_all_met"] = ("probability_all_met", value, status)
    return out
