"""The optimiser: the golden Long An figures, hand-solvable instances, metamorphic properties,
explained failures, shadow prices, both solvers and whole classes."""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from simopt.dynamics import N_LEVELS, compile_dynamics
from simopt.format import vnd
from simopt.optimize import Plan, SolverError, Status
from simopt.optimize import optimize as optimize_whole
from simopt.optimize.lp import build_lp
from simopt.optimize.solve import run, value
from simopt.reporting.optimize import expectation_note, plan_summary, plan_table
from simopt.scenario import Scenario, build_scenario, load_scenario
from simopt.simulate import simulate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
LONG_AN = SCENARIOS / "long_an.yaml"
AS_WRITTEN = SCENARIOS / "long_an_as_written.yaml"

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
            "completion_rate": 1.0,
            "exam_pass_probability": 1.0,
        }
    },
    "exams": {"session_months": [12], "max_attempts": 1},
    "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2022}},
}
"""100 people at level 0; a January–November course with a December exam certifies level 3 in
its intake year; the target is 30% at level ≥ 3 by the end of 2022 (the second year)."""

COUNT_30 = {"groups": ["g"], "min_level": 3, "min_count": 30, "year": 2022}


def optimize(*args: Any, **kwargs: Any) -> Plan:
    """The continuous LP unless asked otherwise: the hand-solved figures and the prices below
    are of the relaxation (fractions of people); whole people are tested where they matter, here
    and in test_optimize_whole.py."""
    kwargs.setdefault("continuous", True)
    return optimize_whole(*args, **kwargs)


def tiny_data(**changes: Any) -> dict[str, Any]:
    """The 1-pool, 1-course scenario above as data; ``a__b=v`` sets ``data[a][b] = v``."""
    data = copy.deepcopy(_BASE)
    for key, val in changes.items():
        *parents, last = key.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[last] = copy.deepcopy(val)
    return data


def tiny(**changes: Any) -> Scenario:
    return build_scenario(tiny_data(**changes))


def with_two_groups(data: dict[str, Any]) -> dict[str, Any]:
    """Add a group ``b`` (pool ``q``, 100 people at level 0) paid wholly by trainees, next to
    ``g`` paid wholly by the state."""
    data["groups"]["g"]["funding"] = {"state": 1.0}
    data["groups"]["b"] = {
        "pools": {"q": {"headcount": 100, "level_shares": {0: 1.0}}},
        "funding": {"own": 1.0},
    }
    data["funding_sources"] = {"state": {"public": True}, "own": {"public": False}}
    return data


def enrolments(plan: Plan) -> float:
    return float(plan.schedule["enrolments"].sum())


def by_year(plan: Plan) -> dict[int, float]:
    frame = plan.people_by_year()
    years = frame["year"].astype(int).tolist()
    return dict(zip(years, frame["enrolments"].astype(float).tolist(), strict=True))


def at_target_year(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["year"] == frame["target_year"]]


def best_at_target_year(plan: Plan) -> pd.DataFrame:
    assert plan.best_attainment is not None
    return at_target_year(plan.best_attainment)


def prices(plan: Plan, kind: str) -> dict[int, float]:
    sp = plan.shadow_prices
    rows = sp[sp["kind"] == kind]
    years = rows["year"].astype(int).tolist()
    return dict(zip(years, rows["value_vnd"].astype(float).tolist(), strict=True))


@pytest.fixture(scope="module")
def long_an() -> Scenario:
    return load_scenario(LONG_AN)


@pytest.fixture(scope="module")
def as_written() -> Scenario:
    return load_scenario(AS_WRITTEN)


@pytest.fixture(scope="module")
def long_an_plan(long_an: Scenario) -> Plan:
    return optimize(long_an)


# --------------------------------------------------------------------------- golden


def test_golden_long_an_as_written_gives_back_the_plans_own_figures(as_written: Scenario) -> None:
    plan = optimize(as_written)
    assert plan.status is Status.OPTIMAL
    assert plan.total_cost_vnd == pytest.approx(175_760_000_000, rel=REL)
    h = as_written.horizon
    phases = plan.totals_by_phase(h.start_year, h.milestones)
    assert list(phases["phase"]) == ["2021–2025", "2026–2030"]
    assert phases["enrolments"].tolist() == pytest.approx([5_518, 5_467], rel=REL)
    assert phases["cost_vnd"].tolist() == pytest.approx([88_288_000_000, 87_472_000_000], rel=REL)
    assert enrolments(plan) == pytest.approx(10_985, rel=REL)
    assert float(plan.schedule["cost_vnd"].sum()) == pytest.approx(175_760_000_000, rel=REL)


def test_golden_lines_by_group_match_the_plans_budget_lines(as_written: Scenario) -> None:
    sched = optimize(as_written).schedule
    civil = {"provincial_district_civil_servants", "commune_civil_servants"}

    def people(first: int, last: int, groups: set[str]) -> float:
        rows = sched[sched["year"].between(first, last) & sched["group"].isin(groups)]
        return float(rows["enrolments"].sum())

    assert people(2021, 2025, civil) == pytest.approx(174, rel=REL)
    assert people(2021, 2025, {"public_employees"}) == pytest.approx(5_344, rel=REL)
    assert people(2026, 2030, civil) == pytest.approx(78, rel=REL)
    assert people(2026, 2030, {"public_employees"}) == pytest.approx(5_389, rel=REL)


# --------------------------------------------------------------------------- hand-solvable


def test_thirty_percent_of_a_hundred_with_certain_pass_is_thirty_enrolments() -> None:
    plan = optimize(tiny())
    assert plan.status is Status.OPTIMAL
    assert enrolments(plan) == pytest.approx(30, rel=REL)
    assert plan.total_cost_vnd == pytest.approx(30 * TUITION, rel=REL)
    met = at_target_year(plan.attainment)
    assert met["met"].all()
    assert float(met["attained_share"].iloc[0]) == pytest.approx(0.3, rel=REL)


