"""Simulating with uncertain parameters: ranges that change nothing, probabilities with a closed
form, targets held together, the variance split, reproducibility, the two engines and
parameter designs.

Statistical bounds follow tests/test_simulate_engines.py: one comparison allows z ≤ 4 (about one
false alarm in 16,000), a table of comparisons z ≤ 4.5. Every test uses a fixed seed, so the
outcome is reproducible.

The toys rest on one closed form. A pool of B people at level 0, nobody leaving or hired, one
course with completion 1 and one exam sitting: enrolling N people certifies Binomial(N, p)
people, where p is the replication's drawn pass probability, uniform on [a, b]. A target of a
share s of the pool asks for k = s·B people, so it is met when the pass rate is above
p* = k / N, up to the binomial luck of individuals:
P(met) = (b − p*) / (b − a). The luck is small at N = 100,000: the pass rate an individual
replication realises is within sd sqrt(p (1 − p) / N) ≈ 0.0016 of p, and its effect on P(met)
cancels to first order — exactly, ∫ P(Binomial(N, p) ≥ k) dp = (N − k + 1) / (N + 1), which
differs from ∫ 1[p ≥ p*] dp by k / (N (N + 1)) < 1e-5. ALLOWANCE (0.005, three times that sd
in units of b − a) covers the luck even where it does not cancel (the joint probability of two
targets near both thresholds).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simopt.dynamics import compile_dynamics
from simopt.optimize import optimize
from simopt.scenario import Scenario, build_scenario, load_scenario
from simopt.simulate import SimulationResult, simulate
from simopt.simulate.rates import drawn_rates
from simopt.uncertain.draws import ParameterDraws, central_parameters, draw_parameters
from simopt.uncertain.drivers import oat_drivers

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
ENGINES = ("fast", "simpy")
Z_ONE = 4.0
Z_TABLE = 4.5
ALLOWANCE = 0.005

POOL = 200_000
ENROL = 100_000
LOW, HIGH = 0.4, 0.8


def note(value: float, low: float, high: float, distribution: str = "uniform") -> dict[str, Any]:
    return {"value": value, "range": [low, high], "distribution": distribution, "source": "test"}


def course(pass_probability: Any, **more: Any) -> dict[str, Any]:
    return {
        "entry_level": 0,
        "target_level": 3,
        "duration_months": 3,
        "intake_month": 1,
        "tuition_vnd_per_trainee": 1_000_000,
        "completion_rate": 1.0,
        "exam_pass_probability": pass_probability,
        **more,
    }


def toy(share: float = 0.28, pass_probability: Any = None, **course_more: Any) -> Scenario:
    """One pool of 200,000 at level 0, nobody leaving or hired; one course 0→3 with one sitting,
    its pass probability uniform on [0.4, 0.8] unless given; a target of ``share`` in 2022."""
    if pass_probability is None:
        pass_probability = note(0.6, LOW, HIGH)
    return build_scenario(
        {
            "name": "toy",
            "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
            "groups": {"g": {"pools": {"p": {"headcount": POOL, "level_shares": {0: 1.0}}}}},
            "courses": {"c": course(pass_probability, **course_more)},
            "exams": {"session_months": [6], "max_attempts": 1},
            "targets": {"t": {"groups": ["g"], "min_level": 3, "share": share, "year": 2022}},
        }
    )


def two_targets(rank_correlation: float | None = None, share: float = 0.3) -> Scenario:
    """Two toys side by side: groups g1 and g2, each with its own pool, course and uncertain
    pass rate, and its own target; the pass rates tied by ``rank_correlation`` if given."""
    data: dict[str, Any] = {
        "name": "two",
        "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
        "groups": {
            f"g{i}": {"pools": {f"p{i}": {"headcount": POOL, "level_shares": {0: 1.0}}}}
            for i in (1, 2)
        },
        "courses": {f"c{i}": course(note(0.6, LOW, HIGH), groups=[f"g{i}"]) for i in (1, 2)},
        "exams": {"session_months": [6], "max_attempts": 1},
        "targets": {
            f"t{i}": {"groups": [f"g{i}"], "min_level": 3, "share": share, "year": 2022}
            for i in (1, 2)
        },
    }
    if rank_correlation is not None:
        data["correlations"] = [
            {
                "label": "same_examiners",
                "parameters": ["courses.*.exam_pass_probability"],
                "rank_correlation": rank_correlation,
                "source": "test",
            }
        ]
    return build_scenario(data)


def schedule(*rows: tuple[int, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["year", "pool", "course", "enrolments"])


TOY_SCHEDULE = schedule((2021, "p", "c", ENROL))
TWO_SCHEDULE = schedule((2021, "p1", "c1", ENROL), (2021, "p2", "c2", ENROL))


def assert_same_result(a: SimulationResult, b: SimulationResult) -> None:
    assert np.array_equal(a.attained, b.attained)
    assert np.array_equal(a.base, b.base)
    assert np.array_equal(a.cost_vnd, b.cost_vnd)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.yearly, b.yearly)
    assert a.joint is not None and b.joint is not None
    pd.testing.assert_frame_equal(a.joint, b.joint)


def same_bytes(a: SimulationResult, b: SimulationResult) -> bool:
    return (
        a.attained.tobytes() == b.attained.tobytes()
        and a.base.tobytes() == b.base.tobytes()
        and a.cost_vnd.tobytes() == b.cost_vnd.tobytes()
        and a.summary.equals(b.summary)
        and a.yearly.equals(b.yearly)
    )


def met_at_year(result: SimulationResult, scenario: Scenario) -> dict[str, float]:
    """Each target's probability_met at its own year, from the summary."""
    s = result.summary
    return {
        tid: float(s[(s["target"] == tid) & (s["year"] == t.year)]["probability_met"].iloc[0])
        for tid, t in scenario.targets.items()
    }


