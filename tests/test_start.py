"""The start state: people in training on 1 January follow the same timeline, in the optimiser
and in both engines, as they would have in a run that never stopped.

The uninterrupted run enrols a cohort in 2022 and runs to 2024; the re-started run begins on
1 January 2023 with that cohort's expected survivors in the start state. From 2023 on, the
certified people, the people still in training and the money the sittings cost must be the same.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from builders import with_changes

from simopt.dynamics import compile_dynamics
from simopt.errors import ScenarioError
from simopt.optimize import optimize
from simopt.optimize.arrays import minimum_cost
from simopt.optimize.lp import build_lp
from simopt.optimize.solve import read_costs, run
from simopt.scenario import Scenario, build_scenario
from simopt.simulate import simulate
from simopt.simulate.timeline import carried_events, cohort_events

COHORT = 1000
ATTRITION = 0.05

_BASE: dict[str, Any] = {
    "name": "mid_course",
    "horizon": {"start_year": 2021, "end_year": 2024, "milestones": [2024]},
    "groups": {
        "g": {
            "pools": {
                "p": {
                    "headcount": 4000,
                    "level_counts": {0: 4000},
                    "attrition_rate_per_year": ATTRITION,
                }
            }
        }
    },
    "courses": {
        # a course longer than a year: the 2022 intake is still in it on 1 January 2023
        "long": {
            "entry_level": 0,
            "target_level": 3,
            "duration_months": 14,
            "intake_month": 2,
            "tuition_vnd_per_trainee": 10_000_000,
            "completion_rate": 0.8,
            "exam_pass_probability": 0.6,
        },
        # a course inside one year: its 2022 completers who failed in December wait for March
        "short": {
            "entry_level": 0,
            "target_level": 3,
            "duration_months": 9,
            "intake_month": 2,
            "tuition_vnd_per_trainee": 5_000_000,
            "completion_rate": 0.9,
            "exam_pass_probability": 0.5,
        },
    },
    "exams": {
        "session_months": [3, 6, 9, 12],
        "fee_vnd": 1_800_000,
        "max_attempts": 2,
        "retake_pass_factor": 0.9,
    },
    "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.01, "year": 2024}},
}


def uninterrupted(**changes: Any) -> Scenario:
    return build_scenario(with_changes(_BASE, **changes))


def restarted(start: dict[str, Any], headcount: int, **changes: Any) -> Scenario:
    data = with_changes(_BASE, **changes)
    data["horizon"]["start_year"] = 2023
    pool = data["groups"]["g"]["pools"]["p"]
    pool["headcount"] = headcount
    pool["level_counts"] = {0: headcount}
    data["start"] = start
    return build_scenario(data)


def projection(s: Scenario, enrol: dict[tuple[int, str], float]) -> Any:
    """The LP's expected projection of a fixed schedule: (level 3 people by year, costs)."""
    d = compile_dynamics(s)
    fixed = np.zeros((len(d.years), d.n_pools, d.n_courses))
    for (year, course), n in enrol.items():
        fixed[d.years.index(year), 0, d.course_ids.index(course)] = n
    model = build_lp(d, fixed_enrolments=fixed)
    run(model, "highs")
    level3 = {year: float(model.level[0, 3, y].varValue) for y, year in enumerate(d.years)}
    costs = read_costs(model).groupby("year")["cost_vnd"].sum()
    return level3, costs


def survivors_on_1_january(s: Scenario, course: str) -> tuple[float, float]:
    """Expected people of the 2022 intake still in the course, or waiting, on 1 January 2023."""
    d = compile_dynamics(s)
    c = d.course_ids.index(course)
    return COHORT * d.profiles[0][c].in_pipeline[0], d.start_levels[0, 0]