def test_half_pass_and_one_attempt_needs_sixty_enrolments() -> None:
    plan = optimize(tiny(courses__c__exam_pass_probability=0.5))
    assert plan.status is Status.OPTIMAL
    assert enrolments(plan) == pytest.approx(60, rel=REL)
    assert plan.total_cost_vnd == pytest.approx(60 * TUITION, rel=REL)


def test_completion_rate_scales_enrolments_like_the_pass_rate() -> None:
    plan = optimize(tiny(courses__c__completion_rate=0.8, courses__c__exam_pass_probability=0.5))
    assert enrolments(plan) == pytest.approx(30 / 0.4, rel=REL)


def test_exam_fees_are_paid_per_sitting() -> None:
    plan = optimize(tiny(exams={"session_months": [12], "max_attempts": 1, "fee_vnd": 1_000_000}))
    assert plan.total_cost_vnd == pytest.approx(30 * (TUITION + 1_000_000), rel=REL)
    fees = plan.costs[plan.costs["item"] == "exam_fees"]
    assert float(fees["cost_vnd"].sum()) == pytest.approx(30 * 1_000_000, rel=REL)


def test_attrition_raises_the_enrolments_a_count_target_needs() -> None:
    # 12% leave a year: of those enrolled in January 2022, 88% are still employed on 31 December
    plan = optimize(tiny(targets__t=COUNT_30, groups__g__pools__p__attrition_rate_per_year=0.12))
    assert plan.status is Status.OPTIMAL
    assert by_year(plan) == {2022: pytest.approx(30 / 0.88, rel=REL)}


def test_a_seat_cap_spreads_enrolment_over_two_years() -> None:
    plan = optimize(tiny(courses__c__seats_per_year=20))
    assert plan.status is Status.OPTIMAL
    # as late as possible: the cap fills 2022, the rest goes to 2021
    assert by_year(plan) == {2021: pytest.approx(10, rel=REL), 2022: pytest.approx(20, rel=REL)}
    assert plan.total_cost_vnd == pytest.approx(30 * TUITION, rel=REL)


def test_the_cheaper_of_two_equivalent_courses_is_used() -> None:
    data = tiny_data()
    data["courses"]["cheap"] = {**data["courses"]["c"], "tuition_vnd_per_trainee": 8_000_000}
    plan = optimize(build_scenario(data))
    assert set(plan.schedule["course"]) == {"cheap"}
    assert plan.total_cost_vnd == pytest.approx(30 * 8_000_000, rel=REL)


def test_the_cheaper_course_per_certified_person_wins_not_the_cheaper_tuition() -> None:
    data = tiny_data()
    # 8 million a seat but half fail: 16 million per certified person against 10 million
    data["courses"]["cheap"] = {
        **data["courses"]["c"],
        "tuition_vnd_per_trainee": 8_000_000,
        "exam_pass_probability": 0.5,
    }
    plan = optimize(build_scenario(data))
    assert set(plan.schedule["course"]) == {"c"}
    assert plan.total_cost_vnd == pytest.approx(30 * TUITION, rel=REL)


RETAKE_WORLD: dict[str, Any] = {
    "exams": {"session_months": [6, 12], "max_attempts": 2},
    "courses__c__exam_pass_probability": 0.5,
    "targets__t": COUNT_30,
}
"""Enrolled in 2021, a trainee sits December 2021 and June 2022 (0.75 certified per enrolment);
enrolled in 2022, only December 2022 counts (0.5): early enrolment is cheaper."""


def test_without_discounting_the_cheaper_early_enrolment_is_chosen() -> None:
    plan = optimize(tiny(**RETAKE_WORLD))
    assert by_year(plan) == {2021: pytest.approx(40, rel=REL)}
    assert plan.total_cost_vnd == pytest.approx(40 * TUITION, rel=REL)


def test_a_discount_rate_pushes_enrolment_later() -> None:
    # 60 enrolments in 2022 cost 600 million, worth 375 million in 2021 at 60%: below 400
    plan = optimize(tiny(budget={"discount_rate_per_year": 0.6}, **RETAKE_WORLD))
    assert by_year(plan) == {2022: pytest.approx(60, rel=REL)}
    # total_cost_vnd stays nominal
    assert plan.total_cost_vnd == pytest.approx(60 * TUITION, rel=REL)


def test_enrolments_are_limited_by_the_people_free_at_the_entry_level() -> None:
    # 70 certified by 2022 with p = 0.5 needs 140 enrolments of only 100 people: the 2021
    # failures come back for 2022, so 2021 needs at least 80 (x2 ≤ 100 − x1/2)
    plan = optimize(
        tiny(courses__c__exam_pass_probability=0.5, targets__t={**COUNT_30, "min_count": 70})
    )
    assert plan.status is Status.OPTIMAL
    assert by_year(plan) == {2021: pytest.approx(80, rel=REL), 2022: pytest.approx(60, rel=REL)}


def test_more_people_than_exist_cannot_be_certified() -> None:
    # at most 100 + 50 enrolments, 75 certified: 80 is out of reach at any budget
    plan = optimize(
        tiny(courses__c__exam_pass_probability=0.5, targets__t={**COUNT_30, "min_count": 80})
    )
    assert plan.status is Status.INFEASIBLE
    assert plan.smallest_ceiling_vnd is None
    assert plan.total_cost_vnd is None
    best = best_at_target_year(plan)
    assert float(best["attained_people"].iloc[0]) == pytest.approx(75, rel=1e-4)