# --------------------------------------------------------------------------- zero-width ranges


def zero_width_data() -> dict[str, Any]:
    """Every kind of drawn number with a zero-width range (in each distribution), and level
    tables of one level with a concentration: declared uncertainty that cannot move anything."""
    return {
        "name": "zero_width",
        "horizon": {"start_year": 2021, "end_year": 2023, "milestones": [2022, 2023]},
        "groups": {
            "g": {
                "pools": {
                    "staff": {
                        # 997 eligible: the shares give fractions, so rounding to whole people
                        # is exercised
                        "headcount": note(1001, 1001, 1001, "triangular"),
                        "excluded": note(4, 4, 4, "pert"),
                        "level_shares": {0: 0.55, 3: 0.3, 4: 0.15},
                        "attrition_rate_per_year": note(0.05, 0.05, 0.05, "normal"),
                        "hires_per_year": note(12.5, 12.5, 12.5),
                        "hire_level_shares": {
                            "value": {0: 1.0},
                            "concentration": 50,
                            "source": "test",
                        },
                    },
                    "leaders": {
                        "headcount": 300,
                        "level_shares": {"value": {0: 1.0}, "concentration": 80, "source": "t"},
                        "attrition_rate_per_year": 0.03,
                    },
                }
            }
        },
        "promotions": [
            {"from_pool": "staff", "to_pool": "leaders", "rate_per_year": note(0.02, 0.02, 0.02)}
        ],
        "courses": {
            "c3": course(
                note(0.55, 0.55, 0.55, "triangular"),
                completion_rate=note(0.9, 0.9, 0.9, "pert"),
                tuition_vnd_per_trainee=note(2e6, 2e6, 2e6),
                class_size=25,
                cost_vnd_per_class=note(5e6, 5e6, 5e6, "normal"),
            ),
            "c4": {**course(0.5), "entry_level": 3, "target_level": 4},
        },
        "exams": {
            "session_months": [6, 12],
            "max_attempts": 2,
            "fee_vnd": note(1.5e6, 1.5e6, 1.5e6),
            "retake_pass_factor": note(0.9, 0.9, 0.9, "triangular"),
        },
        "targets": {
            "l3": {"groups": ["g"], "min_level": 3, "share": 0.5, "year": 2022},
            "l4": {"groups": ["g"], "min_level": 4, "share": 0.2, "year": 2023},
        },
    }


