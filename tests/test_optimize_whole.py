"""Whole people and whole classes (the default schedule), the best effort under a budget that
cannot meet every target, per-source ceilings that are too tight, and budget envelopes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simopt.cli import main
from simopt.dynamics import compile_dynamics
from simopt.format import vnd
from simopt.optimize import Plan, Status, optimize
from simopt.optimize.envelopes import envelope_table, with_total_ceiling
from simopt.optimize.lp import MONEY_UNIT_VND, build_lp
from simopt.optimize.solve import (
    MIP_REL_GAP,
    SHORTFALL_GAP,
    best_attainment,
    read_attainment,
    run,
    schedule_enrolments,
)
from simopt.reporting.optimize import plan_summary, plan_table
from simopt.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
LONG_AN = SCENARIOS / "long_an.yaml"
QUANG_TRI = SCENARIOS / "quang_tri.yaml"
REL = 1e-6


@pytest.fixture(scope="module")
def long_an() -> Scenario:
    return load_scenario(LONG_AN)


@pytest.fixture(scope="module", params=[LONG_AN, QUANG_TRI], ids=["long_an", "quang_tri"])
def whole(request: pytest.FixtureRequest) -> tuple[Scenario, Plan]:
    scenario = load_scenario(request.param)
    return scenario, optimize(scenario)


def fixed_schedule_feasible(
    scenario: Scenario, plan: Plan, ceiling_vnd: float | None = None, *, targets: bool = True
) -> bool:
    """Whether the schedule, fixed, satisfies every limit of the optimiser's own model: the
    availability of people, the seats, every ceiling and (``targets``) every target in
    expectation. Solved as the continuous model with each enrolment's bounds pinned."""
    d = compile_dynamics(scenario)
    model = build_lp(d, ceiling_vnd=ceiling_vnd, mode="min_cost" if targets else "min_shortfall")
    enrol = schedule_enrolments(d, plan.schedule)
    for (p, c, y), var in model.enrol.items():
        var.lowBound = var.upBound = float(enrol[y, p, c])
    return run(model, "highs") is Status.OPTIMAL


def public_by_year(plan: Plan) -> dict[int, float]:
    costs = plan.costs[plan.costs["public"].astype(bool)]
    return {int(k): float(v) for k, v in costs.groupby("year")["cost_vnd"].sum().items()}


# --------------------------------------------------------------------------- whole people


def test_the_default_plan_is_whole_people_in_whole_classes(whole: tuple[Scenario, Plan]) -> None:
    _, plan = whole
    assert plan.status is Status.OPTIMAL and plan.integer
    assert plan.schedule_kind == "whole_people"
    sched = plan.schedule
    assert sched["enrolments"].dtype == np.int64 and (sched["enrolments"] > 0).all()
    assert not sched.duplicated(["year", "pool", "course"]).any()
    classes = plan.classes
    assert not classes.empty and classes["classes"].notna().all()  # both courses have a size
    assert (classes["classes"] * classes["class_size"] >= classes["trainees"]).all()
    # the fewest classes that seat everyone: no empty class is opened
    assert ((classes["classes"] - 1) * classes["class_size"] < classes["trainees"]).all()
    trainees = sched.groupby(["year", "course"])["enrolments"].sum()
    assert (
        classes.set_index(["year", "course"])["trainees"].sort_index().equals(trainees.sort_index())
    )


def test_the_whole_schedule_keeps_every_limit_and_target(whole: tuple[Scenario, Plan]) -> None:
    scenario, plan = whole
    assert fixed_schedule_feasible(scenario, plan)
    # and projected alone (no limit imposed), it attains what the plan says it does
    d = compile_dynamics(scenario)
    model = build_lp(d, fixed_enrolments=schedule_enrolments(d, plan.schedule))
    assert run(model, "highs") is Status.OPTIMAL
    projected = read_attainment(model)
    assert projected["attained_people"].to_numpy() == pytest.approx(
        plan.attainment["attained_people"].to_numpy(), abs=1e-4
    )
    at = projected[projected["year"] == projected["target_year"]]
    assert at["met"].all(), at[~at["met"]]