def test_enrolments_never_exceed_the_people_at_the_entry_level(long_an: Scenario) -> None:
    d = compile_dynamics(long_an)
    model = build_lp(d)
    assert run(model, "highs") is Status.OPTIMAL
    checked = 0
    for p in range(d.n_pools):
        for lvl in range(N_LEVELS):
            courses = [c for c in range(d.n_courses) if d.entry[c] == lvl and d.allowed[p, c]]
            if not courses:
                continue
            for y in range(len(d.years)):
                start = d.start_levels[p, lvl] if y == 0 else value(model.level[p, lvl, y - 1])
                enrolled = sum(value(model.enrol[p, c, y]) for c in courses)
                assert enrolled <= start + 1e-6 * max(1.0, start), (d.pool_ids[p], lvl, y)
                checked += 1
    assert checked > 0
    # and in the first year, straight from the data: level-0 trainees ≤ level-0 people
    plan = optimize(long_an)
    first = plan.schedule[plan.schedule["year"] == long_an.horizon.start_year]
    for pid, (_, pool) in long_an.pools().items():
        level0 = first[(first["pool"] == pid) & (first["course"] == "level3")]
        assert float(level0["enrolments"].sum()) <= pool.start_levels().get(0, 0.0) + 1e-6


def test_schedule_costs_and_total_agree(long_an_plan: Plan) -> None:
    total = long_an_plan.total_cost_vnd
    assert total is not None and total > 0
    assert float(long_an_plan.schedule["cost_vnd"].sum()) == pytest.approx(total, rel=REL)
    assert float(long_an_plan.costs["cost_vnd"].sum()) == pytest.approx(total, rel=REL)
    assert at_target_year(long_an_plan.attainment)["met"].all()


# --------------------------------------------------------------------------- metamorphic


def test_a_target_met_at_the_start_costs_nothing() -> None:
    plan = optimize(tiny(groups__g__pools__p__level_shares={0: 0.6, 3: 0.4}))
    assert plan.status is Status.OPTIMAL
    assert plan.schedule.empty
    assert plan.total_cost_vnd == 0.0
    assert at_target_year(plan.attainment)["met"].all()


def test_a_higher_ceiling_never_raises_the_minimum_cost(long_an: Scenario) -> None:
    smallest = optimize(long_an, ceiling_vnd=0.0).smallest_ceiling_vnd
    assert smallest is not None
    costs = []
    for ceiling in (smallest * 1.0001, 7e10, 9e10, 1.2e11, None):
        plan = optimize(long_an, ceiling_vnd=ceiling)
        assert plan.status is Status.OPTIMAL, ceiling
        assert plan.total_cost_vnd is not None
        costs.append(plan.total_cost_vnd)
    assert all(b <= a * (1 + REL) for a, b in itertools.pairwise(costs)), costs
    assert costs[-1] < costs[0]  # the ceiling does bind at first


def test_a_higher_pass_rate_never_raises_the_minimum_cost() -> None:
    costs = []
    for p in ("0.5", "0.6", "0.7", "0.8"):
        scenario = load_scenario(LONG_AN, overrides={"courses.level4.exam_pass_probability": p})
        plan = optimize(scenario)
        assert plan.status is Status.OPTIMAL and plan.total_cost_vnd is not None
        costs.append(plan.total_cost_vnd)
    assert all(b <= a * (1 + REL) for a, b in itertools.pairwise(costs)), costs
    assert costs[-1] < costs[0]


def test_a_higher_pass_rate_never_raises_the_minimum_cost_of_a_small_world() -> None:
    rates = (0.4, 0.5, 0.8, 1.0)
    costs = [optimize(tiny(courses__c__exam_pass_probability=p)).total_cost_vnd for p in rates]
    assert costs == pytest.approx([30 * TUITION / p for p in rates], rel=REL)


def test_more_attrition_never_lowers_the_cost_of_count_targets() -> None:
    # Count targets only: leavers take certificates with them. (With share targets the base
    # shrinks too, and more turnover can make a share cheaper: that is not a bug.)
    costs = []
    for rate in ("0", "0.02", "0.05"):
        scenario = load_scenario(
            AS_WRITTEN,
            overrides={"groups.public_employees.pools.pe_all.attrition_rate_per_year": rate},
        )
        plan = optimize(scenario)
        assert plan.status is Status.OPTIMAL and plan.total_cost_vnd is not None
        costs.append(plan.total_cost_vnd)
    assert costs[0] == pytest.approx(175_760_000_000, rel=REL)
    assert costs[0] < costs[1] < costs[2]


def test_more_attrition_never_lowers_the_cost_in_a_small_world() -> None:
    costs = []
    for rate in (0.0, 0.05, 0.1, 0.3):
        plan = optimize(
            tiny(targets__t=COUNT_30, groups__g__pools__p__attrition_rate_per_year=rate)
        )
        assert plan.total_cost_vnd is not None
        costs.append(plan.total_cost_vnd)
    assert costs == sorted(costs)
    assert costs[-1] == pytest.approx(30 * TUITION / 0.7, rel=REL)


# --------------------------------------------------------------------------- explained failures


def assert_explained_infeasible(plan: Plan) -> None:
    assert plan.status is Status.INFEASIBLE
    assert not plan.is_ok
    assert plan.message
    assert plan.total_cost_vnd is None  # the cost of a plan meeting the targets: there is none
    # the best effort: the schedule that comes closest, marked as such, and what it reaches
    assert plan.best_effort and plan.schedule_kind == "best_effort"
    assert plan.best_effort_cost_vnd is not None
    assert plan.best_effort_cost_vnd == pytest.approx(float(plan.costs["cost_vnd"].sum()), rel=REL)
    assert plan.best_attainment is not None and not plan.best_attainment.empty
    assert plan.attainment.equals(plan.best_attainment)
    assert plan.unmet_targets


def test_zero_ceiling_is_infeasible_with_the_smallest_ceiling_named() -> None:
    plan = optimize(tiny(budget={"ceiling_vnd_per_year": 0}))
    assert_explained_infeasible(plan)
    assert "ceiling" in plan.message
    # 30 people over two years, 15 a year at 10 million
    assert plan.smallest_ceiling_vnd == pytest.approx(15 * TUITION, rel=REL)
    assert plan.unmet_targets == ["t"]
    best = best_at_target_year(plan)
    assert float(best["shortfall_people"].iloc[0]) == pytest.approx(30, rel=REL)