ZERO_WIDTH_SCHEDULE = schedule(
    (2021, "staff", "c3", 200),
    (2021, "leaders", "c3", 60.5),
    (2022, "staff", "c4", 150),
    (2022, "staff", "c3", 100),
)


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_width_ranges_change_nothing(engine: str) -> None:
    s = build_scenario(zero_width_data())
    u = s.uncertainties
    assert len(u.ranges) == 11 and len(u.level_mixes) == 2  # every drawn kind is declared
    reps = 600 if engine == "fast" else 20
    kwargs: dict[str, Any] = {"reps": reps, "seed": 3, "engine": engine}
    drawn = simulate(s, ZERO_WIDTH_SCHEDULE, uncertainty="ranges", **kwargs)
    fixed = simulate(s, ZERO_WIDTH_SCHEDULE, uncertainty="none", **kwargs)
    assert drawn.uncertainty == "ranges" and drawn.parameters is not None
    assert fixed.uncertainty == "none" and fixed.parameters is None
    assert_same_result(drawn, fixed)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("field", ["headcount", "excluded"])
def test_a_zero_width_range_on_a_pool_with_level_counts_keeps_its_counts(
    engine: str, field: str
) -> None:
    # A pool that gives level_counts may carry a zero-width headcount or excluded range (only a
    # range with width is refused). Its people must still start at their counted levels.
    data = zero_width_data()
    leaders = data["groups"]["g"]["pools"]["leaders"]
    del leaders["level_shares"]
    leaders["headcount"] = 300
    leaders["excluded"] = 20
    leaders["level_counts"] = {0: 180, 3: 70, 4: 30}
    leaders[field] = note(leaders[field], leaders[field], leaders[field])
    s = build_scenario(data)
    assert f"groups.g.pools.leaders.{field}" in s.uncertainties.ranges
    reps = 250 if engine == "fast" else 5
    kwargs: dict[str, Any] = {"reps": reps, "seed": 3, "engine": engine}
    drawn = simulate(s, ZERO_WIDTH_SCHEDULE, uncertainty="ranges", **kwargs)
    fixed = simulate(s, ZERO_WIDTH_SCHEDULE, uncertainty="none", **kwargs)
    # the 280 eligible leaders start at their counted levels in every replication
    d = compile_dynamics(s)
    start = drawn_rates(d, draw_parameters(s.uncertainties, 3, 3)).start[:, d.pool_index("leaders")]
    assert start.tolist() == [[180, 0, 0, 70, 30, 0, 0]] * 3
    assert_same_result(drawn, fixed)


# --------------------------------------------------------------------------- a closed form


def test_probability_met_converges_to_the_share_of_the_range_above_the_threshold() -> None:
    share = 0.28
    s = toy(share)
    reps = 4000
    result = simulate(s, TOY_SCHEDULE, reps=reps, seed=17, engine="fast")
    # base = the whole pool (nobody leaves or is hired), so the target asks for s·B people
    assert np.all(result.base[:, 0, -1] == POOL)
    threshold = share * POOL / ENROL  # p* = 0.56
    analytic = (HIGH - threshold) / (HIGH - LOW)  # 0.6
    p = result.probability_met("t")
    se = math.sqrt(analytic * (1 - analytic) / reps)
    assert abs(p - analytic) < Z_ONE * se + ALLOWANCE, f"P(met) {p:.4f} vs {analytic:.4f}"
    # the replications' own pass rates tell the same story, one by one (luck aside)
    drawn = result.parameters
    assert drawn is not None
    rate = drawn.column("courses.c.exam_pass_probability")
    met = result.attained[:, 0, -1] >= share * POOL - 1e-9
    clear = np.abs(rate - threshold) > 5 * math.sqrt(threshold * (1 - threshold) / ENROL)
    assert np.array_equal(met[clear], rate[clear] > threshold)
    # and the reported interval covers the estimate
    row = result.summary[(result.summary["target"] == "t") & (result.summary["year"] == 2022)]
    assert float(row["probability_met_low95"].iloc[0]) <= p
    assert p <= float(row["probability_met_high95"].iloc[0])


