"""The two engines against closed forms, against each other and against the optimiser.

"Two models, one truth": the optimiser plans with expectations (simopt.dynamics.CohortProfile and
the LP's balance equations); the simulators draw the same events. Where no limit binds, the
simulated mean of any fixed schedule must match the optimiser's expected projection of it.

Statistical bounds: a single comparison allows z ≤ 4 (about one false alarm in 16,000); a table of
~100 correlated comparisons (targets × years) allows z ≤ 4.5, which keeps the chance of any false
alarm in the table under ~0.1%. Every test uses a fixed seed, so the outcome is reproducible.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from builders import with_changes

from simopt.dynamics import compile_dynamics
from simopt.optimize import optimize
from simopt.optimize.lp import build_lp
from simopt.optimize.solve import project, read_costs, run
from simopt.scenario import Scenario, build_scenario, load_scenario
from simopt.simulate import SimulationResult, schedule_array, simulate

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
ENGINES = ("fast", "simpy")
Z_ONE = 4.0
Z_TABLE = 4.5

_BASE: dict[str, Any] = {
    "name": "tiny",
    "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
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
    # sittings at the end of March, June, September and December of the intake year
    "exams": {"session_months": [3, 6, 9, 12], "max_attempts": 1, "retake_pass_factor": 1.0},
    "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2022}},
}


def tiny(**changes: Any) -> Scenario:
    """One pool of 2,000 at level 0, one course 0→3; ``a__b=v`` sets ``data[a][b] = v``."""
    data = with_changes(_BASE, **changes)
    return build_scenario(data)


def schedule(*rows: tuple[int, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["year", "pool", "course", "enrolments"])


def z_scores(mean: Any, expected: Any, se: Any) -> Any:
    """|mean − expected| / se; where se is 0 (nothing random), 0 for a match and inf for a miss."""
    mean, expected, se = (np.asarray(v, dtype=float) for v in (mean, expected, se))
    diff = np.abs(mean - expected)
    exact = se <= 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / se
    match = diff <= 1e-6 * np.maximum(1.0, np.abs(expected))
    return np.where(exact, np.where(match, 0.0, np.inf), z)


def assert_mean_near(samples: Any, expected: Any, bound: float, what: str) -> None:
    """Each cell's mean over axis 0 within ``bound`` standard errors of ``expected``."""
    samples = np.asarray(samples, dtype=float)
    se = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
    z = z_scores(samples.mean(axis=0), expected, se)
    worst = np.unravel_index(int(np.argmax(z)), z.shape) if z.ndim else ()
    assert np.all(z <= bound), (
        f"{what}: z = {float(np.max(z)):.2f} > {bound} at {worst}: "
        f"mean {samples.mean(axis=0)[worst]:.6g} vs expected {np.asarray(expected)[worst]:.6g}"
    )


def per_target_year(frame: pd.DataFrame, column: str, scenario: Scenario) -> Any:
    """(targets, years) array of a column of an attainment table, in the scenario's order."""
    table = frame.set_index(["target", "year"])[column]
    years = scenario.horizon.years
    return np.array([[table.loc[(t, y)] for y in years] for t in scenario.targets], dtype=float)


