"""The finance frontier: warm re-solves agree with optimize(), and the frontier is monotone."""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simopt.dynamics import compile_dynamics
from simopt.optimize import Status, optimize
from simopt.optimize.frontier import Frontier, ceiling_frontier
from simopt.optimize.lp import build_lp
from simopt.optimize.solve import run, value
from simopt.scenario import Scenario, build_scenario, load_scenario

LONG_AN = Path(__file__).resolve().parents[1] / "scenarios" / "long_an.yaml"
TUITION = 10_000_000
REL = 1e-6

_BASE: dict[str, Any] = {
    "name": "tiny",
    "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
    "groups": {"g": {"pools": {"p": {"headcount": 100, "level_shares": {0: 1.0}}}}},
    "courses": {
        "c": {
            "entry_level": 0,
            "target_level": 3,
            "duration_months": 11,
            "intake_month": 1,
            "tuition_vnd_per_trainee": TUITION,
            "exam_pass_probability": 0.5,
        }
    },
    # enrolled in 2021: December 2021 and June 2022 sittings, 0.75 certified; in 2022: 0.5
    "exams": {"session_months": [6, 12], "max_attempts": 2},
    "targets": {"t": {"groups": ["g"], "min_level": 3, "min_count": 30, "year": 2022}},
}


def tiny(**changes: Any) -> Scenario:
    """The 1-pool, 1-course scenario above; ``a__b=v`` sets ``data[a][b] = v``."""
    data = copy.deepcopy(_BASE)
    for key, val in changes.items():
        *parents, last = key.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[last] = val
    return build_scenario(data)


def need(scenario: Scenario, target_id: str) -> float:
    """What a target needs, in people at the start: the shortfall's weight is 1 / need."""
    t = scenario.targets[target_id]
    return max((t.share or 0.0) * scenario.eligible_base(t), float(t.min_count or 0), 1.0)


def weighted_shortfall(shortfall: dict[str, Any] | pd.Series, scenario: Scenario) -> float:
    """The quantity the frontier minimises: each target's shortfall over what it needs.

    ``shortfall`` is a frontier row (``shortfall_people:<target>``) or people short by target.
    """
    total = 0.0
    for tid in scenario.targets:
        key = f"shortfall_people:{tid}"
        people = float(shortfall[key] if key in shortfall else shortfall[tid])
        people = 0.0 if people < 1e-3 else people  # as the frontier rounds: tolerance, not people
        total += people / need(scenario, tid)
    return total


@pytest.fixture(scope="module")
def long_an() -> Scenario:
    return load_scenario(LONG_AN)


@pytest.fixture(scope="module")
def frontier(long_an: Scenario) -> Frontier:
    return Frontier(compile_dynamics(long_an))


def test_the_frontiers_smallest_ceiling_is_optimizes(long_an: Scenario, frontier: Frontier) -> None:
    smallest = frontier.smallest_ceiling_vnd
    assert smallest is not None and smallest > 0
    assert optimize(
        long_an, ceiling_vnd=0.0, continuous=True
    ).smallest_ceiling_vnd == pytest.approx(smallest, rel=REL)


def test_the_smallest_ceiling_is_feasible_and_just_below_is_not(
    long_an: Scenario, frontier: Frontier
) -> None:
    smallest = frontier.smallest_ceiling_vnd
    assert smallest is not None
    above = frontier.solve_at(smallest * 1.0001)
    below = frontier.solve_at(smallest * 0.99)
    assert above["feasible"] and above["status"] == "optimal"
    assert above["shortfall_people"] == 0.0
    assert not below["feasible"] and below["status"] == "infeasible"
    assert below["shortfall_people"] > 0
    assert math.isnan(below["min_cost_vnd"])


FACTORS = (0.0, 0.3, 0.5, 0.9, 0.99, 1.0001, 1.2, 2.0, 5.0)
"""Ceilings tried, as multiples of the smallest feasible one."""


@pytest.fixture(scope="module")
def table(long_an: Scenario, frontier: Frontier) -> pd.DataFrame:
    smallest = frontier.smallest_ceiling_vnd
    assert smallest is not None
    return ceiling_frontier(long_an, [smallest * f for f in FACTORS])


@pytest.mark.parametrize("index", range(len(FACTORS)), ids=[f"x{f:g}" for f in FACTORS])
def test_the_frontier_agrees_with_optimize(
    long_an: Scenario, table: pd.DataFrame, index: int
) -> None:
    row = table.iloc[index]
    ceiling = float(row["ceiling_vnd"])
    plan = optimize(long_an, ceiling_vnd=ceiling, continuous=True)
    assert bool(row["feasible"]) == plan.is_ok
    if plan.is_ok:
        assert plan.total_cost_vnd is not None
        assert row["min_cost_vnd"] == pytest.approx(plan.total_cost_vnd, rel=REL)
        assert row["max_public_cost_vnd_per_year"] <= ceiling * (1 + REL)
    else:
        assert plan.status is Status.INFEASIBLE and plan.best_attainment is not None
        # the same least weighted shortfall (the objective both minimise) both ways
        best = plan.best_attainment
        at_year = best[best["year"] == best["target_year"]].set_index("target")
        from_plan = weighted_shortfall(at_year["shortfall_people"], long_an)
        from_frontier = weighted_shortfall(row, long_an)
        assert from_frontier == pytest.approx(from_plan, rel=1e-5, abs=1e-9)