def test_without_ranges_the_toy_is_met_with_certainty_or_not_at_all() -> None:
    # at the stated 0.6 the pool certifies 60,000 ± 155: far above 56,000, far below 64,000
    low = simulate(toy(0.28), TOY_SCHEDULE, reps=300, seed=1, engine="fast", uncertainty="none")
    high = simulate(toy(0.32), TOY_SCHEDULE, reps=300, seed=1, engine="fast", uncertainty="none")
    assert low.probability_met("t") == 1.0
    assert high.probability_met("t") == 0.0


# --------------------------------------------------------------------------- targets together


@pytest.fixture(scope="module")
def long_an() -> tuple[Scenario, pd.DataFrame]:
    s = load_scenario(SCENARIOS / "long_an.yaml")
    assert s.uncertainties.any and s.uncertainties.correlations
    plan = optimize(s)
    assert plan.is_ok
    return s, plan.schedule


def assert_joint_below_each_target(result: SimulationResult, scenario: Scenario) -> None:
    joint = result.joint
    assert joint is not None
    per_target = met_at_year(result, scenario)
    years = sorted({t.year for t in scenario.targets.values()})
    assert list(joint["scope"]) == [*(str(y) for y in years), "all"]
    for row in joint.to_dict("records"):
        scope = row["scope"]
        members = [
            tid for tid, t in scenario.targets.items() if scope == "all" or str(t.year) == scope
        ]
        lowest = min(per_target[tid] for tid in members)
        assert row["targets"] == len(members)
        assert row["lowest_probability_met"] == pytest.approx(lowest)
        assert row["probability_all_met"] <= lowest + 1e-12, scope
        assert row["probability_all_met_low95"] <= row["probability_all_met"]
        assert row["probability_all_met"] <= row["probability_all_met_high95"]
    by_scope = joint.set_index("scope")["probability_all_met"]
    # holding every target is harder than holding those of one milestone
    assert all(by_scope["all"] <= by_scope[str(y)] + 1e-12 for y in years)


def test_on_long_an_with_ranges_all_targets_together_are_no_likelier_than_the_hardest(
    long_an: tuple[Scenario, pd.DataFrame],
) -> None:
    s, sched = long_an
    result = simulate(s, sched, reps=1000, seed=4, engine="fast")
    assert result.uncertainty == "ranges"
    assert_joint_below_each_target(result, s)


def test_independent_targets_hold_together_with_the_product_of_their_probabilities() -> None:
    s = two_targets()
    n = 4000
    result = simulate(s, TWO_SCHEDULE, reps=n, seed=23, engine="fast")
    assert_joint_below_each_target(result, s)
    p = met_at_year(result, s)
    p1, p2 = p["t1"], p["t2"]
    # each alone: p* = 0.6, so 1/2 (as in the closed form above)
    for q in (p1, p2):
        assert abs(q - 0.5) < Z_ONE * math.sqrt(0.25 / n) + ALLOWANCE
    assert result.joint is not None
    joint = float(result.joint.set_index("scope").loc["all", "probability_all_met"])
    # p̂12 − p̂1·p̂2 is the sample covariance of the two indicators; for independent ones its
    # standard error is sqrt(p1 (1 − p1) p2 (1 − p2) / n)
    se = math.sqrt(p1 * (1 - p1) * p2 * (1 - p2) / n)
    assert abs(joint - p1 * p2) < Z_ONE * se, f"joint {joint:.4f} vs product {p1 * p2:.4f}"


def test_correlated_pass_rates_make_targets_hold_together_more_often() -> None:
    rho = 0.9
    s = two_targets(rank_correlation=rho)
    n = 4000
    result = simulate(s, TWO_SCHEDULE, reps=n, seed=23, engine="fast")
    assert_joint_below_each_target(result, s)
    p = met_at_year(result, s)
    assert result.joint is not None
    joint = float(result.joint.set_index("scope").loc["all", "probability_all_met"])
    assert joint > p["t1"] * p["t2"] + 0.1
    # each target holds when its pass rate is above the middle of its range, i.e. when its
    # copula normal is above 0: P(both) = 1/4 + asin(r) / (2π), r = 2 sin(π ρ / 6)
    r = 2 * math.sin(math.pi * rho / 6)
    analytic = 0.25 + math.asin(r) / (2 * math.pi)  # 0.431
    se = math.sqrt(analytic * (1 - analytic) / n)
    assert abs(joint - analytic) < Z_ONE * se + ALLOWANCE, f"joint {joint:.4f} vs {analytic:.4f}"