def test_zero_ceiling_on_long_an_is_infeasible_and_explained(long_an: Scenario) -> None:
    plan = optimize(long_an, ceiling_vnd=0.0)
    assert_explained_infeasible(plan)
    assert plan.smallest_ceiling_vnd is not None and plan.smallest_ceiling_vnd > 0
    assert vnd(plan.smallest_ceiling_vnd) in plan.message
    assert plan.ceiling_vnd == 0.0


def test_the_smallest_ceiling_is_just_enough(long_an: Scenario) -> None:
    smallest = optimize(long_an, ceiling_vnd=0.0).smallest_ceiling_vnd
    assert smallest is not None
    assert optimize(long_an, ceiling_vnd=smallest * 1.0001).status is Status.OPTIMAL
    assert optimize(long_an, ceiling_vnd=smallest * 0.99).status is Status.INFEASIBLE


@pytest.mark.parametrize("field", ["exam_pass_probability", "completion_rate"])
def test_a_course_that_certifies_nobody_is_named_as_the_cause(field: str) -> None:
    plan = optimize(tiny(**{f"courses__c__{field}": 0.0}))
    assert_explained_infeasible(plan)
    assert plan.smallest_ceiling_vnd is None
    assert plan.cause == "course"
    assert plan.message.startswith(f"courses.c.{field} is 0: nobody can be trained to level 3")
    assert "no budget or seats can meet t" in plan.message


def test_a_dead_first_step_is_named_for_a_target_two_steps_up(long_an: Scenario) -> None:
    dead = load_scenario(LONG_AN, {"courses.level3.exam_pass_probability": "0"})
    plan = optimize(dead)
    assert plan.cause == "course"
    assert "courses.level3.exam_pass_probability is 0" in plan.message
    assert "pe_2030" in plan.message  # a level-4 target: its people must pass level 3 first


def test_a_seat_cap_of_zero_is_named_as_the_cause() -> None:
    plan = optimize(tiny(courses__c__seats_per_year=0))
    assert_explained_infeasible(plan)
    assert plan.smallest_ceiling_vnd is None
    assert plan.cause == "seats"
    assert plan.message.startswith("the course seats bind: c (0 a year;")
    assert "more seats in c would meet every target" in plan.message


def test_only_the_courses_whose_seats_stand_in_the_way_are_named(long_an: Scenario) -> None:
    plan = optimize(load_scenario(LONG_AN, {"courses.level4.seats_per_year": "2000"}))
    assert plan.cause == "seats"
    assert "level4 (2.000 a year; the cheapest plan without that limit takes" in plan.message
    assert "level3 (" not in plan.message


def test_seats_come_before_the_ceiling_and_the_ceiling_before_people() -> None:
    # 20 seats a year would do; a ceiling of 10 places a year would not, seats or no seats
    plan = optimize(
        tiny(courses__c__seats_per_year=20, budget={"ceiling_vnd_per_year": 10 * TUITION})
    )
    assert plan.cause == "ceiling"
    assert plan.message.startswith("the budget ceiling is too low: t cannot be met")
    assert vnd(15 * TUITION) in plan.message
    plan = optimize(
        tiny(courses__c__seats_per_year=10, budget={"ceiling_vnd_per_year": 20 * TUITION})
    )
    assert plan.cause == "seats"
    # neither more seats alone nor more money alone would do
    plan = optimize(tiny(courses__c__seats_per_year=10, budget={"ceiling_vnd_per_year": 0}))
    assert plan.cause == "seats_and_ceiling"
    assert plan.message.startswith("the course seats (c) and the budget ceiling bind together")


def test_more_people_than_there_are_is_blamed_on_the_people() -> None:
    target = dict(COUNT_30, min_count=150)
    plan = optimize(tiny(targets__t=target, budget={"ceiling_vnd_per_year": 1e9}))
    assert_explained_infeasible(plan)
    assert plan.cause == "people"
    assert plan.message == (
        "the people available in time limit the targets, whatever the seats or budget: at best "
        "t is 50 people short"
    )


def test_margins_that_do_not_fit_are_said_to_be_margins() -> None:
    plan = optimize(tiny(courses__c__seats_per_year=20), buffers={"t": 15.0})
    assert plan.cause == "seats"
    assert plan.message.endswith("would meet every target with its margin")


def test_a_model_the_solver_cannot_solve_says_so_and_why(long_an: Scenario) -> None:
    huge = load_scenario(LONG_AN, {"courses.level3.tuition_vnd_per_trainee": "1e18"})
    plan = optimize(huge)
    assert plan.status is Status.NOT_SOLVED
    assert plan.message.startswith("the solver could not solve the model (HiGHS status: ")
    assert (
        "it is badly scaled: tuition of 1e18 đ per trainee for course level3 is 10^11 times the "
        "next largest, tuition of 16.000.000 đ per trainee for course level4"
    ) in plan.message
    assert "infeasible" not in plan.message


def test_scaling_is_judged_by_the_spread_of_the_amounts(long_an: Scenario) -> None:
    from simopt.optimize.diagnose import scaling_problem

    assert scaling_problem(compile_dynamics(long_an)) is None
    tiny_fee = compile_dynamics(load_scenario(LONG_AN, {"exams.fee_vnd": "0.001"}))
    assert scaling_problem(tiny_fee) == (
        "it is badly scaled: tuition of 16.000.000 đ per trainee for course level4 is 10^10 "
        "times exam fee of 0 đ per sitting"
    )


def test_dynamics_compiled_from_another_scenario_are_refused(long_an: Scenario) -> None:
    other = load_scenario(LONG_AN, {"courses.level4.tuition_vnd_per_trainee": "1"})
    with pytest.raises(ValueError, match="another version of scenario 'long_an'"):
        optimize(other, dynamics=compile_dynamics(long_an))
    with pytest.raises(ValueError, match="compiled from scenario 'tiny', not 'long_an'"):
        optimize(long_an, dynamics=compile_dynamics(tiny()))