def test_a_cohort_still_in_its_course_certifies_on_the_same_timeline_in_the_optimiser() -> None:
    full = uninterrupted()
    in_course, _ = survivors_on_1_january(full, "long")
    level3, costs = projection(full, {(2022, "long"): COHORT})
    again = restarted(
        {"in_course": [{"pool": "p", "course": "long", "intake_year": 2022, "people": in_course}]},
        4000,
    )
    level3_again, costs_again = projection(again, {})
    for year in (2023, 2024):
        assert level3_again[year] == pytest.approx(level3[year], rel=1e-9)
    assert level3[2023] > 100  # the cohort does certify in 2023: the comparison is not empty
    # the fees of its sittings in 2023 are the plan's to pay in both
    assert costs_again[2023] == pytest.approx(costs[2023], rel=1e-9)


def test_completers_waiting_for_a_retake_certify_on_the_same_timeline() -> None:
    full = uninterrupted()
    waiting, _ = survivors_on_1_january(full, "short")
    level3, costs = projection(full, {(2022, "short"): COHORT})
    again = restarted(
        {"waiting": [{"pool": "p", "course": "short", "attempts_used": 1, "people": waiting}]},
        4000,
    )
    level3_again, costs_again = projection(again, {})
    # the 2022 passes (December) are in the level table of the start, not certified again
    assert level3_again[2023] == pytest.approx(level3[2023] - level3[2022] * (1 - ATTRITION))
    assert costs_again[2023] == pytest.approx(costs[2023], rel=1e-9)


def test_the_events_of_a_carried_cohort_are_those_of_its_intake() -> None:
    full = compile_dynamics(uninterrupted())
    again = compile_dynamics(
        restarted(
            {
                "in_course": [{"pool": "p", "course": "long", "intake_year": 2022, "people": 10}],
                "waiting": [{"pool": "p", "course": "short", "attempts_used": 1, "people": 10}],
            },
            4000,
        )
    )
    shift = 24  # months from 1 January 2021 to 1 January 2023
    for i, course in enumerate(("long", "short")):
        c = full.course_ids.index(course)
        whole = [
            (e.month - shift, e.order, e.attempt)
            for e in cohort_events(full, c, 1)
            if e.month > shift
        ]
        carried = [(e.month, e.order, e.attempt) for e in carried_events(again, i)]
        assert carried == whole


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_both_engines_certify_a_carried_cohort_when_the_uninterrupted_run_does(
    engine: str,
) -> None:
    # everything certain: everyone completes, passes the first sitting and stays
    certain = {
        "courses__long__completion_rate": 1.0,
        "courses__long__exam_pass_probability": 1.0,
        "groups__g__pools__p__attrition_rate_per_year": 0.0,
    }
    full = uninterrupted(**certain)
    schedule = pd.DataFrame(
        [(2022, "p", "long", COHORT)], columns=["year", "pool", "course", "enrolments"]
    )
    whole = simulate(full, schedule, reps=4, seed=1, engine=engine).yearly
    start = {"in_course": [{"pool": "p", "course": "long", "intake_year": 2022, "people": COHORT}]}
    again = restarted(start, 4000, **certain)
    none = pd.DataFrame(columns=["year", "pool", "course", "enrolments"])
    part = simulate(again, none, reps=4, seed=1, engine=engine).yearly
    for year in (2023, 2024):
        a = whole.loc[whole["year"] == year, ["passed", "level_3", "level_0"]].to_numpy()
        b = part.loc[part["year"] == year, ["passed", "level_3", "level_0"]].to_numpy()
        assert (a == b).all(), (year, a, b)
    assert whole.loc[whole["year"] == 2023, "passed"].item() == COHORT


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_the_engines_mean_matches_the_optimiser_for_carried_cohorts(engine: str) -> None:
    full = uninterrupted()
    in_course, _ = survivors_on_1_january(full, "long")
    waiting, _ = survivors_on_1_january(full, "short")
    start = {
        "in_course": [
            {"pool": "p", "course": "long", "intake_year": 2022, "people": round(in_course)}
        ],
        "waiting": [{"pool": "p", "course": "short", "attempts_used": 1, "people": waiting}],
        "queued": [{"pool": "p", "course": "short", "people": 150}],
    }
    again = restarted(start, 4000)
    level3, costs = projection(again, {(2023, "short"): 150})
    reps = 400
    schedule = pd.DataFrame(
        [(2023, "p", "short", 150)], columns=["year", "pool", "course", "enrolments"]
    )
    result = simulate(again, schedule, reps=reps, seed=7, engine=engine, keep_replications=True)
    assert result.replications is not None
    by_rep = result.replications
    for year in (2023, 2024):
        got = by_rep.loc[by_rep["year"] == year, "level_3"].to_numpy(dtype=float)
        se = got.std(ddof=1) / math.sqrt(reps)
        assert abs(got.mean() - level3[year]) <= 4 * se + 1e-9, (year, got.mean(), level3[year])
    # and the money: the carried cohorts' sittings and the first intake's tuition and fees
    spent = by_rep.groupby(["replication", "year"])["cost_vnd"].sum().unstack()
    for year in (2023, 2024):
        got = spent[year].to_numpy(dtype=float)
        se = got.std(ddof=1) / math.sqrt(reps)
        assert abs(got.mean() - costs[year]) <= 4 * se + 1e-6, (year, got.mean(), costs[year])
    # the queued people take their seats in the first intake and are not enrolled twice
    enrolled = by_rep.loc[by_rep["year"] == 2023, "enrolled"].to_numpy(dtype=float)
    assert enrolled.mean() == pytest.approx(150, abs=1)


