"""The robust loop with its model kept between rounds and its sample drawn once answers exactly
as the loop that rebuilt the model through PuLP and drew the sample again every round."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from simopt.dynamics import Dynamics
from simopt.national import write_national
from simopt.optimize import Plan, optimize
from simopt.optimize import handover as handover_module
from simopt.plan import RobustPlan, robust_plan
from simopt.scenario import Scenario, load_scenario
from simopt.simulate import run as run_module

LONG_AN = Path("scenarios/long_an.yaml")


class _Rebuilt:
    """The loop as it was: a fresh PuLP model every round."""

    def __init__(
        self,
        scenario: Scenario | None,
        *,
        ceiling_vnd: float | None = None,
        solver: str = "highs",
        dynamics: Dynamics | None = None,
    ) -> None:
        self.options: dict[str, Any] = {
            "ceiling_vnd": ceiling_vnd,
            "solver": solver,
            "dynamics": dynamics,
        }
        self.scenario = scenario

    def optimize(
        self, buffers: dict[str, float] | None = None, *, continuous: bool = False
    ) -> Plan:
        return optimize(self.scenario, buffers=buffers, continuous=continuous, **self.options)


def _not_here(*_args: Any) -> Any:
    raise AssertionError("the rebuilding loop hands its models over through PuLP")


def _rebuilding(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make robust_plan rebuild every round, solve through PuLP and draw every sample anew;
    the list counts the samples drawn."""
    drawn: list[int] = []
    draw = run_module.draw_sample

    def counted(*args: Any) -> Any:
        drawn.append(1)
        return draw(*args)

    monkeypatch.setattr("simopt.plan.MarginModel", _Rebuilt)
    monkeypatch.setattr(handover_module, "handed_over", lambda _prob: False)
    monkeypatch.setattr(handover_module, "solve", _not_here)
    monkeypatch.setattr("simopt.plan.draw_sample", lambda *_args: None)
    monkeypatch.setattr(run_module, "draw_sample", counted)
    return drawn


def _assert_same(a: RobustPlan, b: RobustPlan) -> None:
    assert (a.status, a.message, a.rounds, a.buffers) == (b.status, b.message, b.rounds, b.buffers)
    assert a.robust is not None and b.robust is not None
    for name in ("schedule", "attainment", "shadow_prices", "costs"):
        pd.testing.assert_frame_equal(getattr(a.robust, name), getattr(b.robust, name))
    pd.testing.assert_frame_equal(a.comparison(), b.comparison(), check_exact=True)
    for name in ("before", "after", "confirmed"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            pd.testing.assert_frame_equal(x.summary, y.summary, check_exact=True)
            assert (x.attained == y.attained).all()


@pytest.mark.parametrize(
    "options",
    [
        {"reps": 400, "seed": 11},  # whole people: tuning rounds continuous, the last whole
        {"reps": 400, "seed": 5, "joint": True},
    ],
)
def test_long_an_plans_as_when_rebuilt_every_round(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    s = load_scenario(LONG_AN)
    kept = robust_plan(s, confidence=0.9, **options)
    assert kept.status == "met" and kept.rounds >= 1
    with monkeypatch.context() as m:
        drawn = _rebuilding(m)
        rebuilt = robust_plan(s, confidence=0.9, **options)
    _assert_same(kept, rebuilt)
    # the rebuilding loop drew its tuning sample once a simulation
    assert len(drawn) >= kept.rounds + 2


def test_a_national_scenario_plans_as_when_rebuilt_every_round(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = load_scenario(write_national(LONG_AN, 3, tmp_path / "n3.yaml", seed=2))
    kept = robust_plan(s, confidence=0.9, reps=300, seed=4, continuous=True, workers=2)
    assert kept.rounds >= 2
    with monkeypatch.context() as m:
        _rebuilding(m)
        rebuilt = robust_plan(s, confidence=0.9, reps=300, seed=4, continuous=True)
    _assert_same(kept, rebuilt)