def test_dynamics_alone_or_from_an_equal_scenario_are_accepted(
    long_an: Scenario, long_an_plan: Plan
) -> None:
    again = compile_dynamics(load_scenario(LONG_AN))
    assert optimize(None, dynamics=again).total_cost_vnd == long_an_plan.total_cost_vnd
    assert optimize(long_an, dynamics=again).total_cost_vnd == long_an_plan.total_cost_vnd


def test_an_empty_pool_meets_a_share_target_at_no_cost() -> None:
    # 0 people at level ≥ 3 out of 0 is ≥ 30% of 0: the target is met; the share is undefined
    plan = optimize(tiny(groups__g__pools__p__headcount=0))
    assert plan.status is Status.OPTIMAL
    assert plan.total_cost_vnd == 0.0
    assert plan.schedule.empty
    row = at_target_year(plan.attainment).iloc[0]
    assert bool(row["met"])
    assert row["base_people"] == 0.0
    assert math.isnan(row["attained_share"])


def test_an_empty_pool_cannot_meet_a_minimum_count() -> None:
    plan = optimize(tiny(groups__g__pools__p__headcount=0, targets__t=COUNT_30))
    assert_explained_infeasible(plan)
    assert plan.smallest_ceiling_vnd is None


def test_an_unknown_solver_is_refused() -> None:
    with pytest.raises(SolverError, match="unknown solver"):
        optimize(tiny(), solver="glpk")


def test_the_smallest_ceiling_respects_source_ceilings() -> None:
    # The state pays everything and may spend at most 100 million a year: 200 million over two
    # years cannot buy 30 places at 10 million, whatever the overall public ceiling.
    data = tiny_data(groups__g__funding={"state": 1.0})
    data["funding_sources"] = {"state": {"public": True}}
    data["budget"] = {"source_ceilings_vnd_per_year": {"state": 100_000_000}}
    scenario = build_scenario(data)
    plan = optimize(scenario)
    assert_explained_infeasible(plan)
    smallest = plan.smallest_ceiling_vnd
    if smallest is not None:
        again = optimize(scenario, ceiling_vnd=smallest * 1.0001)
        assert again.status is Status.OPTIMAL, (
            f"smallest_ceiling_vnd={smallest:,.0f} is reported as enough, but: {again.message}"
        )


# --------------------------------------------------------------------------- shadow prices


def test_count_target_price_is_the_cost_of_one_more_certified_person() -> None:
    plan = optimize(tiny(courses__c__exam_pass_probability=0.5, targets__t=COUNT_30))
    assert prices(plan, "target_count") == {2022: pytest.approx(TUITION / 0.5, rel=REL)}


def test_share_target_price_is_the_cost_of_one_more_percentage_point() -> None:
    plan = optimize(tiny(courses__c__exam_pass_probability=0.5, groups__g__pools__p__headcount=200))
    # one point of 200 people is 2 people at 20 million each
    assert prices(plan, "target_share") == {2022: pytest.approx(2 * TUITION / 0.5, rel=REL)}


def test_a_binding_ceiling_saves_half_a_vnd_per_vnd() -> None:
    # With 300 million a year: 30 enrolled in 2021 (22.5 certified), 15 in 2022. One more VND
    # in 2021 buys 0.75/T certified and saves 1.5 VND in 2022: 0.5 VND saved per VND.
    plan = optimize(tiny(**RETAKE_WORLD), ceiling_vnd=300_000_000)
    assert plan.status is Status.OPTIMAL
    assert by_year(plan) == {2021: pytest.approx(30, rel=REL), 2022: pytest.approx(15, rel=REL)}
    ceiling = prices(plan, "ceiling")
    assert ceiling[2021] == pytest.approx(0.5, abs=1e-6)
    assert ceiling[2022] == pytest.approx(0.0, abs=1e-6)


def test_shadow_prices_have_the_sign_of_their_meaning(long_an: Scenario) -> None:
    plan = optimize(long_an, ceiling_vnd=7e10)
    assert plan.status is Status.OPTIMAL
    sp = plan.shadow_prices
    assert (sp["value_vnd"] >= -1e-6).all(), sp[sp["value_vnd"] < -1e-6]
    assert (sp.loc[sp["kind"] == "ceiling", "value_vnd"] > 1e-6).any()
    assert (sp.loc[sp["kind"] == "target_share", "value_vnd"] > 1.0).any()


def test_a_count_met_anyway_by_a_later_count_costs_nothing() -> None:
    # 20 by 2021 and 30 by 2022: the 20 are part of the 30, so one more by 2021 only moves 10
    # million VND a year earlier. The lateness tie-break values that at 1 "VND"; the cost does
    # not change, and the price is the cost's.
    data = tiny_data(targets__t=COUNT_30)
    data["targets"]["early"] = {**COUNT_30, "min_count": 20, "year": 2021}
    plan = optimize(build_scenario(data))
    assert plan.status is Status.OPTIMAL
    assert plan.total_cost_vnd == pytest.approx(30 * TUITION, rel=REL)
    assert prices(plan, "target_count") == {
        2021: pytest.approx(0.0, abs=1e-6),
        2022: pytest.approx(TUITION, rel=REL),
    }


