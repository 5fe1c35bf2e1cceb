"""The compiled dynamics: exam timing and the closed forms of a cohort's expected fate."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from builders import with_changes

from simopt.dynamics import Sitting, cohort_profile, compile_dynamics, exam_sittings
from simopt.scenario import Scenario, build_scenario

_BASE: dict[str, Any] = {
    "name": "tiny",
    "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
    "groups": {"g": {"pools": {"p": {"headcount": 100, "level_shares": {0: 1.0}}}}},
    "courses": {
        "c": {
            "entry_level": 0,
            "target_level": 3,
            "duration_months": 9,
            "intake_month": 2,
            "tuition_vnd_per_trainee": 10_000_000,
            "exam_pass_probability": 0.6,
        }
    },
    "exams": {"session_months": [3, 6, 9, 12], "max_attempts": 2},
    "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2022}},
}


def tiny(**changes: Any) -> Scenario:
    """The 1-pool, 1-course scenario above; ``a__b=v`` sets ``data[a][b] = v``."""
    data = with_changes(_BASE, **changes)
    return build_scenario(data)


def alive(attrition: float, months: float) -> float:
    return float((1.0 - attrition) ** (months / 12.0))


def profile(
    sittings: tuple[Sitting, ...],
    *,
    intake: int = 2,
    duration: int = 9,
    completion: float = 1.0,
    attrition: float = 0.0,
) -> Any:
    return cohort_profile(
        sittings,
        intake_month=intake,
        duration_months=duration,
        completion=completion,
        yearly_attrition=attrition,
    )


# --------------------------------------------------------------------------- exam timing


def test_february_intake_of_nine_months_sits_the_december_session_of_the_same_year() -> None:
    first, retake = exam_sittings(tiny(), "c")
    # intake 1 Feb, 9 months → course over at the end of October; next session: December
    assert (first.attempt, first.months_after_intake, first.year_offset) == (1, 11, 0)
    assert first.pass_probability == pytest.approx(0.6)
    # the retake is the next session: March of the following year
    assert (retake.attempt, retake.months_after_intake, retake.year_offset) == (2, 14, 1)


def test_a_session_in_the_month_the_course_ends_is_sat_at_once() -> None:
    # course over at the end of October; an October session (held at its end) counts
    (first,) = exam_sittings(
        tiny(exams={"session_months": [10], "max_attempts": 1}, courses__c__intake_month=2), "c"
    )
    assert (first.months_after_intake, first.year_offset) == (9, 0)


def test_a_course_ending_after_the_last_session_sits_next_year() -> None:
    scenario = tiny(
        courses__c__intake_month=6, exams={"session_months": [6, 12], "max_attempts": 3}
    )
    sittings = exam_sittings(scenario, "c")
    # intake 1 June + 9 months → over at the end of February; June, December, June
    assert [(s.months_after_intake, s.year_offset) for s in sittings] == [(13, 1), (19, 1), (25, 2)]
    assert [s.attempt for s in sittings] == [1, 2, 3]


def test_retakes_pass_with_the_retake_factor_capped_at_one() -> None:
    scenario = tiny(exams={"session_months": [12], "max_attempts": 3, "retake_pass_factor": 0.5})
    assert [s.pass_probability for s in exam_sittings(scenario, "c")] == pytest.approx(
        [0.6, 0.3, 0.3]
    )
    capped = tiny(exams={"session_months": [12], "max_attempts": 2, "retake_pass_factor": 2.0})
    assert [s.pass_probability for s in exam_sittings(capped, "c")] == pytest.approx([0.6, 1.0])


# --------------------------------------------------------------------------- cohort profiles


@pytest.mark.parametrize(("c", "p"), [(1.0, 1.0), (0.9, 0.6), (0.85, 0.75), (0.5, 0.1)])
def test_without_attrition_two_attempts_certify_c_times_one_minus_fail_twice(
    c: float, p: float
) -> None:
    sittings = exam_sittings(tiny(courses__c__exam_pass_probability=p), "c")
    prof = profile(sittings, completion=c)
    assert math.fsum(prof.certified) == pytest.approx(c * (1 - (1 - p) ** 2), rel=1e-12)
    # first sitting in December of year 0, the retake in March of year 1
    assert prof.certified[0] == pytest.approx(c * p)
    assert prof.certified[1] == pytest.approx(c * (1 - p) * p)


def test_certified_counts_only_those_still_employed_at_the_year_end() -> None:
    sittings = exam_sittings(tiny(), "c")  # p = 0.6
    prof = profile(sittings, completion=0.9, attrition=0.12)
    # year 0: pass in December, survive 11 months from 1 February to 31 December
    assert prof.certified[0] == pytest.approx(0.9 * 0.6 * 0.88 ** (11 / 12), rel=1e-12)
    assert prof.certified[0] == pytest.approx(0.480289, abs=1e-6)
    # year 1: fail in December, pass in March, survive to the end of year 1 (23 months)
    assert prof.certified[1] == pytest.approx(0.9 * 0.4 * 0.6 * 0.88 ** (23 / 12), rel=1e-12)


def test_in_pipeline_matches_hand_computation() -> None:
    sittings = exam_sittings(tiny(), "c")  # p = 0.6, December then March
    prof = profile(sittings, completion=0.9, attrition=0.12)
    # end of year 0: completers who failed in December wait for March
    assert prof.in_pipeline[0] == pytest.approx(0.9 * 0.4 * alive(0.12, 11), rel=1e-12)
    # end of year 1: both sittings used, nobody waits
    assert prof.in_pipeline[1] == 0.0


def test_in_pipeline_while_the_course_still_runs_counts_everyone_employed() -> None:
    scenario = tiny(
        courses__c__intake_month=6,
        courses__c__exam_pass_probability=0.5,
        exams={"session_months": [6, 12], "max_attempts": 3},
    )
    prof = profile(exam_sittings(scenario, "c"), intake=6, completion=0.8, attrition=0.1)
    # end of year 0 (7 months after a June intake): the 9-month course is still running
    assert prof.in_pipeline[0] == pytest.approx(alive(0.1, 7), rel=1e-12)
    # end of year 1: failed June and December, waiting for the third sitting next June
    assert prof.in_pipeline[1] == pytest.approx(0.8 * 0.25 * alive(0.1, 19), rel=1e-12)
    assert prof.in_pipeline[2] == 0.0
    assert prof.years == 3


def test_sittings_are_the_expected_exam_fees_paid_each_year() -> None:
    sittings = exam_sittings(tiny(), "c")  # p = 0.6
    prof = profile(sittings, completion=0.9, attrition=0.12)
    assert prof.sittings[0] == pytest.approx(0.9 * alive(0.12, 11), rel=1e-12)
    assert prof.sittings[1] == pytest.approx(0.9 * 0.4 * alive(0.12, 14), rel=1e-12)


def test_pass_probability_zero_certifies_nobody() -> None:
    sittings = exam_sittings(tiny(courses__c__exam_pass_probability=0.0), "c")
    prof = profile(sittings, completion=1.0)
    assert prof.certified == (0.0, 0.0)
    # everyone sits both sessions and pays both fees
    assert prof.sittings == pytest.approx((1.0, 1.0))


def test_compiled_profiles_use_each_pools_own_attrition() -> None:
    scenario = tiny(
        groups={
            "g": {
                "pools": {
                    "stay": {"headcount": 10, "attrition_rate_per_year": 0.0},
                    "leave": {"headcount": 10, "attrition_rate_per_year": 0.2},
                }
            }
        }
    )
    d = compile_dynamics(scenario)
    stay, leave = d.pool_index("stay"), d.pool_index("leave")
    assert d.profiles[stay][0].certified[0] == pytest.approx(0.6)
    assert d.profiles[leave][0].certified[0] == pytest.approx(0.6 * alive(0.2, 11))


def test_compiled_capacity_class_cost_and_eligibility() -> None:
    scenario = tiny(
        courses__c__class_size=25,
        courses__c__cost_vnd_per_class=50_000_000,
        courses__c__seats_per_year=100,
        courses__c__classes_per_year=3,
        courses__c__groups=["g"],
    )
    d = compile_dynamics(scenario)
    assert d.capacity == (75,)  # the smaller of 100 seats and 3 classes × 25
    assert d.class_cost_vnd_per_trainee[0] == pytest.approx(2_000_000)
    assert bool(d.allowed[0, 0])


def test_a_group_without_stated_funding_is_paid_from_a_public_source() -> None:
    # dynamics.py documents that such a group "is paid from the first (public) source"; the
    # first source listed here is the trainees' own money, which no public ceiling binds
    data = copy.deepcopy(_BASE)
    data["funding_sources"] = {"own": {"public": False}, "state": {"public": True}}
    d = compile_dynamics(build_scenario(data))
    paying = [d.source_ids[i] for i, share in enumerate(d.funding[0]) if share > 0]
    assert paying, "the group's costs are paid by nobody"
    assert all(d.source_public[d.source_ids.index(src)] for src in paying), paying