def test_the_optimiser_enrols_the_queued_first_and_counts_the_carried_sittings() -> None:
    start = {
        "waiting": [{"pool": "p", "course": "short", "attempts_used": 1, "people": 300}],
        "queued": [{"pool": "p", "course": "long", "people": 120}],
    }
    again = restarted(start, 4000, targets__t__share=0.0)
    plan = optimize(again)
    first = plan.schedule[(plan.schedule["year"] == 2023) & (plan.schedule["course"] == "long")]
    assert first["enrolments"].sum() >= 120
    d = compile_dynamics(again)
    fees = sum(d.carried_costs().values())
    # they have completed: each survivor to the March session sits it once
    assert fees == pytest.approx(300 * 1_800_000 * (1 - ATTRITION) ** (3 / 12))
    quick = minimum_cost(d)
    assert quick.cost_vnd == pytest.approx(plan.total_cost_vnd, rel=1e-6)


@pytest.mark.parametrize(
    ("start", "path", "rule"),
    [
        (
            {"in_course": [{"pool": "q", "course": "long", "intake_year": 2022, "people": 1}]},
            "start.in_course.0.pool",
            "names a pool the scenario does not define",
        ),
        (
            {"in_course": [{"pool": "p", "course": "long", "intake_year": 2023, "people": 1}]},
            "start.in_course.0.intake_year",
            "must be before the horizon starts (2023)",
        ),
        (
            {"in_course": [{"pool": "p", "course": "short", "intake_year": 2022, "people": 1}]},
            "start.in_course.0.intake_year",
            "that intake's course ended at the end of 10/2022, before the start",
        ),
        (
            {"waiting": [{"pool": "p", "course": "short", "attempts_used": 2, "people": 1}]},
            "start.waiting.0.attempts_used",
            "must be below exams.max_attempts (2)",
        ),
        (
            {"waiting": [{"pool": "p", "course": "short", "attempts_used": 1, "people": 5000}]},
            "start",
            "puts 5000 people of pool 'p' in training from level 0, but the pool has 4000",
        ),
    ],
)
def test_a_start_state_that_contradicts_the_scenario_is_one_line(
    start: dict[str, Any], path: str, rule: str
) -> None:
    with pytest.raises(ScenarioError) as err:
        restarted(start, 4000)
    message = str(err.value)
    assert path in message and rule in message
    assert "\n" not in message
