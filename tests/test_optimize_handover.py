"""A continuous model handed to HiGHS as arrays: the same model, and the same answer to the last
bit, as PuLP's own hand-over; rows added later make a new hand-over."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pulp
import pytest

from simopt.dynamics import Dynamics, compile_dynamics
from simopt.optimize import Status
from simopt.optimize.lp import LpModel, build_lp
from simopt.optimize.solve import make_solver, optimize, run
from simopt.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module", params=["long_an", "quang_tri"])
def dynamics(request: pytest.FixtureRequest) -> Dynamics:
    return compile_dynamics(load_scenario(SCENARIOS / f"{request.param}.yaml"))


def _answer(model: LpModel) -> tuple[list[float | None], list[float | None]]:
    """Every column's value and every row's dual, in PuLP's order."""
    columns = [v.varValue for v in model.prob.variables()]
    duals = [row.pi for row in model.prob.constraints.values()]
    return columns, duals


def _through_pulp(model: LpModel) -> int:
    return int(model.prob.solve(make_solver("highs", whole=False)))


def _projection(d: Dynamics) -> LpModel:
    schedule = optimize(None, dynamics=d, continuous=True).schedule
    fixed = np.zeros((len(d.years), d.n_pools, d.n_courses))
    for r in schedule.to_dict("records"):
        y, p = d.years.index(int(r["year"])), d.pool_index(str(r["pool"]))
        fixed[y, p, d.course_ids.index(str(r["course"]))] += float(r["enrolments"])
    return build_lp(d, fixed_enrolments=fixed)


BUILDS: dict[str, Callable[[Dynamics], LpModel]] = {
    "least shortfall": lambda d: build_lp(d, mode="min_shortfall"),
    "least cost": lambda d: build_lp(d, buffers=dict.fromkeys(d.scenario.targets, 25.0)),
    "smallest ceiling": lambda d: build_lp(d, mode="min_ceiling"),
    "projection": _projection,
}


@pytest.mark.parametrize("kind", list(BUILDS))
def test_the_answer_is_pulps_to_the_last_bit(dynamics: Dynamics, kind: str) -> None:
    ours, theirs = BUILDS[kind](dynamics), BUILDS[kind](dynamics)
    assert run(ours, "highs") is Status.OPTIMAL
    assert ours.handover is not None  # it did go through the arrays
    assert _through_pulp(theirs) == pulp.LpStatusOptimal
    assert _answer(ours) == _answer(theirs)
    assert (ours.prob.status, ours.prob.sol_status) == (theirs.prob.status, theirs.prob.sol_status)
    # HiGHS received the very same program
    a, b = ours.prob.solverModel.getLp(), theirs.prob.solverModel.getLp()
    for name in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in ("start_", "index_", "value_"):
        assert np.array_equal(getattr(a.a_matrix_, name), getattr(b.a_matrix_, name)), name


def test_bounds_objective_and_right_hand_sides_are_read_again(dynamics: Dynamics) -> None:
    ours, theirs = (
        build_lp(dynamics, mode="min_shortfall"),
        build_lp(dynamics, mode="min_shortfall"),
    )
    run(ours, "highs")
    first = ours.handover
    for model in (ours, theirs):
        # what optimize does between its solves: nothing short, then the cost
        for slack in model.shortfall.values():
            slack.upBound = 0.0
        assert model.weighted_cost is not None
        model.prob.setObjective(model.weighted_cost)
    run(ours, "highs")
    _through_pulp(theirs)
    assert ours.handover is first  # the matrix was kept
    assert _answer(ours) == _answer(theirs)


def test_a_row_added_makes_a_new_handover(dynamics: Dynamics) -> None:
    ours, theirs = (
        build_lp(dynamics, mode="min_shortfall"),
        build_lp(dynamics, mode="min_shortfall"),
    )
    run(ours, "highs")
    first = ours.handover
    for model in (ours, theirs):
        assert model.total_cost is not None
        model.prob += model.total_cost <= 1e9, "cap"
    run(ours, "highs")
    _through_pulp(theirs)
    assert ours.handover is not first
    assert _answer(ours) == _answer(theirs)


def test_an_infeasible_model_reads_as_pulp_reads_it(dynamics: Dynamics) -> None:
    # targets hard under a ceiling of one đồng a year
    ours, theirs = build_lp(dynamics, ceiling_vnd=1.0), build_lp(dynamics, ceiling_vnd=1.0)
    status = run(ours, "highs")
    code = _through_pulp(theirs)
    assert status is Status.INFEASIBLE
    assert (ours.prob.status, ours.prob.sol_status) == (code, theirs.prob.sol_status)