# --------------------------------------------------------------------------- variance split


def test_without_ranges_there_is_no_variance_to_split() -> None:
    # with nothing drawn every replication's spread is luck: no split is reported (a twin-run
    # estimate would only print noise, a few percent "from the parameters")
    s = toy(share=0.3)
    result = simulate(
        s, TOY_SCHEDULE, reps=500, seed=5, engine="fast", uncertainty="none", split_variance=True
    )
    assert result.parameters is None
    assert result.variance is None


def test_a_wide_pass_rate_on_a_large_pool_puts_the_variance_on_the_parameters() -> None:
    s = toy(share=0.3)
    result = simulate(s, TOY_SCHEDULE, reps=2000, seed=5, engine="fast", split_variance=True)
    v = result.variance
    assert v is not None
    row = v.iloc[0]
    # parameters: N² (b − a)² / 12 ≈ 1.3e8 people²; luck: N p (1 − p) ≈ 2.4e4 people²
    assert row["parameter_share_of_variance"] > 0.9
    expected_sd = ENROL * (HIGH - LOW) / math.sqrt(12)
    assert row["sd_from_parameters_people"] == pytest.approx(expected_sd, rel=0.1)


# --------------------------------------------------------------------------- reproducibility


def by_workers(
    long_an: tuple[Scenario, pd.DataFrame], engine: str
) -> tuple[SimulationResult, SimulationResult]:
    s, sched = long_an
    reps = 600 if engine == "fast" else 6
    kwargs: dict[str, Any] = {"reps": reps, "seed": 9, "engine": engine, "keep_replications": True}
    return simulate(s, sched, workers=1, **kwargs), simulate(s, sched, workers=2, **kwargs)


@pytest.mark.parametrize("engine", ENGINES)
def test_with_ranges_the_number_of_workers_does_not_change_the_replications(
    long_an: tuple[Scenario, pd.DataFrame], engine: str
) -> None:
    one, two = by_workers(long_an, engine)
    assert one.uncertainty == two.uncertainty == "ranges"
    assert one.parameters is not None and two.parameters is not None
    assert one.parameters.values.tobytes() == two.parameters.values.tobytes()
    for k in one.parameters.mixes:
        assert one.parameters.mixes[k].tobytes() == two.parameters.mixes[k].tobytes()
    assert one.attained.tobytes() == two.attained.tobytes()
    assert one.base.tobytes() == two.base.tobytes()
    assert one.cost_vnd.tobytes() == two.cost_vnd.tobytes()
    assert one.summary.equals(two.summary)
    assert one.joint is not None and one.joint.equals(two.joint)
    assert one.replications is not None and one.replications.equals(two.replications)


@pytest.mark.parametrize("engine", ENGINES)
def test_with_ranges_the_number_of_workers_does_not_change_the_yearly_means(
    long_an: tuple[Scenario, pd.DataFrame], engine: str
) -> None:
    # simopt.simulate.run promises output "identical whatever the number of workers". With
    # drawn (non-integer) tuition, each replication's cost is a fraction of a VND, and the
    # yearly mean cost sums the workers' partial sums: equal bytes need one order of addition.
    one, two = by_workers(long_an, engine)
    differs = [c for c in one.yearly.columns if not one.yearly[c].equals(two.yearly[c])]
    assert not differs, f"the yearly means differ with 2 workers in {differs}"