def test_seats_are_never_exceeded(whole: tuple[Scenario, Plan]) -> None:
    scenario, plan = whole
    taken = plan.schedule.groupby(["course", "year"])["enrolments"].sum()
    for (course, _), n in taken.items():
        seats = scenario.courses[course].capacity_per_year
        assert seats is None or n <= seats


def test_the_rounding_premium_and_the_gap_are_reported(whole: tuple[Scenario, Plan]) -> None:
    scenario, plan = whole
    continuous = optimize(scenario, continuous=True)
    assert continuous.integer is False and continuous.lp_cost_vnd is None
    assert plan.lp_cost_vnd == pytest.approx(continuous.total_cost_vnd, rel=1e-9)
    assert plan.total_cost_vnd is not None and plan.rounding_premium_vnd is not None
    assert plan.rounding_premium_vnd >= 0
    # no discount rate: the premium is the cost difference, and it is small
    assert plan.rounding_premium_vnd == pytest.approx(
        plan.total_cost_vnd - plan.lp_cost_vnd, abs=1.0
    )
    assert plan.mip_gap is not None and 0 <= plan.mip_gap <= MIP_REL_GAP
    assert plan.total_cost_vnd - (plan.mip_bound_vnd or 0) <= MIP_REL_GAP * plan.total_cost_vnd
    assert plan.mip_bound_vnd is not None
    assert plan.lp_cost_vnd <= plan.mip_bound_vnd * (1 + 1e-9) <= plan.total_cost_vnd * (1 + 2e-9)
    summary = plan_summary(plan, scenario)
    assert summary["rounding_premium_vnd"] == plan.rounding_premium_vnd
    assert summary["mip_gap"] == plan.mip_gap and summary["lp_cost_vnd"] == plan.lp_cost_vnd
    table = plan_table(plan, scenario)
    assert (
        f"rounding premium of whole people and classes: {vnd(plan.rounding_premium_vnd)}" in table
    )


def test_schedule_money_adds_up_by_row_source_and_year(whole: tuple[Scenario, Plan]) -> None:
    scenario, plan = whole
    sched = plan.schedule
    sources = [c for c in sched.columns if c.startswith("cost_vnd:")]
    assert [c.removeprefix("cost_vnd:") for c in sources] == list(scenario.funding_sources)
    assert sched["cost_vnd"].to_numpy() == pytest.approx(sched[sources].sum(axis=1).to_numpy())
    public = [f"cost_vnd:{k}" for k, v in scenario.funding_sources.items() if v.public]
    assert sched["public_cost_vnd"].to_numpy() == pytest.approx(
        sched[public].sum(axis=1).to_numpy()
    )
    by_source = plan.costs.groupby("funding_source")["cost_vnd"].sum()
    for column in sources:
        source = column.removeprefix("cost_vnd:")
        assert float(sched[column].sum()) == pytest.approx(float(by_source.get(source, 0.0)))
    assert float(sched["cost_vnd"].sum()) == pytest.approx(plan.total_cost_vnd, rel=REL)


def per_class_cost(path: Path, per_class: float, **more: str) -> Scenario:
    return load_scenario(
        path,
        overrides={
            "courses.level3.cost_vnd_per_class": str(per_class),
            "courses.level4.cost_vnd_per_class": str(per_class),
            **more,
        },
    )


