"""The simulator's rules as array operations (simopt.simulate.state), one rule at a time.

Statistical checks compare a mean over many independent draws with its exact expectation and
allow z ≤ 4 standard errors (a false alarm about once in 16,000 runs of a fixed-seed test that
was not tuned to pass).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from builders import with_changes

from simopt.dynamics import N_LEVELS, Dynamics, compile_dynamics
from simopt.scenario import Scenario, build_scenario
from simopt.simulate.state import YEAR_COUNTERS, ProvinceState, new_state, stochastic_round

Z = 4.0

_BASE: dict[str, Any] = {
    "name": "tiny",
    "horizon": {"start_year": 2021, "end_year": 2023, "milestones": [2023]},
    "groups": {"g": {"pools": {"p": {"headcount": 2000, "level_shares": {0: 1.0}}}}},
    "courses": {
        "c": {
            "entry_level": 0,
            "target_level": 3,
            "duration_months": 3,
            "intake_month": 1,
            "tuition_vnd_per_trainee": 1_000_000,
            "exam_pass_probability": 0.5,
        }
    },
    "exams": {"session_months": [3, 6, 9, 12], "max_attempts": 2, "fee_vnd": 100_000},
    "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2023}},
}


def tiny(**changes: Any) -> Scenario:
    """One pool of 2,000 at level 0, one course 0→3; ``a__b=v`` sets ``data[a][b] = v``."""
    data = with_changes(_BASE, **changes)
    return build_scenario(data)


def pools(*specs: tuple[str, int]) -> dict[str, Any]:
    """A group ``g`` holding pools of the given sizes, everyone at level 0."""
    return {"g": {"pools": {pid: {"headcount": n, "level_shares": {0: 1.0}} for pid, n in specs}}}


def state_of(scenario: Scenario, reps: int = 1, seed: int = 0) -> tuple[Dynamics, ProvinceState]:
    d = compile_dynamics(scenario)
    return d, new_state(d, np.random.default_rng(seed), reps)


def assert_mean(samples: Any, expected: float, sd: float) -> None:
    """|mean − expected| within Z standard errors, the standard deviation being known exactly."""
    samples = np.asarray(samples, dtype=float)
    se = sd / math.sqrt(samples.size)
    z = abs(samples.mean() - expected) / se
    assert z <= Z, f"mean {samples.mean():.5g} vs {expected:.5g}: z = {z:.2f}"


def total_people(state: ProvinceState) -> Any:
    """(reps,) everyone still employed: the free and every cohort's active members."""
    return state.levels().sum(axis=(1, 2))


# --------------------------------------------------------------------------- stochastic rounding


def test_stochastic_round_gives_floor_or_ceiling_as_integers() -> None:
    rng = np.random.default_rng(1)
    x = np.array([0.0, 0.25, 1.5, 2.0, 7.999, 1234.5])
    for _ in range(50):
        r = stochastic_round(rng, x)
        assert r.dtype == np.int64
        assert np.all((r == np.floor(x)) | (r == np.ceil(x)))
    # whole numbers are kept exactly
    assert np.array_equal(stochastic_round(rng, np.array([0.0, 3.0, 500.0])), [0, 3, 500])


@pytest.mark.parametrize("x", [0.5, 0.1, 2.75])
def test_stochastic_round_keeps_the_mean(x: float) -> None:
    rng = np.random.default_rng(2)
    r = stochastic_round(rng, np.full(200_000, x))
    frac = x - math.floor(x)
    assert_mean(r, x, math.sqrt(frac * (1 - frac)))


# --------------------------------------------------------------------------- the starting state


def test_start_state_is_the_whole_people_of_the_dynamics_in_every_replication() -> None:
    s = tiny(groups={"g": {"pools": {"p": {"headcount": 1001, "level_shares": {0: 0.5, 3: 0.5}}}}})
    d, st = state_of(s, reps=3)
    assert st.free.shape == (3, 1, N_LEVELS)
    # 500.5 and 500.5 → 501 + 500 (largest remainders), never 501 + 501
    assert st.free.sum(axis=(1, 2)).tolist() == [1001, 1001, 1001]
    assert np.array_equal(st.free[0], d.start_levels.astype(np.int64))
    assert not st.queue.any()
    assert set(st.counters) == set(YEAR_COUNTERS)
    assert all(not v.any() for v in st.counters.values())


# --------------------------------------------------------------------------- attrition


def test_advance_without_elapsed_time_changes_nothing() -> None:
    _, st = state_of(
        tiny(groups={"g": {"pools": {"p": {"headcount": 2000, "attrition_rate_per_year": 0.5}}}})
    )
    st.advance(0.0)
    st.advance(-3.0)
    assert st.free.sum() == 2000
    assert st.counters["left"].sum() == 0


