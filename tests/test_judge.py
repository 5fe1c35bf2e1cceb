"""The seed's own plan, judged in a world with real pass rates, drop-out and attrition."""

from __future__ import annotations

import pytest

from simopt.judge import as_written_schedule, judge, written_people
from simopt.scenario import load_scenario


@pytest.fixture(scope="module")
def judgement():  # type: ignore[no-untyped-def]
    real = load_scenario("scenarios/long_an.yaml")
    written = load_scenario("scenarios/long_an_as_written.yaml")
    return judge(real, written, reps=300, seed=4)


def test_written_people_are_the_plans_own_counts() -> None:
    people = written_people(load_scenario("scenarios/long_an_as_written.yaml"))
    by_phase = people.groupby("first_year")["people"].sum()
    assert by_phase[2021] == pytest.approx(5518)
    assert by_phase[2026] == pytest.approx(5467)


def test_schedule_spreads_the_plans_people_over_the_real_world() -> None:
    real = load_scenario("scenarios/long_an.yaml")
    written = load_scenario("scenarios/long_an_as_written.yaml")
    sched = as_written_schedule(real, written)
    assert sched["enrolments"].sum() == pytest.approx(10985)
    phase1 = sched[sched["year"] <= 2025]
    assert phase1["enrolments"].sum() == pytest.approx(5518)
    # evenly over the phase's years, as the plan's "about 1,103 people a year"
    per_year = phase1.groupby("year")["enrolments"].sum()
    assert per_year.min() == pytest.approx(per_year.max())
    pe = sched[sched["group"] == "public_employees"]
    assert set(pe["course"]) == {"level4"}


def test_the_written_plan_misses_the_share_targets(judgement) -> None:  # type: ignore[no-untyped-def]
    s = judgement.simulated.summary
    at = s[s["year"] == s["target_year"]].set_index("target")
    assert at.loc["pe_2025", "probability_met"] < 0.05
    assert at.loc["pe_2030", "probability_met"] < 0.05
    # fewer are certified than the plan pays for: some fail, drop out or leave
    assert judgement.simulated.yearly["passed"].sum() < 0.9 * 10985


def test_the_robust_plan_costs_more_and_holds(judgement) -> None:  # type: ignore[no-untyped-def]
    robust = judgement.robust
    assert robust.status == "met"
    assert robust.robust is not None and robust.robust.total_cost_vnd is not None
    assert robust.robust.total_cost_vnd > judgement.as_written_cost_vnd