def test_prices_are_of_the_cost_but_the_schedule_keeps_the_tie_break() -> None:
    # a 20-seat cap: 10 in 2021 and 20 in 2022 (as late as possible). A 2022 seat more would
    # only move a trainee from 2021 to 2022: worth 0 VND, not the tie-break's 1
    plan = optimize(tiny(courses__c__seats_per_year=20))
    assert by_year(plan) == {2021: pytest.approx(10, rel=REL), 2022: pytest.approx(20, rel=REL)}
    assert prices(plan, "capacity") == {2022: pytest.approx(0.0, abs=1e-6)}


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_as_written_2025_counts_cost_nothing_at_the_margin(
    as_written: Scenario, solver: str
) -> None:
    # Every person counted in 2025 is needed in 2030 anyway: 100 more by 2025 cost 0 đ.
    plan = optimize(as_written, solver=solver)
    sp = plan.shadow_prices
    counts = sp[sp["kind"] == "target_count"].set_index("name")["value_vnd"]
    for tid in ("pd_2025", "pe_2025", "commune_2025"):
        assert counts[tid] == pytest.approx(0.0, abs=1e-6), tid
    for tid in ("pd_2030", "pe_2030", "commune_2030"):
        assert counts[tid] == pytest.approx(16_000_000, rel=REL), tid
    more = optimize(load_scenario(AS_WRITTEN, overrides={"targets.pe_2025.min_count": "5444"}))
    assert more.total_cost_vnd == pytest.approx(plan.total_cost_vnd, abs=1.0)


FD_PEOPLE = 10
"""Finite-difference step of a minimum count, people."""
FD_POINTS = 0.1
"""Finite-difference step of a share, percentage points."""


def total_cost(path: Path, overrides: dict[str, str]) -> float:
    plan = optimize(load_scenario(path, overrides=overrides))
    assert plan.status is Status.OPTIMAL, (overrides, plan.message)
    assert plan.total_cost_vnd is not None
    return plan.total_cost_vnd


@pytest.mark.parametrize("path", [LONG_AN, AS_WRITTEN], ids=lambda p: p.name)
def test_target_prices_are_the_finite_difference_slopes_of_the_cost(path: Path) -> None:
    """Each binding target's price times a small step is what the step costs; a slack target's
    price is 0. The cost is convex in a count; where the LP is degenerate the two one-sided
    slopes differ and any valid dual lies between them."""
    scenario = load_scenario(path)
    assert scenario.budget.discount_rate_per_year == 0.0  # prices are then in nominal VND
    plan = optimize(scenario)
    assert plan.status is Status.OPTIMAL and plan.total_cost_vnd is not None
    cost = plan.total_cost_vnd
    # a few VND of solver noise on hundreds of billions; far below the 8 VND a person x 10 that
    # the tie-break used to add to the 2025 counts of the as-written plan
    noise = 1e-10 * cost
    att = at_target_year(plan.attainment).set_index("target")
    sp = plan.shadow_prices
    checked = []
    for r in _records(sp[sp["kind"].isin(["target_count", "target_share"])]):
        tid, price = r["name"], r["value_vnd"]
        t = scenario.targets[tid]
        attained = float(att.loc[tid, "attained_people"])
        base = float(att.loc[tid, "base_people"])
        level: float
        step: float
        required: float
        if r["kind"] == "target_count":
            assert t.min_count is not None
            field, level, step, required = "min_count", t.min_count, FD_PEOPLE, t.min_count
            per_person = 1.0
            predicted = price * FD_PEOPLE
        else:
            assert t.share is not None
            field, level, step, required = "share", t.share, FD_POINTS / 100, t.share * base
            per_person = base / 100  # people in a percentage point
            predicted = price * FD_POINTS
        if attained - required > 1e-6 * max(1.0, required):
            assert abs(price) <= 1e-6 * per_person, (tid, r["kind"], price)
            continue
        key = f"targets.{tid}.{field}"
        up = total_cost(path, {key: repr(level + step)}) - cost
        down = cost - total_cost(path, {key: repr(level - step)})
        tol = 1e-4 * abs(predicted) + noise
        assert down - tol <= predicted <= up + tol, (tid, r["kind"], predicted, down, up)
        if abs(up - down) <= 1e-4 * abs(up) + noise:
            assert predicted == pytest.approx(up, rel=1e-4, abs=noise), (tid, r["kind"])
        checked.append(tid)
    assert checked  # some target binds in both scenarios


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


# --------------------------------------------------------------------------- HiGHS and CBC


@pytest.mark.parametrize("path", [LONG_AN, AS_WRITTEN], ids=lambda p: p.name)
def test_highs_and_cbc_agree(path: Path) -> None:
    scenario = load_scenario(path)
    highs = optimize(scenario, solver="highs")
    cbc = optimize(scenario, solver="cbc")
    assert highs.status is cbc.status is Status.OPTIMAL
    assert cbc.solver == "cbc"
    assert highs.total_cost_vnd is not None and cbc.total_cost_vnd is not None
    assert cbc.total_cost_vnd == pytest.approx(highs.total_cost_vnd, rel=REL)
    h, c = by_year(highs), by_year(cbc)
    assert set(h) == set(c)
    for year in h:
        assert c[year] == pytest.approx(h[year], abs=1e-3), year


def test_highs_and_cbc_agree_on_an_infeasible_ceiling(long_an: Scenario) -> None:
    highs = optimize(long_an, ceiling_vnd=1e9, solver="highs")
    cbc = optimize(long_an, ceiling_vnd=1e9, solver="cbc")
    assert highs.status is cbc.status is Status.INFEASIBLE
    assert highs.smallest_ceiling_vnd is not None and cbc.smallest_ceiling_vnd is not None
    assert cbc.smallest_ceiling_vnd == pytest.approx(highs.smallest_ceiling_vnd, rel=REL)


def need(scenario: Scenario, target_id: str) -> float:
    """What a target needs, in people at the start: the shortfall's weight is 1 / need."""
    t = scenario.targets[target_id]
    return max((t.share or 0.0) * scenario.eligible_base(t), float(t.min_count or 0), 1.0)


def weighted_shortfall(best: pd.DataFrame, scenario: Scenario) -> float:
    """The objective of best_attainment: each target's shortfall over what it needs."""
    short = at_target_year(best).set_index("target")["shortfall_people"]
    total = 0.0
    for tid in scenario.targets:
        total += float(short[tid]) / need(scenario, tid)
    return total