def test_advance_conserves_people_and_counts_every_leaver() -> None:
    s = tiny(groups={"g": {"pools": {"p": {"headcount": 2000, "attrition_rate_per_year": 0.3}}}})
    _, st = state_of(s, reps=50)
    st.intake(0, 0, np.array([500.0]), None)
    assert np.all(total_people(st) == 2000)
    st.advance(7.0)
    st.advance(12.0)
    assert np.all(total_people(st) + st.counters["left"][:, 0] == 2000)
    assert np.all(st.counters["left"] > 0)


def test_advance_one_year_keeps_one_minus_the_yearly_rate_on_average() -> None:
    a, n, reps = 0.2, 2000, 2000
    s = tiny(groups={"g": {"pools": {"p": {"headcount": n, "attrition_rate_per_year": a}}}})
    _, st = state_of(s, reps=reps, seed=3)
    for month in range(1, 13):  # monthly steps compound to the yearly rate
        st.advance(float(month))
    assert_mean(total_people(st), n * (1 - a), math.sqrt(n * a * (1 - a)))


# --------------------------------------------------------------------------- intakes


def test_intake_without_seat_limit_enrols_only_people_who_exist() -> None:
    _, st = state_of(tiny(), reps=2)
    new, used = st.intake(0, 0, np.array([2500.0]), None)
    assert used.tolist() == [2000, 2000]
    assert st.counters["enrolled"][:, 0].tolist() == [2000, 2000]
    assert st.counters["queued"].sum() == 0, "people who do not exist are not queued"
    assert not st.queue.any()
    assert st.free[:, 0, 0].tolist() == [0, 0]
    assert len(new) == 1 and new[0].active.tolist() == [2000, 2000]
    assert np.all(total_people(st) == 2000)


def test_intake_charges_tuition_and_the_class_cost_per_trainee() -> None:
    s = tiny(
        courses__c__class_size=20,
        courses__c__cost_vnd_per_class=4_000_000,
    )
    _, st = state_of(s)
    st.intake(0, 0, np.array([30.0]), None)
    assert st.cost_vnd[0, 0] == pytest.approx(30 * (1_000_000 + 4_000_000 / 20))


def test_seats_fill_the_first_pools_first_and_the_rest_queue_for_the_next_intake() -> None:
    s = tiny(groups=pools(("p", 100), ("q", 100)), courses__c__seats_per_year=150)
    d, st = state_of(s, reps=2)
    _, used = st.intake(0, 0, np.array([100.0, 100.0]), d.capacity[0])
    assert used.tolist() == [150, 150]
    assert st.counters["enrolled"][0].tolist() == [100, 50]
    assert st.counters["queued"][0].tolist() == [0, 50]
    assert st.queue[0, :, 0].tolist() == [0, 50]
    # the queued stay free (at work) until a seat comes
    assert st.free[0, :, 0].tolist() == [0, 50]
    st.reset_year()
    _, used = st.intake(0, 1, np.array([0.0, 0.0]), d.capacity[0])
    assert used.tolist() == [50, 50]
    assert st.counters["enrolled"][0].tolist() == [0, 50]
    assert not st.queue.any()
    assert np.all(total_people(st) == 200)


def test_zero_seats_enrol_nobody_and_queue_everyone_requested() -> None:
    s = tiny(courses__c__seats_per_year=0)
    d, st = state_of(s, reps=3)
    new, used = st.intake(0, 0, np.array([120.0]), d.capacity[0])
    assert new == [] and not used.any()
    assert st.counters["queued"][:, 0].tolist() == [120, 120, 120]
    assert st.cost_vnd.sum() == 0


# --------------------------------------------------------------------------- course end and exams


def test_course_end_with_no_completion_sends_everyone_back_and_retires_the_cohort() -> None:
    s = tiny(courses__c__completion_rate=0.0)
    _, st = state_of(s, reps=2)
    (cohort,), _ = st.intake(0, 0, np.array([300.0]), None)
    st.course_end(cohort)
    assert cohort not in st.cohorts
    assert st.counters["dropped_out"][:, 0].tolist() == [300, 300]
    assert st.free[:, 0, 0].tolist() == [2000, 2000]


def test_course_end_drops_out_one_minus_completion_on_average() -> None:
    c, n, reps = 0.8, 1000, 2000
    s = tiny(courses__c__completion_rate=c)
    _, st = state_of(s, reps=reps, seed=4)
    (cohort,), _ = st.intake(0, 0, np.array([float(n)]), None)
    st.course_end(cohort)
    assert np.all(cohort.active + st.counters["dropped_out"][:, 0] == n)
    assert_mean(cohort.active, n * c, math.sqrt(n * c * (1 - c)))


def test_a_pass_certifies_the_target_level_and_fees_are_paid_per_sitting() -> None:
    s = tiny(courses__c__exam_pass_probability=1.0)
    _, st = state_of(s, reps=2)
    (cohort,), _ = st.intake(0, 0, np.array([40.0]), None)
    st.course_end(cohort)
    before = st.cost_vnd.copy()
    st.sitting(cohort, 1)
    assert st.free[:, 0, 3].tolist() == [40, 40]
    assert st.counters["passed"][:, 0].tolist() == [40, 40]
    assert np.allclose(st.cost_vnd - before, 40 * 100_000)
    assert not cohort.active.any()
    # nobody left to sit the retake: no fee
    st.sitting(cohort, 2)
    assert np.allclose(st.cost_vnd - before, 40 * 100_000)
    assert cohort not in st.cohorts