def test_classes_paid_per_class_are_whole_and_split_by_who_sits_in_them() -> None:
    scenario = per_class_cost(LONG_AN, 90_000_000)
    plan = optimize(scenario)
    assert plan.status is Status.OPTIMAL
    classes = plan.classes.set_index(["year", "course"])
    paid = plan.costs[plan.costs["item"] == "classes"].groupby(["year", "course"])["cost_vnd"]
    for key, cost in paid.sum().items():
        n = int(classes.loc[key, "classes"])
        assert cost == pytest.approx(n * 90_000_000, rel=REL), key
        assert n * 30 >= classes.loc[key, "trainees"] > (n - 1) * 30, key
    # Each trainee's seat is paid by the trainee's group's sources, the empty seats of the last
    # class by the mean shares of the pools the course is open to (lp.py says why)
    d = compile_dynamics(scenario)
    seat = 90_000_000 / 30
    rows = plan.costs[plan.costs["item"] == "classes"]
    checked_full = False
    for (year, course), sched in plan.schedule.groupby(["year", "course"]):
        trainees = int(sched["enrolments"].sum())
        empty = int(classes.loc[(year, course), "classes"]) * 30 - trainees
        c = d.course_ids.index(course)
        fill = d.funding[d.allowed[:, c]].mean(axis=0)
        paid = rows[(rows["year"] == year) & (rows["course"] == course)]
        for s, source in enumerate(d.source_ids):
            seats = sum(
                int(r["enrolments"]) * seat * float(d.funding[d.pool_index(r["pool"]), s])
                for r in sched.to_dict("records")
            )
            got = float(paid.loc[paid["funding_source"] == source, "cost_vnd"].sum())
            assert got == pytest.approx(seats + empty * seat * float(fill[s]), rel=1e-9, abs=1e-3)
        if empty == 0 and "public_employees" in set(sched["group"]):
            # full classes: public employees' seats never touch the state budget
            pe = paid[paid["group"] == "public_employees"]
            assert set(pe["funding_source"]) == {"unit_funds", "trainee_contribution"}
            checked_full = True
    assert checked_full
    # whole classes cost more than the continuous per-seat view: a premium ≥ 0, and the
    # schedule is within the solver's gap of its bound on the best whole-class plan
    assert plan.rounding_premium_vnd is not None and plan.rounding_premium_vnd >= 0
    assert plan.mip_bound_vnd is not None and plan.total_cost_vnd is not None
    assert plan.total_cost_vnd - plan.mip_bound_vnd <= MIP_REL_GAP * plan.total_cost_vnd


def test_a_whole_schedule_simulates_to_its_projection() -> None:
    # Half the whole-people plan (whole people still) touches no availability or seat limit:
    # there the simulated mean of every target lies within a few standard errors of the
    # optimiser's projection of the very same schedule (at a limit it falls a little below,
    # E[min(X, n)] < n: see expectation_note)
    from simopt.simulate import simulate

    scenario = load_scenario(LONG_AN)
    d = compile_dynamics(scenario)
    half = optimize(scenario).schedule.copy()
    half["enrolments"] = half["enrolments"] // 2
    half = half[half["enrolments"] > 0]
    model = build_lp(d, fixed_enrolments=schedule_enrolments(d, half))
    assert run(model, "highs") is Status.OPTIMAL
    projected = read_attainment(model)
    result = simulate(scenario, half, reps=1000, seed=3, uncertainty="none")
    sim = result.summary.set_index(["target", "year"])
    for r in projected.to_dict("records"):
        row = sim.loc[(r["target"], r["year"])]
        se = float(row["sd_attained_people"]) / math.sqrt(result.reps)
        gap = float(row["mean_attained_people"]) - r["attained_people"]
        assert abs(gap) <= 4.5 * se + 1e-9, (r["target"], r["year"], gap, se)


def test_continuous_plans_are_what_they_were() -> None:
    # the relaxation: fractions of people, classes as the fraction of a class paid for
    scenario = load_scenario(LONG_AN)
    plan = optimize(scenario, continuous=True)
    assert plan.schedule_kind == "continuous"
    assert plan.schedule["enrolments"].dtype == np.float64
    assert not (plan.schedule["enrolments"] == plan.schedule["enrolments"].round()).all()
    c = plan.classes
    assert c["classes"].to_numpy() == pytest.approx((c["trainees"] / c["class_size"]).to_numpy())
    assert plan.rounding_premium_vnd is None and plan.mip_gap is None


# --------------------------------------------------------------------------- best effort


@pytest.fixture(scope="module")
def best_effort_4e10(long_an: Scenario) -> Plan:
    return optimize(long_an, ceiling_vnd=4e10)