def least_shortfall(scenario: Scenario, ceiling_vnd: float) -> float:
    """The least weighted shortfall, solved with the objective scaled up (×1e4) so that the
    solver's optimality tolerances cannot stop it early: the reference value."""
    model = build_lp(compile_dynamics(scenario), ceiling_vnd=ceiling_vnd, mode="min_shortfall")
    assert model.shortfall_objective is not None
    model.prob.setObjective(model.shortfall_objective * 1e4)
    assert run(model, "highs") is Status.OPTIMAL
    return sum(value(slack) / need(scenario, tid) for tid, slack in model.shortfall.items())


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("factor", [0.5, 0.99])
def test_best_attainment_is_the_least_shortfall(
    long_an: Scenario, solver: str, factor: float
) -> None:
    smallest = optimize(long_an, ceiling_vnd=0.0).smallest_ceiling_vnd
    assert smallest is not None
    ceiling = factor * smallest
    plan = optimize(long_an, ceiling_vnd=ceiling, solver=solver)
    assert plan.best_attainment is not None
    assert weighted_shortfall(plan.best_attainment, long_an) == pytest.approx(
        least_shortfall(long_an, ceiling), rel=1e-5
    )


# --------------------------------------------------------------------------- whole classes

CLASSES: dict[str, Any] = {
    "courses__c__class_size": 30,
    "courses__c__cost_vnd_per_class": 60_000_000,
    "targets__t": {**COUNT_30, "min_count": 40},
}


def classes_paid(plan: Plan, per_class: float) -> pd.Series:
    rows = plan.costs[plan.costs["item"] == "classes"]
    return rows.groupby(["year", "course"])["cost_vnd"].sum() / per_class


def test_whole_classes_are_paid_whole() -> None:
    plan = optimize(tiny(**CLASSES), continuous=False)
    assert plan.status is Status.OPTIMAL
    # 40 trainees in one year need two classes of 30: 400 + 120 million; the LP pays 2/3 less
    assert plan.total_cost_vnd == pytest.approx(40 * TUITION + 2 * 60_000_000, rel=REL)
    assert plan.lp_cost_vnd == pytest.approx(40 * TUITION + 40 * 2_000_000, rel=REL)
    paid = classes_paid(plan, 60_000_000)
    assert paid.tolist() == pytest.approx([2.0])


def test_whole_classes_on_long_an() -> None:
    scenario = load_scenario(
        LONG_AN,
        overrides={
            "courses.level3.cost_vnd_per_class": "30000000",
            "courses.level4.cost_vnd_per_class": "30000000",
        },
    )
    plan = optimize(scenario, continuous=False)
    assert plan.status is Status.OPTIMAL
    assert plan.total_cost_vnd is not None and plan.lp_cost_vnd is not None
    assert plan.total_cost_vnd >= plan.lp_cost_vnd * (1 - REL)  # the rounding premium ≥ 0
    paid = classes_paid(plan, 30_000_000)
    enrolled = plan.schedule.groupby(["year", "course"])["enrolments"].sum()
    assert not paid.empty
    for key, n in paid.items():
        assert n == pytest.approx(round(n), abs=1e-6), key
        assert enrolled.get(key, 0.0) <= 30 * round(n) + 1e-6, key
    for key, people in enrolled.items():
        assert people <= 30 * round(float(paid.get(key, 0.0))) + 1e-6, key


def test_class_costs_are_paid_by_the_groups_in_the_class() -> None:
    # Only group b (paid wholly by its trainees) may take the course. Its class costs are no
    # public money: a public ceiling of 0 must not stop it, with or without whole classes.
    data = with_two_groups(tiny_data(**CLASSES))
    data["courses"]["c"]["groups"] = ["b"]
    data["targets"]["t"]["groups"] = ["b"]
    data["budget"] = {"ceiling_vnd_per_year": 0}
    scenario = build_scenario(data)
    assert optimize(scenario).status is Status.OPTIMAL
    plan = optimize(scenario, continuous=False)
    assert plan.status is Status.OPTIMAL, plan.message
    classes = plan.costs[plan.costs["item"] == "classes"]
    assert set(classes["funding_source"]) == {"own"}


def test_schedule_costs_add_up_to_the_total_with_whole_classes() -> None:
    # plan.py: schedule cost_vnd "counts tuition, class costs and every exam fee"
    plan = optimize(tiny(**CLASSES), continuous=False)
    assert plan.total_cost_vnd is not None
    assert float(plan.costs["cost_vnd"].sum()) == pytest.approx(plan.total_cost_vnd, rel=REL)
    assert float(plan.schedule["cost_vnd"].sum()) == pytest.approx(plan.total_cost_vnd, rel=REL)


def test_an_infeasible_whole_class_plan_names_a_ceiling_that_is_enough() -> None:
    # With 250 million a year the LP fits 20 + 20 trainees (12 million each with 1/30 of a
    # class), but whole classes cost 10x + 60 million: 19 a year at most, 38 < 40.
    scenario = tiny(**CLASSES)
    assert optimize(scenario, ceiling_vnd=250_000_000).status is Status.OPTIMAL
    plan = optimize(scenario, ceiling_vnd=250_000_000, continuous=False)
    assert plan.status is Status.INFEASIBLE
    assert plan.unmet_targets == ["t"], plan.message
    smallest = plan.smallest_ceiling_vnd
    assert smallest is not None
    again = optimize(scenario, ceiling_vnd=smallest * 1.0001, continuous=False)
    assert again.status is Status.OPTIMAL, f"{smallest:,.0f} VND is not enough: {again.message}"
    # the true smallest: 20 trainees and one class a year, 260 million
    assert smallest == pytest.approx(260_000_000, rel=REL)


# --------------------------------------------------------------------------- expectation at limits

AT_AVAILABILITY: dict[str, Any] = {
    "courses__c__exam_pass_probability": 0.5,
    "targets__t": {**COUNT_30, "min_count": 70},
}
"""80 enrolled in 2021, then in 2022 all 60 expected still at level 0 (see
test_enrolments_are_limited_by_the_people_free_at_the_entry_level)."""