@pytest.mark.parametrize("engine", ENGINES)
def test_with_ranges_the_same_seed_gives_the_same_bytes(
    long_an: tuple[Scenario, pd.DataFrame], engine: str
) -> None:
    s, sched = long_an
    reps = 600 if engine == "fast" else 6
    a = simulate(s, sched, reps=reps, seed=12, engine=engine, split_variance=True)
    b = simulate(s, sched, reps=reps, seed=12, engine=engine, split_variance=True)
    assert same_bytes(a, b)
    assert a.variance is not None and b.variance is not None
    assert a.variance.equals(b.variance)
    c = simulate(s, sched, reps=reps, seed=13, engine=engine)
    assert not np.array_equal(a.attained, c.attained)


# --------------------------------------------------------------------------- the two engines


def small_uncertain() -> Scenario:
    """Two pools, a promotion between them, two courses in a row and ranges on most kinds."""
    return build_scenario(
        {
            "name": "small",
            "horizon": {"start_year": 2021, "end_year": 2023, "milestones": [2022, 2023]},
            "groups": {
                "g": {
                    "pools": {
                        "staff": {
                            "headcount": note(400, 300, 500, "triangular"),
                            "level_shares": {
                                "value": {0: 0.6, 3: 0.3, 4: 0.1},
                                "concentration": 30,
                                "source": "test",
                            },
                            "attrition_rate_per_year": note(0.05, 0.02, 0.1, "pert"),
                            "hires_per_year": note(20, 10, 30),
                            "hire_level_shares": {
                                "value": {0: 0.5, 3: 0.5},
                                "concentration": 20,
                                "source": "test",
                            },
                        },
                        "leaders": {
                            "headcount": 100,
                            "attributes": {"leader": True},
                            "level_shares": {0: 0.5, 3: 0.5},
                        },
                    }
                }
            },
            "promotions": [
                {
                    "from_pool": "staff",
                    "to_pool": "leaders",
                    "rate_per_year": note(0.03, 0.01, 0.05, "triangular"),
                }
            ],
            "courses": {
                "c3": course(
                    note(0.6, 0.4, 0.8, "normal"),
                    completion_rate=note(0.85, 0.7, 0.95, "triangular"),
                    seats_per_year=150,
                ),
                "c4": {
                    **course(note(0.5, 0.3, 0.7, "pert")),
                    "entry_level": 3,
                    "target_level": 4,
                },
            },
            "exams": {
                "session_months": [6, 12],
                "max_attempts": 2,
                "retake_pass_factor": note(0.9, 0.8, 1.0),
            },
            "correlations": [
                {
                    "label": "examiners",
                    "parameters": ["courses.*.exam_pass_probability"],
                    "rank_correlation": 0.6,
                }
            ],
            "targets": {
                "l3": {"groups": ["g"], "min_level": 3, "share": 0.5, "year": 2022},
                "l4": {"groups": ["g"], "min_level": 4, "share": 0.2, "year": 2023},
                "leaders4": {
                    "groups": ["g"],
                    "where": {"leader": True},
                    "min_level": 4,
                    "min_count": 30,
                    "year": 2023,
                },
            },
        }
    )


SMALL_SCHEDULE = schedule(
    (2021, "staff", "c3", 120),
    (2021, "leaders", "c4", 40),
    (2022, "staff", "c3", 120),
    (2022, "staff", "c4", 80),
    (2023, "leaders", "c4", 10),
)


def test_the_engines_agree_in_distribution_with_ranges() -> None:
    s = small_uncertain()
    n = 400
    fast = simulate(s, SMALL_SCHEDULE, reps=n, seed=31, engine="fast")
    slow = simulate(s, SMALL_SCHEDULE, reps=n, seed=31, engine="simpy")
    assert fast.parameters is not None and slow.parameters is not None
    # one seed, one parameter stream: replication i draws the same parameters on both engines
    assert fast.parameters.values.tobytes() == slow.parameters.values.tobytes()
    for i, (tid, t) in enumerate(s.targets.items()):
        y = s.horizon.years.index(t.year)
        for what, a, b in (
            ("attained", fast.attained[:, i, y], slow.attained[:, i, y]),
            ("base", fast.base[:, i, y], slow.base[:, i, y]),
        ):
            # paired by replication: the parameters cancel, only the two engines' luck remains
            diff = a - b
            se = diff.std(ddof=1) / math.sqrt(n)
            assert se > 0, f"{tid} {what}: the engines' luck cannot be identical"
            z = abs(diff.mean()) / se
            assert z < Z_TABLE, (
                f"{tid} {what}: fast {a.mean():.2f}, simpy {b.mean():.2f}, z {z:.2f}"
            )
        # and the spread across replications (parameters and luck together) is alike
        assert fast.attained[:, i, y].std() == pytest.approx(slow.attained[:, i, y].std(), rel=0.2)


