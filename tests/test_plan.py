"""The robust planning loop: it ends, it holds up on fresh randomness, and it costs sensibly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simopt.cli import main
from simopt.plan import robust_ceiling, robust_plan, target_gaps
from simopt.scenario import Scenario, load_scenario
from simopt.simulate import simulate

LONG_AN = "scenarios/long_an.yaml"
REPS = 400


@pytest.fixture(scope="module")
def long_an() -> Scenario:
    return load_scenario(LONG_AN)


@pytest.fixture(scope="module")
def robust90(long_an: Scenario):  # type: ignore[no-untyped-def]
    return robust_plan(long_an, confidence=0.9, reps=REPS, seed=11)


def test_loop_ends_with_every_target_held(robust90) -> None:  # type: ignore[no-untyped-def]
    assert robust90.status == "met"
    assert robust90.rounds >= 1  # the expected-value plan alone is not enough
    table = robust90.comparison()
    assert (table["probability_met"] >= 0.9).all()
    # the expected-value plan meets targets about half the time, the point of the loop
    assert (table["probability_met_before"] < 0.9).any()


def test_robust_plan_holds_in_a_fresh_simulation(long_an: Scenario, robust90) -> None:  # type: ignore[no-untyped-def]
    assert robust90.robust is not None
    fresh = simulate(long_an, robust90.robust.schedule, reps=1000, seed=987654, engine="simpy")
    at = fresh.summary[fresh.summary["year"] == fresh.summary["target_year"]]
    # 1000 fresh replications: a true probability of 0.9 reads at least 0.9 − 3·0.0095
    assert (at["probability_met"] >= 0.9 - 3 * np.sqrt(0.9 * 0.1 / 1000)).all(), at


def test_robust_plan_costs_more_than_expected_value_plan(robust90) -> None:  # type: ignore[no-untyped-def]
    assert robust90.extra_cost_vnd is not None and robust90.extra_cost_vnd > 0
    assert robust90.extra_people is not None and robust90.extra_people > 0
    assert all(b >= 0 for b in robust90.buffers.values())


def test_lower_confidence_never_costs_more(long_an: Scenario) -> None:
    costs = []
    for confidence in (0.6, 0.8, 0.95):
        r = robust_plan(long_an, confidence=confidence, reps=REPS, seed=5)
        assert r.status == "met"
        assert r.robust is not None and r.robust.total_cost_vnd is not None
        costs.append(r.robust.total_cost_vnd)
    assert costs[0] <= costs[1] + 1.0 <= costs[2] + 2.0, costs


def test_gaps_are_attained_minus_required(long_an: Scenario, robust90) -> None:  # type: ignore[no-untyped-def]
    from simopt.dynamics import compile_dynamics

    d = compile_dynamics(long_an)
    assert robust90.after is not None
    gaps = target_gaps(d, robust90.after)
    summary = robust90.after.summary
    for tid, g in gaps.items():
        row = summary[(summary["target"] == tid) & (summary["year"] == summary["target_year"])]
        assert float(np.mean(g >= -1e-9)) == pytest.approx(float(row["probability_met"].iloc[0]))


def test_a_ceiling_too_low_is_explained(long_an: Scenario) -> None:
    r = robust_plan(long_an, confidence=0.9, reps=200, seed=1, ceiling_vnd=1e10)
    assert r.status == "infeasible"
    assert "ceiling" in r.message
    assert r.robust is None


def test_a_ceiling_just_above_the_expected_one_is_not_enough_for_confidence(
    long_an: Scenario,
) -> None:
    from simopt.dynamics import compile_dynamics
    from simopt.optimize.solve import smallest_ceiling

    expected = smallest_ceiling(compile_dynamics(long_an), solver="highs")
    assert expected is not None
    found = robust_ceiling(long_an, confidence=0.9, reps=REPS, seed=3)
    assert found.ceiling_vnd is not None, found.message
    assert found.ceiling_vnd > expected
    assert found.plan is not None and found.plan.is_met


def test_confidence_outside_zero_one_is_refused(long_an: Scenario) -> None:
    with pytest.raises(ValueError, match="confidence"):
        robust_plan(long_an, confidence=1.0)


def test_cli_plan_json_has_probability_beside_expected(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(["plan", LONG_AN, "--reps", "300", "--seed", "2", "--out", str(tmp_path), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "met"
    assert {r["target"] for r in out["targets"]} == set(load_scenario(LONG_AN).targets)
    for row in out["targets"]:
        assert 0.0 <= row["probability_met"] <= 1.0
        assert row["expected_attained_people"] > 0
    for name in ("schedule.csv", "schedule_expected_value.csv", "targets.csv", "plan.json"):
        assert (tmp_path / name).is_file()


def test_cli_set_is_validated_like_the_file(capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(["plan", LONG_AN, "--set", "courses.level4.exam_pass_probabilty=0.5"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "courses.level4.exam_pass_probabilty" in err and "did you mean" in err
    assert "Traceback" not in err
    rc = main(["plan", LONG_AN, "--set", "courses.level4.exam_pass_probability=1.5"])
    err = capsys.readouterr().err
    assert rc == 2 and "exam_pass_probability = 1.5" in err and "between 0 and 1" in err


def test_cli_set_changes_the_answer(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path / "base"
    harder = tmp_path / "harder"
    assert main(["plan", LONG_AN, "--reps", "200", "--out", str(base), "--json"]) == 0
    assert (
        main(
            [
                "plan",
                LONG_AN,
                "--reps",
                "200",
                "--out",
                str(harder),
                "--json",
                "--set",
                "courses.level4.exam_pass_probability=0.5",
            ]
        )
        == 0
    )
    capsys.readouterr()
    cost = [
        json.loads((p / "plan.json").read_text())["robust_plan"]["total_cost_vnd"]
        for p in (base, harder)
    ]
    assert cost[1] > cost[0]


def test_cli_compare_prints_one_column_per_scenario(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["compare", LONG_AN, "scenarios/quang_tri.yaml", "--reps", "200", "--json"]
    assert main([*args, "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "compare.csv").is_file()
    assert len(json.loads((tmp_path / "cmp" / "manifest.json").read_text())["scenarios"]) == 2
    table = json.loads(capsys.readouterr().out)
    assert set(table["status"]) == {"long_an", "quang_tri"}
    assert "pe_2025 (2025): probability met" in table


# --------------------------------------------------------------------------- both uncertainties


def test_the_plan_counts_the_ranges_and_holds_on_a_fresh_seed(long_an: Scenario, robust90) -> None:  # type: ignore[no-untyped-def]
    from simopt.plan import fresh_tolerance

    assert long_an.uncertainties.any
    assert robust90.uncertainty == "ranges"
    assert robust90.after is not None and robust90.after.parameters is not None
    assert robust90.robust is not None
    # an analyst's own check: other seed, other parameter draws, the simpy engine
    fresh = simulate(long_an, robust90.robust.schedule, reps=1000, seed=4242, engine="simpy")
    assert fresh.parameters is not None
    at = fresh.summary[fresh.summary["year"] == fresh.summary["target_year"]]
    floor = 0.9 - fresh_tolerance(0.9, 1000, len(at))
    assert (at["probability_met"] >= floor).all(), at[["target", "probability_met"]]


def test_luck_alone_would_have_been_cheaper_and_overconfident(long_an: Scenario, robust90) -> None:  # type: ignore[no-untyped-def]
    luck = robust_plan(long_an, confidence=0.9, reps=REPS, seed=11, uncertainty="none")
    assert luck.is_met and luck.uncertainty == "none"
    assert luck.robust is not None and robust90.robust is not None
    assert luck.robust.total_cost_vnd < robust90.robust.total_cost_vnd
    # judged with the ranges drawn, the luck-only plan falls well short of 90%
    judged = simulate(long_an, luck.robust.schedule, reps=1000, seed=99, engine="fast")
    at = judged.summary[judged.summary["year"] == judged.summary["target_year"]]
    assert at["probability_met"].min() < 0.8


def test_joint_confidence_holds_all_targets_together(long_an: Scenario, robust90) -> None:  # type: ignore[no-untyped-def]
    from simopt.plan import fresh_tolerance

    joint = robust_plan(long_an, confidence=0.9, reps=REPS, seed=11, joint=True)
    assert joint.is_met and joint.joint
    assert joint.confirmed is not None and joint.confirmed.joint is not None
    overall = joint.confirmed.joint.set_index("scope").loc["all"]
    assert overall["probability_all_met"] >= 0.9 - fresh_tolerance(0.9, joint.confirmed.reps, 1)
    # per target at 90% is not all together at 90%
    assert robust90.confirmed is not None and robust90.confirmed.joint is not None
    per_target_joint = robust90.confirmed.joint.set_index("scope").loc["all"]
    assert per_target_joint["probability_all_met"] < 0.85
    assert joint.robust is not None and robust90.robust is not None
    assert joint.robust.total_cost_vnd > robust90.robust.total_cost_vnd


def test_the_last_round_is_checked(long_an: Scenario, robust90) -> None:  # type: ignore[no-untyped-def]
    # a loop that needed k rounds must also succeed when allowed exactly k
    k = robust90.rounds
    assert k >= 1
    again = robust_plan(long_an, confidence=0.9, reps=REPS, seed=11, max_rounds=k)
    assert again.status == "met", again.message
    assert again.robust is not None and robust90.robust is not None
    assert again.robust.total_cost_vnd == pytest.approx(robust90.robust.total_cost_vnd)


def test_a_binding_seat_limit_is_named(long_an: Scenario) -> None:
    tight = load_scenario(LONG_AN, overrides={"courses.level4.seats_per_year": "3600"})
    r = robust_plan(tight, confidence=0.9, reps=200, seed=1)
    assert r.status == "not_met"
    assert "seats bind" in r.message and "level4" in r.message


def test_cli_plan_reports_what_its_probabilities_rest_on(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(["plan", LONG_AN, "--reps", "200", "--seed", "3", "--out", str(tmp_path), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["uncertainty"] == "ranges" and "unknown parameters" in out["basis"]
    scopes = {row["scope"] for row in out["probability_all_met"]}
    assert scopes == {"2025", "2030", "all"}
    overall = next(r for r in out["probability_all_met"] if r["scope"] == "all")
    assert overall["probability_all_met"] <= overall["lowest_probability_met"]
    assert {(r["kind"], r["confidence"]) for r in out["price_of_confidence"]} == {
        (k, c) for k in ("per_target", "joint") for c in (0.5, 0.75, 0.9, 0.95)
    }
    assert {r["target"] for r in out["variance"]} == set(load_scenario(LONG_AN).targets)
    assert out["drivers"] and set(out["at_risk"]) <= {r["target"] for r in out["drivers"]}
    assert out["fresh_seed"] not in (None, 3, 4)
    for name in ("probability_all_met.csv", "price_of_confidence.csv", "drivers.csv"):
        assert (tmp_path / name).is_file()
    # the judging sample's draws, one row a replication: an analyst can redo the sums
    import pandas as pd

    drawn = pd.read_csv(tmp_path / "parameters.csv")
    assert len(drawn) == 200 and "courses.level4.exam_pass_probability" in drawn.columns


def test_cli_plan_says_why_a_confidence_is_out_of_reach(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["plan", LONG_AN, "--reps", "200", "--no-price", "--out", str(tmp_path)]
    rc = main([*args, "--set", "courses.level4.seats_per_year=3600"])
    text = capsys.readouterr().out
    assert rc == 1
    assert "the course seats bind" in text
    assert "Why 90% is out of reach:" in text
    assert "its chances rest most on" in text


def test_cli_plan_luck_only_says_it_overstates(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["plan", LONG_AN, "--reps", "200", "--no-price", "--out", str(tmp_path)]
    assert main([*args, "--uncertainty", "none"]) == 0
    text = capsys.readouterr().out
    assert "only the luck of individuals" in text and "overstate" in text
    assert not (tmp_path / "parameters.csv").exists()


def test_the_plan_reported_is_whole_people_and_is_what_was_simulated(
    long_an: Scenario,
    robust90,  # type: ignore[no-untyped-def]
) -> None:
    # the tuning rounds are continuous, but the expected-value plan and the robust plan are
    # whole people, and every probability reported is a simulation of that very schedule
    assert robust90.expected.integer and robust90.robust.integer
    for plan in (robust90.expected, robust90.robust):
        assert plan.schedule["enrolments"].dtype == np.int64
    before = simulate(long_an, robust90.expected.schedule, reps=REPS, seed=11, engine="fast")
    assert before.summary.equals(robust90.before.summary)
    after = simulate(
        long_an, robust90.robust.schedule, reps=robust90.after.reps, seed=11, engine="fast"
    )
    assert after.summary.equals(robust90.after.summary)
    fresh = robust90.confirmed
    again = simulate(
        long_an,
        robust90.robust.schedule,
        reps=fresh.reps,
        seed=fresh.seed,
        engine="fast",
        split_variance=True,
    )
    assert again.summary.equals(fresh.summary)


def test_the_plan_can_be_asked_in_fractions_of_people(long_an: Scenario) -> None:
    r = robust_plan(long_an, confidence=0.6, reps=REPS, seed=5, continuous=True)
    assert r.status == "met"
    assert r.robust is not None and not r.robust.integer and not r.expected.integer
    assert r.robust.schedule["enrolments"].dtype == np.float64


def test_a_ladder_reuses_its_expected_value_plan(long_an: Scenario, robust90) -> None:  # type: ignore[no-untyped-def]
    from simopt.price import price_of_confidence

    ladder = price_of_confidence(
        long_an,
        levels=(0.75, 0.9),
        kinds=("per_target",),
        reps=REPS,
        seed=11,
        known={(0.9, "per_target"): robust90},
    )
    assert ladder["status"].tolist() == ["met", "met"]
    # both rungs' extra cost is over the same whole-people expected-value plan
    cost = robust90.expected.total_cost_vnd
    assert (ladder["cost_vnd"] - ladder["extra_cost_vnd"]).tolist() == pytest.approx([cost, cost])