def least_shortfall(scenario: Scenario, ceiling_vnd: float) -> float:
    """The least weighted shortfall, solved with the objective scaled up (×1e4) so that the
    solver's optimality tolerances cannot stop it early: the reference value."""
    model = build_lp(compile_dynamics(scenario), ceiling_vnd=ceiling_vnd, mode="min_shortfall")
    assert model.shortfall_objective is not None
    model.prob.setObjective(model.shortfall_objective * 1e4)
    assert run(model, "highs") is Status.OPTIMAL
    return sum(value(slack) / need(scenario, tid) for tid, slack in model.shortfall.items())


def test_a_fresh_frontier_finds_the_least_shortfall(long_an: Scenario) -> None:
    front = Frontier(compile_dynamics(long_an))
    assert front.smallest_ceiling_vnd is not None
    ceiling = 0.99 * front.smallest_ceiling_vnd
    row = front.solve_at(ceiling)
    assert weighted_shortfall(row, long_an) == pytest.approx(
        least_shortfall(long_an, ceiling), rel=1e-5, abs=1e-9
    )


def test_ceiling_frontier_is_monotone(long_an: Scenario) -> None:
    ceilings = np.linspace(0.0, 1.5e11, 16)
    table = ceiling_frontier(long_an, ceilings)
    assert table["ceiling_vnd"].tolist() == pytest.approx(ceilings.tolist())
    assert set(table["status"]) <= {"optimal", "infeasible"}
    feasible = table["feasible"].astype(bool).tolist()
    assert feasible[0] is False and feasible[-1] is True
    # once feasible, feasible for every higher ceiling
    first = feasible.index(True)
    assert all(feasible[first:]) and not any(feasible[:first])
    # the least (weighted) shortfall never grows with the ceiling
    short = [weighted_shortfall(r, long_an) for _, r in table.iterrows()]
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(short)), short
    assert short[0] > short[first - 1] > 0
    # nor does the minimum cost once every target is met
    costs = table.loc[table["feasible"].astype(bool), "min_cost_vnd"].tolist()
    assert all(b <= a * (1 + REL) for a, b in itertools.pairwise(costs)), costs
    assert costs[-1] < costs[0]
    # every row spends within its ceiling
    assert (table["max_public_cost_vnd_per_year"] <= table["ceiling_vnd"] * (1 + REL) + 1).all()


def test_a_small_frontier_by_hand() -> None:
    # x1, x2 ≤ C/T; 0.75·x1 + 0.5·x2 ≥ 30 → smallest C = 24 T
    scenario = tiny()
    front = Frontier(compile_dynamics(scenario))
    assert front.smallest_ceiling_vnd == pytest.approx(24 * TUITION, rel=REL)
    expected = {
        0.0: (False, 30.0, None),
        10 * TUITION: (False, 17.5, None),
        20 * TUITION: (False, 5.0, None),
        25 * TUITION: (True, 0.0, 47.5 * TUITION),  # 25 in 2021, 22.5 in 2022
        30 * TUITION: (True, 0.0, 45 * TUITION),
        40 * TUITION: (True, 0.0, 40 * TUITION),
    }
    for ceiling, (feasible, shortfall, cost) in expected.items():
        row = front.solve_at(ceiling)
        assert row["feasible"] is feasible, ceiling
        assert row["shortfall_people"] == pytest.approx(shortfall, abs=1e-4), ceiling
        if cost is not None:
            assert row["min_cost_vnd"] == pytest.approx(cost, rel=REL), ceiling
            plan = optimize(scenario, ceiling_vnd=ceiling, continuous=True)
            assert plan.total_cost_vnd == pytest.approx(cost, rel=REL)


def test_a_frontier_no_budget_can_meet() -> None:
    front = Frontier(compile_dynamics(tiny(courses__c__exam_pass_probability=0.0)))
    assert front.smallest_ceiling_vnd is None
    for ceiling in (0.0, 1e9, 1e12):
        row = front.solve_at(ceiling)
        assert row["status"] == "infeasible" and not row["feasible"]
        assert row["shortfall_people"] == pytest.approx(30.0, abs=1e-4)


def test_the_frontier_respects_source_ceilings() -> None:
    # the state pays everything and may spend 100 million a year: 20 places, 15 certified at
    # most, whatever the overall public ceiling; the frontier must say so, not give up
    data = copy.deepcopy(_BASE)
    data["groups"]["g"]["funding"] = {"state": 1.0}
    data["funding_sources"] = {"state": {"public": True}}
    data["budget"] = {"source_ceilings_vnd_per_year": {"state": 100_000_000}}
    front = Frontier(compile_dynamics(build_scenario(data)))
    row = front.solve_at(1e9)
    assert row["status"] == "infeasible", row
    assert row["shortfall_people"] == pytest.approx(30 - 0.75 * 10 - 0.5 * 10, abs=1e-4)
