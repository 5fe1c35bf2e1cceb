"""A model built once and asked again with other margins answers as a fresh build does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simopt.dynamics import Dynamics, compile_dynamics
from simopt.optimize import Plan, Status, optimize
from simopt.optimize.lp import build_lp, set_margins
from simopt.optimize.margins import MarginModel
from simopt.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module", params=["long_an", "quang_tri"])
def dynamics(request: pytest.FixtureRequest) -> Dynamics:
    return compile_dynamics(load_scenario(SCENARIOS / f"{request.param}.yaml"))


def _margins(d: Dynamics, seed: int, high: float) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return {tid: float(rng.uniform(0.0, high)) for tid in d.scenario.targets}


def _assert_same(a: Plan, b: Plan) -> None:
    assert (a.status, a.message, a.cause, a.total_cost_vnd) == (
        b.status,
        b.message,
        b.cause,
        b.total_cost_vnd,
    )
    assert (a.best_effort, a.best_effort_cost_vnd, a.smallest_ceiling_vnd) == (
        b.best_effort,
        b.best_effort_cost_vnd,
        b.smallest_ceiling_vnd,
    )
    for name in ("schedule", "costs", "attainment", "classes", "shadow_prices"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_set_margins_gives_the_rows_a_build_gives(dynamics: Dynamics) -> None:
    margins = _margins(dynamics, 1, 80.0)
    built = build_lp(dynamics, mode="min_shortfall", buffers=margins)
    moved = build_lp(dynamics, mode="min_shortfall", buffers=_margins(dynamics, 2, 30.0))
    set_margins(moved, margins)
    rows = {**built.target_rows, **{f"n_{k}": v for k, v in built.target_count_rows.items()}}
    again = {**moved.target_rows, **{f"n_{k}": v for k, v in moved.target_count_rows.items()}}
    assert rows
    assert {k: r.constant for k, r in rows.items()} == {k: r.constant for k, r in again.items()}
    # margins that were given and are now left out fall back to none
    set_margins(moved, None)
    plain = build_lp(dynamics, mode="min_shortfall")
    assert [r.constant for r in plain.prob.constraints.values()] == [
        r.constant for r in moved.prob.constraints.values()
    ]


def test_each_ask_answers_as_a_fresh_build(dynamics: Dynamics) -> None:
    kept = MarginModel(None, dynamics=dynamics)
    asks: list[tuple[dict[str, float] | None, bool]] = [
        (None, True),
        (_margins(dynamics, 3, 60.0), True),
        (_margins(dynamics, 4, 20.0), False),  # whole people: the MILP is built on the side
        ({}, True),
        (_margins(dynamics, 5, 120.0), True),
    ]
    for buffers, continuous in asks:
        fresh = optimize(None, dynamics=dynamics, buffers=buffers, continuous=continuous)
        assert fresh.is_ok
        _assert_same(kept.optimize(buffers, continuous=continuous), fresh)


def test_margins_out_of_reach_are_explained_alike_and_the_next_ask_is_clean(
    dynamics: Dynamics,
) -> None:
    kept = MarginModel(None, dynamics=dynamics, ceiling_vnd=None)
    kept.optimize({}, continuous=True)
    huge = dict.fromkeys(dynamics.scenario.targets, 1e7)
    fresh = optimize(None, dynamics=dynamics, buffers=huge, continuous=True)
    assert fresh.status is Status.INFEASIBLE
    _assert_same(kept.optimize(huge, continuous=True), fresh)
    margins = _margins(dynamics, 6, 40.0)
    _assert_same(
        kept.optimize(margins, continuous=True),
        optimize(None, dynamics=dynamics, buffers=margins, continuous=True),
    )


def test_a_ceiling_is_kept_for_every_ask() -> None:
    d = compile_dynamics(load_scenario(SCENARIOS / "long_an.yaml"))
    expected = optimize(None, dynamics=d, continuous=True)
    assert expected.total_cost_vnd is not None
    ceiling = 0.5 * expected.totals_by_year()["public_cost_vnd"].max()
    kept = MarginModel(None, dynamics=d, ceiling_vnd=ceiling)
    for buffers in ({}, _margins(d, 7, 50.0)):
        fresh = optimize(None, dynamics=d, buffers=buffers, continuous=True, ceiling_vnd=ceiling)
        assert fresh.status is Status.INFEASIBLE  # half the money a year does not do
        _assert_same(kept.optimize(buffers, continuous=True), fresh)