def test_a_ceiling_too_low_gives_the_best_effort_in_whole_people(
    long_an: Scenario, best_effort_4e10: Plan
) -> None:
    plan = best_effort_4e10
    assert plan.status is Status.INFEASIBLE and plan.cause == "ceiling"
    assert plan.best_effort and plan.schedule_kind == "best_effort"
    assert plan.total_cost_vnd is None  # no plan meets the targets
    assert plan.best_effort_cost_vnd == pytest.approx(float(plan.costs["cost_vnd"].sum()))
    assert plan.smallest_ceiling_vnd is not None and plan.smallest_ceiling_vnd > 4e10
    assert plan.schedule["enrolments"].dtype == np.int64 and not plan.schedule.empty
    # within the ceiling every year, the exam fees after the horizon included
    spent = public_by_year(plan)
    assert max(spent) == long_an.horizon.end_year + 1
    assert max(spent.values()) <= 4e10 * (1 + 1e-9)
    assert fixed_schedule_feasible(long_an, plan, 4e10, targets=False)
    # what it reaches, target by target, and what is short
    at = plan.attainment[plan.attainment["year"] == plan.attainment["target_year"]]
    assert set(plan.unmet_targets) == set(at.loc[~at["met"], "target"]) >= {"pe_2025", "pe_2030"}


def test_the_best_effort_is_within_its_gap_of_the_least_shortfall(
    long_an: Scenario, best_effort_4e10: Plan
) -> None:
    d = compile_dynamics(long_an)

    def weighted(att: pd.DataFrame) -> float:
        at = att[att["year"] == att["target_year"]]
        total = 0.0
        for r in at.to_dict("records"):
            t = long_an.targets[r["target"]]
            need = max(float(t.required(long_an.eligible_base(t))), 1.0)
            total += r["shortfall_people"] * 1e4 / need
        return total

    lp = best_attainment(d, ceiling_vnd=4e10, solver="highs")
    whole_people = weighted(best_effort_4e10.attainment)
    assert weighted(lp) <= whole_people + 1e-6 <= weighted(lp) + SHORTFALL_GAP + 1e-6


def test_the_smallest_ceiling_of_whole_people_is_enough(
    long_an: Scenario, best_effort_4e10: Plan
) -> None:
    smallest = best_effort_4e10.smallest_ceiling_vnd
    assert smallest is not None
    again = optimize(long_an, ceiling_vnd=smallest * 1.0001)
    assert again.status is Status.OPTIMAL and again.integer, again.message
    assert max(public_by_year(again).values()) <= smallest * 1.0001 * (1 + 1e-9)


def test_the_best_effort_table_and_summary_say_what_it_is(
    long_an: Scenario, best_effort_4e10: Plan
) -> None:
    summary = plan_summary(best_effort_4e10, long_an)
    assert summary["schedule_kind"] == "best_effort" and summary["status"] == "infeasible"
    assert summary["cost_by_year"] and summary["enrolments_by_year"]
    assert summary["best_effort_cost_vnd"] == best_effort_4e10.best_effort_cost_vnd
    assert "rounding_premium_vnd" not in summary and "shadow_prices" not in summary
    table = plan_table(best_effort_4e10, long_an)
    assert "BEST EFFORT — NOT A PLAN MEETING THE TARGETS" in table
    assert "What the best-effort schedule reaches" in table and "Spending by year:" in table


# --------------------------------------------------------------------------- source ceilings


@pytest.mark.parametrize(
    ("path", "source"),
    [(LONG_AN, "state_budget"), (LONG_AN, "unit_funds"), (QUANG_TRI, "state_budget")],
    ids=["long_an-state", "long_an-units", "quang_tri-state"],
)
@pytest.mark.parametrize("continuous", [True, False], ids=["continuous", "whole"])
def test_a_source_ceiling_too_tight_is_named_with_what_it_needs(
    path: Path, source: str, continuous: bool
) -> None:
    # Long An's state budget at 1e9 a year used to end "not_solved" (HiGHS: Solve error):
    # asked as least shortfall first, no solver has to prove infeasibility
    key = f"budget.source_ceilings_vnd_per_year.{source}"
    scenario = load_scenario(path, overrides={key: "1e9"})
    plan = optimize(scenario, continuous=continuous)
    assert plan.status is Status.INFEASIBLE, plan.message
    assert plan.cause == "source_ceiling"
    assert f"the ceiling on {source} ({vnd(1e9)} a year)" in plan.message
    need = float(plan.message.rsplit("at least ", 1)[1].split(" đ")[0].replace(".", ""))
    assert need > 1e9
    assert plan.best_effort
    spent = plan.costs[plan.costs["funding_source"] == source].groupby("year")["cost_vnd"].sum()
    assert spent.max() <= 1e9 * (1 + 1e-9)
    if continuous:  # what it needs is enough (whole people: see the next test)
        enough = load_scenario(path, overrides={key: str(need * 1.0001)})
        assert optimize(enough, continuous=True).status is Status.OPTIMAL


