"""The planning loop says why no plan exists, in the optimiser's words: a model the solver could
not solve is not called infeasible, and a cause is named rather than a list of suspects."""

from __future__ import annotations

import pytest

from simopt.plan import robust_plan
from simopt.reporting.plan import robust_table
from simopt.scenario import Scenario, load_scenario

LONG_AN = "scenarios/long_an.yaml"


@pytest.fixture(scope="module")
def long_an() -> Scenario:
    return load_scenario(LONG_AN)


def test_a_model_the_solver_cannot_solve_is_not_solved_not_infeasible() -> None:
    huge = load_scenario(LONG_AN, {"courses.level3.tuition_vnd_per_trainee": "1e18"})
    r = robust_plan(huge, confidence=0.9, reps=200, seed=1)
    assert r.status == "not_solved"
    assert r.robust is None and r.before is None
    assert r.message == r.expected.message
    assert "HiGHS status" in r.message and "badly scaled" in r.message
    assert "tuition of 1e18 đ per trainee for course level3" in r.message
    line = robust_table(r, huge).splitlines()[1]
    assert line.startswith("Plan for 90% confidence (each target): not_solved — the solver")


def test_a_course_nobody_passes_is_named_by_the_plan() -> None:
    dead = load_scenario(LONG_AN, {"courses.level4.exam_pass_probability": "0"})
    r = robust_plan(dead, confidence=0.9, reps=200, seed=1)
    assert r.status == "infeasible"
    assert r.message.startswith(
        "courses.level4.exam_pass_probability is 0: nobody can be trained to level 4"
    )
    assert "seats, time or the people" not in r.message


def test_a_ceiling_too_low_for_the_expected_plan_is_named(long_an: Scenario) -> None:
    r = robust_plan(long_an, confidence=0.9, reps=200, seed=1, ceiling_vnd=1e10)
    assert r.status == "infeasible"
    assert r.message.startswith("the budget ceiling is too low: ")
    assert "the smallest yearly ceiling meeting every target is " in r.message


def test_seats_that_cannot_carry_the_margins_name_the_course() -> None:
    tight = load_scenario(LONG_AN, {"courses.level4.seats_per_year": "3600"})
    r = robust_plan(tight, confidence=0.9, reps=200, seed=1)
    assert r.status == "not_met"
    assert "cannot be made to hold with probability 90%: the course seats bind: level4 (" in (
        r.message
    )
    assert r.message.endswith("more seats in level4 would meet every target with its margin")
