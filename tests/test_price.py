"""The price of confidence: a ladder of robust plans, each at least as dear as the one below."""

from __future__ import annotations

import pytest

from simopt.plan import fresh_tolerance
from simopt.price import price_of_confidence
from simopt.scenario import Scenario, load_scenario


@pytest.fixture(scope="module")
def ladder() -> tuple[Scenario, object]:
    s = load_scenario("scenarios/long_an.yaml")
    return s, price_of_confidence(s, levels=(0.5, 0.75, 0.9), reps=300, seed=4)


def test_every_step_of_certainty_costs_at_least_the_last(ladder) -> None:  # type: ignore[no-untyped-def]
    _, table = ladder
    assert set(table["kind"]) == {"per_target", "joint"}
    for _, rows in table.groupby("kind"):
        rows = rows.sort_values("confidence")
        assert (rows["status"] == "met").all(), rows
        costs = rows["cost_vnd"].to_list()
        # margins only grow up the ladder, so the minimum cost cannot fall
        assert costs == sorted(costs), costs
        assert (rows["extra_cost_vnd"] > 0).all()


def test_each_rung_reaches_its_confidence_on_a_fresh_sample(ladder) -> None:  # type: ignore[no-untyped-def]
    _, table = ladder
    for row in table.to_dict("records"):
        slack = fresh_tolerance(
            row["confidence"], row["replications"], 1 if row["kind"] == "joint" else 10
        )
        if row["kind"] == "joint":
            assert row["probability_all_met"] >= row["confidence"] - slack, row
        else:
            assert row["lowest_probability_met"] >= row["confidence"] - slack, row
        assert row["probability_all_met_low95"] <= row["probability_all_met"]
        assert row["probability_all_met"] <= row["probability_all_met_high95"]


def test_all_together_costs_more_than_each_alone(ladder) -> None:  # type: ignore[no-untyped-def]
    _, table = ladder
    at = table.set_index(["kind", "confidence"])
    for level in (0.75, 0.9):
        assert at.loc[("joint", level), "cost_vnd"] > at.loc[("per_target", level), "cost_vnd"]