def test_a_source_ceiling_need_in_whole_people_is_enough() -> None:
    key = "budget.source_ceilings_vnd_per_year.unit_funds"
    plan = optimize(load_scenario(LONG_AN, overrides={key: "1e9"}))
    need = float(plan.message.rsplit("at least ", 1)[1].split(" đ")[0].replace(".", ""))
    enough = optimize(load_scenario(LONG_AN, overrides={key: str(need * 1.0001)}))
    assert enough.status is Status.OPTIMAL and enough.integer, enough.message


# --------------------------------------------------------------------------- envelopes


def with_envelope(ceiling: float, first: int = 2021, last: int = 2025, **more: Any) -> Scenario:
    extra = "".join(f", {k}: {v}" for k, v in more.items())
    value = f"{{phase1: {{first_year: {first}, last_year: {last}, ceiling_vnd: {ceiling}{extra}}}}}"
    return load_scenario(LONG_AN, overrides={"budget.envelopes": value})


@pytest.fixture(scope="module")
def free_public(long_an: Scenario) -> dict[int, float]:
    """Long An's whole-people plan's public spending by year, with no ceiling at all."""
    return public_by_year(optimize(long_an))


@pytest.mark.parametrize("continuous", [True, False], ids=["continuous", "whole"])
def test_an_envelope_that_binds_is_kept_and_costs_more(
    long_an: Scenario, free_public: dict[int, float], continuous: bool
) -> None:
    phase1 = sum(v for y, v in free_public.items() if 2021 <= y <= 2025)
    scenario = with_envelope(round(0.95 * phase1))
    plan = optimize(scenario, continuous=continuous)
    assert plan.status is Status.OPTIMAL, plan.message
    spent = sum(v for y, v in public_by_year(plan).items() if 2021 <= y <= 2025)
    assert spent <= round(0.95 * phase1) * (1 + 1e-9)
    free = optimize(long_an, continuous=continuous)
    assert plan.total_cost_vnd is not None and free.total_cost_vnd is not None
    assert plan.total_cost_vnd >= free.total_cost_vnd * (1 - 1e-9)
    # the summary and the table set the phase's money against its envelope
    (row,) = plan_summary(plan, scenario)["envelopes"]
    assert {k: row[k] for k in ("envelope", "first_year", "last_year", "source", "within")} == {
        "envelope": "phase1",
        "first_year": 2021,
        "last_year": 2025,
        "source": "public",
        "within": True,
    }
    assert row["ceiling_vnd"] == round(0.95 * phase1)
    assert row["spent_vnd"] == pytest.approx(spent, rel=1e-12)
    assert row["headroom_vnd"] == pytest.approx(row["ceiling_vnd"] - spent, abs=1.0)
    assert f"phase1 (public, 2021–2025): {vnd(spent)} of" in plan_table(plan, scenario)
    if not continuous:
        assert fixed_schedule_feasible(scenario, plan)


def test_an_envelope_too_low_is_named_with_what_it_needs(free_public: dict[int, float]) -> None:
    scenario = with_envelope(1e11)
    plan = optimize(scenario, continuous=True)
    assert plan.status is Status.INFEASIBLE and plan.cause == "envelope"
    assert "the budget envelope phase1 (public spending 2021–2025 at most 100.000.000.000 đ)" in (
        plan.message
    )
    need = float(plan.message.rsplit("at least ", 1)[1].split(" đ")[0].replace(".", ""))
    assert optimize(with_envelope(need * 1.0001), continuous=True).status is Status.OPTIMAL
    assert plan.best_effort
    table = envelope_table(plan, scenario)
    assert float(table["spent_vnd"].iloc[0]) <= 1e11 * (1 + 1e-9)


def test_an_envelope_of_one_source_counts_that_source_only(free_public: dict[int, float]) -> None:
    scenario = with_envelope(2e11, 2021, 2031, source="unit_funds")
    plan = optimize(scenario, continuous=True)
    assert plan.cause == "envelope" and "(unit_funds 2021–2031 at most" in plan.message
    spent = plan.costs[plan.costs["funding_source"] == "unit_funds"]["cost_vnd"].sum()
    assert spent <= 2e11 * (1 + 1e-9)
    assert envelope_table(plan, scenario)["source"].tolist() == ["unit_funds"]