def reps_for(engine: str, fast: int, simpy: int) -> int:
    return fast if engine == "fast" else simpy


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("c", "p", "k"), [(0.9, 0.6, 3), (0.75, 0.3, 2), (1.0, 0.45, 1)])
def test_one_cohort_certifies_n_c_times_one_minus_fail_to_the_k(
    engine: str, c: float, p: float, k: int
) -> None:
    n = 2000
    s = tiny(
        courses__c__completion_rate=c,
        courses__c__exam_pass_probability=p,
        exams__max_attempts=k,
    )
    reps = reps_for(engine, 2000, 400)
    result = simulate(s, schedule((2021, "p", "c", n)), reps=reps, seed=11, engine=engine)
    q = c * (1 - (1 - p) ** k)
    certified = result.attained[:, 0, -1]
    # z ≤ 4 against N·c·(1 − (1 − p)^k), with the sample's own standard error
    assert_mean_near(certified, n * q, Z_ONE, "certified")
    # the variance is the binomial one: each person independently certifies with q
    assert certified.std(ddof=1) == pytest.approx(math.sqrt(n * q * (1 - q)), rel=0.15)
    # nobody leaves, so certification never exceeds the cohort
    assert certified.max() <= n


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_pass_probability_certifies_nobody(engine: str) -> None:
    s = tiny(courses__c__exam_pass_probability=0.0, exams__max_attempts=3)
    result = simulate(
        s, schedule((2021, "p", "c", 2000)), reps=50, seed=1, engine=engine, keep_replications=True
    )
    assert np.all(result.attained == 0.0)
    reps = result.replications
    assert reps is not None
    assert (reps["passed"] == 0).all()
    assert (reps["certified"] == 0).all()
    # completers sat all three attempts and failed each
    assert (reps.loc[reps["year"] == 2021, "failed"] > 0).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_seats_enrol_nobody_and_count_everyone_as_queued(engine: str) -> None:
    s = tiny(courses__c__seats_per_year=0)
    result = simulate(
        s,
        schedule((2021, "p", "c", 120), (2022, "p", "c", 30)),
        reps=20,
        seed=1,
        engine=engine,
        keep_replications=True,
    )
    reps = result.replications
    assert reps is not None
    assert (reps["enrolled"] == 0).all()
    assert (reps["cost_vnd"] == 0).all()
    # 2021: the 120 requested queue; 2022: they queue again with the 30 new requests
    assert reps.groupby("year")["queued"].unique().map(list).to_dict() == {
        2021: [120],
        2022: [150],
    }
    assert np.all(result.attained == 0.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_seats_below_the_request_queue_the_excess_for_the_next_intake(engine: str) -> None:
    s = tiny(
        courses__c__seats_per_year=300,
        courses__c__exam_pass_probability=1.0,
    )
    result = simulate(
        s, schedule((2021, "p", "c", 500)), reps=10, seed=1, engine=engine, keep_replications=True
    )
    reps = result.replications
    assert reps is not None
    by_year = reps.groupby("year")
    assert by_year["enrolled"].unique().map(list).to_dict() == {2021: [300], 2022: [200]}
    assert by_year["queued"].unique().map(list).to_dict() == {2021: [200], 2022: [0]}
    # everyone requested is certified by the end of 2022: the queue was served
    assert np.all(result.attained[:, 0, :] == [300, 500])


@pytest.mark.parametrize("engine", ENGINES)
def test_attrition_alone_leaves_n_times_one_minus_a_to_the_y(engine: str) -> None:
    n, a = 2000, 0.1
    s = tiny(
        horizon={"start_year": 2021, "end_year": 2025, "milestones": [2025]},
        groups={"g": {"pools": {"p": {"headcount": n, "attrition_rate_per_year": a}}}},
        targets={"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2025}},
    )
    reps = reps_for(engine, 2000, 400)
    result = simulate(s, schedule(), reps=reps, seed=5, engine=engine)
    head_count = result.base[:, 0, :]  # (reps, years): end of years 1..5
    expected = n * (1 - a) ** np.arange(1, 6)
    assert_mean_near(head_count, expected, Z_ONE, "head count")
    assert head_count.std(axis=0, ddof=1) == pytest.approx(
        np.sqrt(expected * (1 - expected / n)), rel=0.15
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_fractional_enrolments_are_rounded_keeping_their_mean(engine: str) -> None:
    s = tiny(courses__c__exam_pass_probability=1.0)
    reps = reps_for(engine, 4000, 1000)
    result = simulate(
        s, schedule((2021, "p", "c", 0.5)), reps=reps, seed=9, engine=engine, keep_replications=True
    )
    reps_table = result.replications
    assert reps_table is not None
    enrolled = reps_table.loc[reps_table["year"] == 2021, "enrolled"].to_numpy()
    assert set(np.unique(enrolled).tolist()) == {0, 1}
    # z ≤ 4 around 0.5 (a Bernoulli(0.5) has sd 0.5)
    assert abs(enrolled.mean() - 0.5) <= Z_ONE * 0.5 / math.sqrt(reps)
    assert result.yearly.loc[result.yearly["year"] == 2021, "enrolled"].iloc[0] == pytest.approx(
        enrolled.mean()
    )


# --------------------------------------------------------------------------- two models, one truth


@pytest.fixture(scope="module")
def as_written() -> tuple[Scenario, Any]:
    s = load_scenario(SCENARIOS / "long_an_as_written.yaml")
    plan = optimize(s)
    assert plan.is_ok
    return s, plan


@pytest.mark.parametrize("engine", ENGINES)
def test_deterministic_world_simulates_to_exactly_the_optimisers_attainment(
    as_written: tuple[Scenario, Any], engine: str
) -> None:
    s, plan = as_written
    result = simulate(s, plan.schedule, reps=10, seed=4, engine=engine)
    expected = per_target_year(plan.attainment, "attained_people", s)
    base = per_target_year(plan.attainment, "base_people", s)
    # no randomness is left but the stochastic rounding of fractional enrolments: within 1 person
    assert np.abs(result.attained - expected[None]).max() <= 1.0
    assert np.abs(result.base - base[None]).max() <= 1.0
    at_target_year = result.summary[result.summary["year"] == result.summary["target_year"]]
    assert (at_target_year["probability_met"] == 1.0).all()


@pytest.fixture(scope="module")
def long_an_projection() -> dict[str, Any]:
    """The optimiser's Long An plan scaled by 0.9, and its expected projection.

    The optimiser's own plan sits exactly on its limits (seats, and the people free to enrol).
    There the simulator's mean must fall below the expectation: what a random world can deliver
    is min(X, n) and E[min(X, n)] < min(E[X], n). Scaled by 0.9 no limit binds, and the
    simulated mean must equal the projection.
    """
    s = load_scenario(SCENARIOS / "long_an.yaml")
    d = compile_dynamics(s)
    plan = optimize(s, dynamics=d)
    assert plan.is_ok
    scaled = plan.schedule.copy()
    scaled["enrolments"] = scaled["enrolments"] * 0.9
    enrol = schedule_array(d, scaled)
    expected = project(s, enrol, dynamics=d)
    # project() returns attainment only: the expected cost comes from the same projection LP
    model = build_lp(d, fixed_enrolments=enrol)
    assert str(run(model, "highs")) == "optimal"
    costs = read_costs(model)
    cost_by_year = costs.groupby("year")["cost_vnd"].sum().reindex(d.cost_years, fill_value=0.0)
    return {
        "scenario": s,
        "dynamics": d,
        "schedule": scaled,
        "attained": per_target_year(expected, "attained_people", s),
        "base": per_target_year(expected, "base_people", s),
        "cost": cost_by_year.to_numpy(),
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_simulated_mean_equals_the_optimisers_projection_where_no_limit_binds(
    long_an_projection: dict[str, Any], engine: str
) -> None:
    p = long_an_projection
    # the optimiser plans at the stated values: the simulator is held to it at those values
    result = simulate(
        p["scenario"],
        p["schedule"],
        reps=400,
        seed=2024,
        engine=engine,
        dynamics=p["dynamics"],
        uncertainty="none",
    )
    # ~100 correlated comparisons (10 targets × 10 years): z ≤ 4.5 each
    assert_mean_near(result.attained, p["attained"], Z_TABLE, "attained people")
    assert_mean_near(result.base, p["base"], Z_TABLE, "eligible people")
    # public + trainee cost per year, the retake fees after the horizon's last year included
    assert p["dynamics"].cost_years[-1] > p["dynamics"].years[-1]
    assert p["cost"][-1] > 0
    assert_mean_near(result.cost_vnd, p["cost"], Z_TABLE, "cost per year")
    # and the projection is not trivially satisfied: the plan certifies thousands
    assert p["attained"][:, -1].max() > 10_000


def test_the_optimisers_own_plan_on_its_limits_simulates_below_its_expectation() -> None:
    # The contrast to the test above: on the seat and availability limits the mean falls short
    # (E[min(X, n)] < min(E[X], n)); if it did not, the scaled test would prove little.
    s = load_scenario(SCENARIOS / "long_an.yaml")
    plan = optimize(s)
    result = simulate(s, plan.schedule, reps=1000, seed=3, engine="fast", uncertainty="none")
    expected = per_target_year(plan.attainment, "attained_people", s)
    shortfall = expected - result.attained.mean(axis=0)
    se = result.attained.std(axis=0, ddof=1) / math.sqrt(result.reps)
    assert np.max(shortfall / se) > 2 * Z_TABLE


# --------------------------------------------------------------------------- fast against SimPy


@pytest.fixture(scope="module", params=["long_an.yaml", "quang_tri.yaml"])
def both_engines(request: pytest.FixtureRequest) -> tuple[SimulationResult, SimulationResult]:
    s = load_scenario(SCENARIOS / request.param)
    d = compile_dynamics(s)
    plan = optimize(s, dynamics=d)
    assert plan.is_ok
    fast = simulate(s, plan.schedule, reps=2000, seed=7, engine="fast", dynamics=d)
    simpy = simulate(s, plan.schedule, reps=800, seed=7, engine="simpy", dynamics=d)
    return fast, simpy


def test_fast_and_simpy_engines_have_the_same_means(
    both_engines: tuple[SimulationResult, SimulationResult],
) -> None:
    a, b = both_engines
    for field in ("attained", "base", "cost_vnd"):
        x, y = getattr(a, field), getattr(b, field)
        se = np.sqrt(x.var(axis=0, ddof=1) / len(x) + y.var(axis=0, ddof=1) / len(y))
        z = z_scores(x.mean(axis=0), y.mean(axis=0), se)
        # ~100 correlated comparisons: z ≤ 4.5 with the combined standard error
        assert np.all(z <= Z_TABLE), f"{field}: z = {np.max(z):.2f}"


def test_fast_and_simpy_engines_have_the_same_spread(
    both_engines: tuple[SimulationResult, SimulationResult],
) -> None:
    a, b = both_engines
    sa = a.attained.std(axis=0, ddof=1)
    sb = b.attained.std(axis=0, ddof=1)
    assert np.all((sa > 0) == (sb > 0))
    ratio = sa[sb > 0] / sb[sb > 0]
    # 2,000 and 800 replications: the ratio's own relative error is ~3%, so 15% is ~5 of them
    assert np.all(np.abs(ratio - 1) <= 0.15), f"sd ratio {ratio.min():.3f}–{ratio.max():.3f}"


def test_same_month_intakes_run_in_the_same_order_in_both_engines() -> None:
    # Two courses from level 0 open in January; people are scarce in 2022. The timeline serves
    # same-month intakes in course order, so course "a" (listed first) gets them in both engines.
    s = tiny(
        horizon={"start_year": 2021, "end_year": 2022, "milestones": [2022]},
        groups={"g": {"pools": {"p": {"headcount": 100}}}},
        courses={
            "a": {
                "entry_level": 0,
                "target_level": 3,
                "duration_months": 3,
                "tuition_vnd_per_trainee": 1,
                "exam_pass_probability": 1.0,
                "seats_per_year": 1000,
            },
            "b": {
                "entry_level": 0,
                "target_level": 4,
                "duration_months": 3,
                "tuition_vnd_per_trainee": 1,
                "exam_pass_probability": 1.0,
            },
        },
        exams={"session_months": [12], "max_attempts": 1},
    )
    sched = schedule((2021, "p", "a", 10), (2022, "p", "a", 90), (2022, "p", "b", 90))
    tables = {}
    for engine in ENGINES:
        result = simulate(s, sched, reps=1, seed=0, engine=engine, keep_replications=True)
        assert result.replications is not None
        tables[engine] = result.replications.set_index("year")[["level_0", "level_3", "level_4"]]
    pd.testing.assert_frame_equal(tables["simpy"], tables["fast"])
    assert tables["fast"].loc[2022].tolist() == [0, 100, 0]


# --------------------------------------------------------------------------- conservation


@pytest.mark.parametrize("engine", ENGINES)
def test_nobody_appears_or_vanishes(engine: str) -> None:
    # Each year, per replication: everyone = last year's everyone − leavers + hires (Long An's
    # hires are whole numbers, so their count is exact); promotions only move people.
    s = load_scenario(SCENARIOS / "long_an.yaml")
    d = compile_dynamics(s)
    plan = optimize(s, dynamics=d)
    result = simulate(
        s,
        plan.schedule,
        reps=reps_for(engine, 20, 5),
        seed=1,
        engine=engine,
        keep_replications=True,
        dynamics=d,
        uncertainty="none",  # drawn hires are fractional, so their count would not be exact
    )
    table = result.replications
    assert table is not None
    level_cols = [f"level_{i}" for i in range(7)]
    per_year = table.groupby(["replication", "year"])[[*level_cols, "left"]].sum()
    everyone = per_year[level_cols].sum(axis=1).unstack("year")
    left = per_year["left"].unstack("year")
    hires = float(d.hires.sum())
    assert hires == int(hires)
    previous = np.concatenate(
        [np.full((len(everyone), 1), d.start_levels.sum()), everyone.to_numpy()[:, :-1]], axis=1
    )
    assert np.array_equal(everyone.to_numpy(), previous - left.to_numpy() + hires)