def test_a_plan_at_no_limit_says_so() -> None:
    plan = optimize(tiny())
    summary = plan_summary(plan, tiny())
    assert summary["binding_limits"] == {"availability": 0, "capacity": 0}
    assert summary["expectation_note"] == expectation_note(plan)
    assert "neither everyone available nor every seat" in summary["expectation_note"]
    assert "`simopt plan`" in summary["expectation_note"]


def test_enrolling_everyone_free_is_counted_and_said() -> None:
    scenario = tiny(**AT_AVAILABILITY)
    plan = optimize(scenario)
    summary = plan_summary(plan, scenario)
    assert summary["binding_limits"] == {"availability": 1, "capacity": 0}
    sp = plan.shadow_prices
    assert sp.loc[sp["kind"] == "available", ["name", "year"]].values.tolist() == [["p L0", 2022]]
    note = summary["expectation_note"]
    assert "everyone free at a level in 1 pool-year:" in note
    assert "simulated mean falls a little below" in note
    assert "seat" not in note
    # the table says it under the attainment
    table = plan_table(plan, scenario).splitlines()
    at = next(i for i, line in enumerate(table) if line.startswith("Expected attainment"))
    assert " ".join(line.strip() for line in table[at + 2 :]).startswith(note)


def test_filling_every_seat_is_counted_and_said() -> None:
    scenario = tiny(courses__c__seats_per_year=20)
    summary = plan_summary(optimize(scenario), scenario)
    assert summary["binding_limits"] == {"availability": 0, "capacity": 1}
    assert "every seat in 1 course-year:" in summary["expectation_note"]
    assert "everyone free" not in summary["expectation_note"]


def test_the_note_counts_many_limits_in_the_plural(long_an: Scenario, long_an_plan: Plan) -> None:
    summary = plan_summary(long_an_plan, long_an)
    counts = summary["binding_limits"]
    assert counts["availability"] > 1 and counts["capacity"] > 1
    note = summary["expectation_note"]
    assert f"everyone free at a level in {counts['availability']} pool-years and " in note
    assert f"every seat in {counts['capacity']} course-years:" in note


def test_binding_limits_are_the_rows_the_solver_leaves_no_slack_in(
    long_an: Scenario, long_an_plan: Plan
) -> None:
    # Independently of solve.py: the solver's own row slacks of the same LP, with someone enrolled.
    model = build_lp(compile_dynamics(long_an))
    assert run(model, "highs") is Status.OPTIMAL
    d = model.dynamics
    expected = set()
    for (p, lvl, y), row in model.availability_rows.items():
        intake = sum(
            value(v)
            for (pp, c, yy), v in model.enrol.items()
            if (pp, yy) == (p, y) and d.entry[c] == lvl
        )
        if intake > 1e-3 and abs(row.slack) < 1e-6:
            expected.add(("available", f"{d.pool_ids[p]} L{lvl}", d.years[y]))
    for (c, y), row in model.capacity_rows.items():
        if abs(row.slack) < 1e-6:
            expected.add(("capacity", d.course_ids[c], d.years[y]))
    sp = long_an_plan.shadow_prices
    found = sp[sp["kind"].isin(["available", "capacity"])][["kind", "name", "year"]]
    assert set(map(tuple, found.values.tolist())) == expected
    assert expected
    # a limit's price is a saving, never negative
    assert (sp.loc[sp["kind"].isin(["available", "capacity"]), "value_vnd"] >= -1e-6).all()


def test_whole_class_plans_count_limits_without_pricing_them() -> None:
    scenario = tiny(**CLASSES, courses__c__seats_per_year=30)
    plan = optimize(scenario, continuous=False)
    assert plan.status is Status.OPTIMAL
    summary = plan_summary(plan, scenario)
    assert summary["binding_limits"] == {"availability": 0, "capacity": 1}
    # a MILP has no duals: the targets are priced by the relaxation (40 people at 10 million
    # plus 2 million of class per seat, the count target being the only limit there), and the
    # whole schedule's limits are listed unpriced, so not in the JSON's prices
    assert [(r["kind"], r["name"]) for r in summary["shadow_prices"]] == [("target_count", "t")]
    assert summary["shadow_prices"][0]["value_vnd"] == pytest.approx(TUITION + 2_000_000, rel=REL)
    assert "relaxation" in summary["shadow_prices_basis"]
    limits = plan.shadow_prices[plan.shadow_prices["kind"] == "capacity"]
    assert len(limits) == 1 and limits["value_vnd"].isna().all()


def test_an_infeasible_plan_has_no_expectation_note() -> None:
    scenario = tiny()
    plan = optimize(scenario, ceiling_vnd=0)
    assert plan.status is Status.INFEASIBLE
    summary = plan_summary(plan, scenario)
    assert "expectation_note" not in summary and "binding_limits" not in summary
    assert "expectation of the LP" not in plan_table(plan, scenario)


def test_the_simulated_mean_falls_below_the_expectation_only_at_a_limit() -> None:
    # What the note claims: at a limit the simulation enrols min(X, n) of the X people free,
    # E[min(X, n)] < n; away from limits the simulated mean is the LP's expectation.
    def gap(scenario: Scenario) -> tuple[float, float]:
        plan = optimize(scenario)
        sim = simulate(scenario, plan.schedule, reps=2000, seed=1, engine="fast")
        att = at_target_year(plan.attainment)
        row = at_target_year(sim.summary).iloc[0]
        se = float(row["sd_attained_people"]) / math.sqrt(sim.reps)
        return float(row["mean_attained_people"]) - float(att["attained_people"].iloc[0]), se

    below, se = gap(tiny(**AT_AVAILABILITY))
    assert below < -5 * se, (below, se)  # about 1.2 people of 70, se 0.12
    free, se = gap(tiny(courses__c__exam_pass_probability=0.5))
    assert abs(free) < 4 * se, (free, se)