def test_the_total_ceiling_counts_the_fees_after_the_horizon(
    long_an: Scenario, free_public: dict[int, float]
) -> None:
    total = sum(free_public.values())
    assert max(free_public) == 2031  # retakes of the last intakes fall in 2031
    tight = with_total_ceiling(long_an, total - 0.5 * free_public[2031])
    plan = optimize(tight)
    spent = sum(public_by_year(plan).values()) if plan.is_ok or plan.best_effort else math.inf
    assert spent <= (total - 0.5 * free_public[2031]) * (1 + 1e-9)
    assert (plan.total_cost_vnd or math.inf) > 0
    # far too low: named, with what it needs, which is enough
    low = optimize(with_total_ceiling(long_an, 3e11), continuous=True)
    assert low.cause == "envelope" and "the total ceiling (public spending 2021–2031" in low.message
    need = float(low.message.rsplit("at least ", 1)[1].split(" đ")[0].replace(".", ""))
    assert optimize(with_total_ceiling(long_an, need * 1.0001), continuous=True).is_ok


def test_ceilings_that_bind_only_together_are_named_together(long_an: Scenario) -> None:
    scenario = with_total_ceiling(
        load_scenario(LONG_AN, overrides={"budget.ceiling_vnd_per_year": "5e10"}), 3e11
    )
    plan = optimize(scenario, continuous=True)
    assert plan.cause == "ceilings", plan.message
    assert plan.message.startswith("the budget ceilings bind together")
    assert "the yearly ceiling on public spending (50.000.000.000 đ)" in plan.message
    assert "the total ceiling" in plan.message


def test_the_envelopes_hold_in_the_lp_and_not_in_projections(long_an: Scenario) -> None:
    scenario = with_total_ceiling(with_envelope(2e11), 4e11)
    d = compile_dynamics(scenario)
    model = build_lp(d)
    assert set(model.envelope_rows) == {"phase1"} and model.total_row is not None
    projected = build_lp(d, fixed_enrolments=np.zeros((len(d.years), d.n_pools, d.n_courses)))
    assert not projected.envelope_rows and projected.total_row is None
    lifted = build_lp(d, ceilings=False)
    assert not lifted.envelope_rows and lifted.total_row is None
    row = model.envelope_rows["phase1"]
    assert -row.constant == pytest.approx(2e11 / MONEY_UNIT_VND)


def test_total_ceiling_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    run_dir = tmp_path / "run"
    args = ["optimize", str(LONG_AN), "--total-ceiling-vnd", "3e11"]
    assert main([*args, "--out", str(run_dir), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["cause"] == "envelope" and summary["schedule_kind"] == "best_effort"
    assert summary["integer"] is True
    (total,) = summary["envelopes"]
    assert total["envelope"] == "total" and (total["first_year"], total["last_year"]) == (
        2021,
        2031,
    )
    assert total["spent_vnd"] <= 3e11 * (1 + 1e-9)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"]["total_ceiling_vnd"] == 3e11
    assert manifest["scenarios"][0]["resolved"]["budget"]["total_ceiling_vnd"] == 3e11
    # whole people and their best effort come out the same on a rerun, table for table
    assert main(["rerun", str(run_dir), "--out", str(tmp_path / "again")]) == 0


def test_envelopes_are_set_with_set_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = "budget.envelopes={p1: {first_year: 2021, last_year: 2025, ceiling_vnd: 1e11}}"
    args = ["optimize", str(LONG_AN), "--continuous", "--set", env, "--out", str(tmp_path)]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "the budget envelope p1 (public spending 2021–2025 at most 100.000.000.000 đ)" in out
    assert "p1 (public, 2021–2025):" in out
    costs = pd.read_csv(tmp_path / "costs.csv")
    spent = costs[costs["public"] & costs["year"].between(2021, 2025)]["cost_vnd"].sum()
    assert spent == pytest.approx(1e11, rel=1e-6)  # the best effort spends it all, no more