def test_failures_at_the_last_attempt_return_to_their_entry_level() -> None:
    s = tiny(courses__c__exam_pass_probability=0.0)
    _, st = state_of(s, reps=2)
    (cohort,), _ = st.intake(0, 0, np.array([40.0]), None)
    st.course_end(cohort)
    st.sitting(cohort, 1)
    assert cohort in st.cohorts, "a failure waits for the retake"
    assert cohort.active.tolist() == [40, 40]
    st.sitting(cohort, 2)
    assert cohort not in st.cohorts
    assert st.counters["failed"][:, 0].tolist() == [80, 80]
    assert st.free[:, 0, 0].tolist() == [2000, 2000]
    assert not st.free[:, 0, 1:].any()


def test_levels_count_trainees_at_their_entry_level() -> None:
    _, st = state_of(tiny(), reps=1)
    st.intake(0, 0, np.array([700.0]), None)
    assert st.free[0, 0, 0] == 1300
    assert st.levels()[0, 0, 0] == 2000


# --------------------------------------------------------------------------- the year's end


def test_promotions_move_their_rate_of_the_free_people_and_lose_nobody() -> None:
    n, rate, reps = 1000, 0.3, 2000
    s = tiny(
        groups=pools(("p", n), ("q", 0)),
        promotions=[{"from_pool": "p", "to_pool": "q", "rate_per_year": rate}],
    )
    _, st = state_of(s, reps=reps, seed=5)
    st.year_end()
    assert np.all(st.free.sum(axis=(1, 2)) == n)
    assert_mean(st.free[:, 1, 0], n * rate, math.sqrt(n * rate * (1 - rate)))


def test_two_promotions_out_of_one_pool_split_it_multinomially() -> None:
    n, r1, r2, reps = 1000, 0.3, 0.5, 2000
    s = tiny(
        groups=pools(("p", n), ("q", 0), ("r", 0)),
        promotions=[
            {"from_pool": "p", "to_pool": "q", "rate_per_year": r1},
            {"from_pool": "p", "to_pool": "r", "rate_per_year": r2},
        ],
    )
    _, st = state_of(s, reps=reps, seed=6)
    st.year_end()
    moved = st.free[:, :, 0]
    assert np.all(moved.sum(axis=1) == n)
    assert_mean(moved[:, 1], n * r1, math.sqrt(n * r1 * (1 - r1)))
    assert_mean(moved[:, 2], n * r2, math.sqrt(n * r2 * (1 - r2)))


def test_trainees_are_not_promoted() -> None:
    s = tiny(
        groups=pools(("p", 100), ("q", 0)),
        promotions=[{"from_pool": "p", "to_pool": "q", "rate_per_year": 1.0}],
    )
    _, st = state_of(s, reps=2)
    st.intake(0, 0, np.array([60.0]), None)
    st.year_end()
    assert st.free[:, 1, 0].tolist() == [40, 40]
    assert st.levels()[:, 0, 0].tolist() == [60, 60]


def test_fractional_hires_keep_their_mean_and_level_mix() -> None:
    hires, reps = 2.5, 20_000
    s = tiny(
        groups={
            "g": {
                "pools": {
                    "p": {
                        "headcount": 0,
                        "hires_per_year": hires,
                        "hire_level_shares": {0: 0.4, 4: 0.6},
                    }
                }
            }
        }
    )
    _, st = state_of(s, reps=reps, seed=7)
    st.year_end()
    total = st.free.sum(axis=(1, 2))
    assert set(np.unique(total).tolist()) <= {2, 3}
    assert_mean(total, hires, 0.5)
    assert not st.free[:, 0, [1, 2, 3, 5, 6]].any()
    # level 4 of each hire: Bernoulli(0.6) given the count; the known total variance bounds it
    sd4 = math.sqrt(hires * 0.6 * 0.4 + 0.6**2 * 0.25)
    assert_mean(st.free[:, 0, 4], hires * 0.6, sd4)


def test_a_hire_mix_that_the_scenario_accepts_does_not_crash_the_year_end() -> None:
    # The scenario accepts shares summing to 1 within 1e-6; the hires' multinomial draw must too.
    s = tiny(
        groups={
            "g": {
                "pools": {
                    "p": {
                        "headcount": 10,
                        "hires_per_year": 10,
                        "hire_level_shares": {0: 0.5000004, 3: 0.5},
                    }
                }
            }
        }
    )
    _, st = state_of(s, reps=2)
    st.year_end()
    assert st.free.sum(axis=(1, 2)).tolist() == [20, 20]