# --------------------------------------------------------------------------- parameter designs


def test_a_parameter_design_is_used_as_given() -> None:
    s = toy(share=0.3)
    n = 400
    design = central_parameters(s.uncertainties, n)
    values = design.values.copy()
    column = design.paths.index("courses.c.exam_pass_probability")
    values[: n // 2, column] = LOW
    values[n // 2 :, column] = HIGH
    design = ParameterDraws(design.paths, values, design.mixes)
    result = simulate(s, TOY_SCHEDULE, reps=n, seed=2, engine="fast", parameters=design)
    assert result.uncertainty == "ranges"
    assert result.parameters is design
    attained = result.attained[:, 0, -1]
    first, second = attained[: n // 2], attained[n // 2 :]
    for half, p in ((first, LOW), (second, HIGH)):
        # Binomial(N, p) in every replication
        se = math.sqrt(ENROL * p * (1 - p) / len(half))
        assert abs(half.mean() - ENROL * p) < Z_ONE * se
        assert half.std(ddof=1) == pytest.approx(math.sqrt(ENROL * p * (1 - p)), rel=0.2)
    assert first.max() < second.min()
    # the target asks for 60,000: never met at 0.4, always at 0.8
    met = attained >= 0.3 * POOL
    assert not met[: n // 2].any() and met[n // 2 :].all()
    assert result.probability_met("t") == 0.5


def test_a_design_for_another_number_of_replications_is_refused() -> None:
    s = toy()
    design = central_parameters(s.uncertainties, 10)
    with pytest.raises(ValueError, match="replications"):
        simulate(s, TOY_SCHEDULE, reps=11, seed=0, engine="fast", parameters=design)


# --------------------------------------------------------------------------- drivers


def test_oat_drivers_ranks_the_only_wide_uncertainty_first() -> None:
    pool = {
        "headcount": 20_000,
        "level_shares": {0: 1.0},
        "attrition_rate_per_year": note(0.01, 0.0, 0.02, "triangular"),
        "hires_per_year": note(50, 40, 60),
    }
    s = build_scenario(
        {
            "name": "drivers",
            "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
            "groups": {"g": {"pools": {"p": pool}}},
            "courses": {
                "c": course(
                    note(0.6, LOW, HIGH),
                    completion_rate=note(0.98, 0.96, 1.0, "triangular"),
                    # wide, but money certifies nobody
                    tuition_vnd_per_trainee=note(2e6, 5e5, 8e6, "pert"),
                )
            },
            "exams": {"session_months": [6], "max_attempts": 1},
            "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2022}},
        }
    )
    n = 10_000
    drivers = oat_drivers(s, schedule((2021, "p", "c", n)), seed=0)
    assert set(drivers["path"]) == set(s.uncertainties.ranges)
    top = drivers.iloc[0]
    assert top["path"] == "courses.c.exam_pass_probability"
    # the ends are the distribution's 5% and 95% quantiles (uniform here)
    low, high = LOW + 0.05 * (HIGH - LOW), LOW + 0.95 * (HIGH - LOW)
    assert (top["low_value"], top["high_value"]) == pytest.approx((low, high))
    # the swing is N · completion · (b − a), up to attrition and luck; the base moves by luck only
    assert top["swing_people"] == pytest.approx(n * 0.98 * (high - low), rel=0.05)
    assert top["required_low_people"] == pytest.approx(top["required_high_people"], rel=0.01)
    assert top["attained_high_people"] > top["attained_low_people"]
    assert drivers.iloc[1]["swing_people"] < 0.2 * top["swing_people"]
