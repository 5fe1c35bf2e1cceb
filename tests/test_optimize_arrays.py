"""The array-built minimum-cost program against ``optimize(continuous=True)``: the same cost and
attainment on the shipped scenarios, under every kind of ceiling, with margins, on a national
scenario and on random small worlds."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pulp
import pytest
from conftest import long_an_data
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from simopt.dynamics import Dynamics, compile_dynamics
from simopt.national import write_national
from simopt.optimize import Plan, arrays, optimize
from simopt.optimize.arrays import MinimumCost, minimum_cost
from simopt.optimize.lp import build_lp
from simopt.scenario import build_scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
COST_REL = 1e-7
SHARE_ABS = 1e-7
"""Attainment shares agree to this (a share of one person in ten million)."""


def reference(d: Dynamics, **kwargs: Any) -> Plan:
    return optimize(None, dynamics=d, continuous=True, **kwargs)


def attainment_of(plan: Plan, d: Dynamics) -> dict[str, float]:
    """What the plan's attainment table says at each target's year: the share, or the people
    for a target with a minimum count only."""
    table = plan.attainment
    at_year = table[table["year"] == table["target_year"]].set_index("target")
    out = {}
    for tid, target in d.scenario.targets.items():
        column = "attained_share" if target.share is not None else "attained_people"
        out[tid] = float(at_year.loc[tid, column])
    return out


def least_weighted_cost(
    d: Dynamics, attainment: dict[str, float] | None = None, **kwargs: Any
) -> float:
    """The minimum-cost program's optimum (build_lp's objective), optionally with some targets
    held at the given attainment (a share, or the people for a count-only target)."""
    model = build_lp(d, mode="min_cost", **kwargs)
    for tid, reached in (attainment or {}).items():
        target = d.scenario.targets[tid]
        y = d.years.index(target.year)
        if target.share is None:
            model.prob += model.attained(tid, y) == reached, f"held_{tid}"
        else:
            held = model.attained(tid, y) - reached * model.base(tid, y) == 0
            model.prob += held, f"held_{tid}"
    assert model.prob.solve(pulp.HiGHS(msg=False)) == pulp.LpStatusOptimal
    assert model.weighted_cost is not None
    return float(pulp.value(model.weighted_cost))


def assert_same(d: Dynamics, **kwargs: Any) -> tuple[MinimumCost, Plan, dict[str, float]]:
    """Same status, same cost; the same attainment, or where it differs, the program has more
    than one cheapest schedule and the evaluator's attainment is that of one of them."""
    fast = minimum_cost(d, **kwargs)
    plan = reference(d, **kwargs)
    assert fast.status == str(plan.status)
    if plan.status != "optimal":
        assert fast.cost_vnd is None and fast.attainment == {}
        return fast, plan, {}
    assert plan.total_cost_vnd is not None and fast.cost_vnd is not None
    assert fast.cost_vnd == pytest.approx(plan.total_cost_vnd, rel=COST_REL, abs=1e-3)
    expected = attainment_of(plan, d)
    assert fast.attainment.keys() == expected.keys()
    differ = {}
    for tid, share in expected.items():
        got = fast.attainment[tid]
        if math.isnan(share) or math.isnan(got):
            assert math.isnan(share) and math.isnan(got), tid
        elif got != pytest.approx(share, abs=SHARE_ABS, rel=1e-7):
            differ[tid] = got
    if differ:
        best = least_weighted_cost(d, **kwargs)
        assert least_weighted_cost(d, differ, **kwargs) == pytest.approx(best, rel=1e-9, abs=1e-6)
    return fast, plan, differ


@pytest.fixture(scope="module")
def long_an() -> Dynamics:
    return compile_dynamics(load_scenario(SCENARIOS / "long_an.yaml"))


@pytest.mark.parametrize("name", ["long_an.yaml", "quang_tri.yaml"])
def test_the_shipped_scenarios_cost_and_attain_the_same(name: str) -> None:
    fast, _, _ = assert_same(compile_dynamics(load_scenario(SCENARIOS / name)))
    assert fast.status == "optimal"
    assert fast.cost_vnd is not None and fast.cost_vnd > 0


def test_a_tight_ceiling_is_infeasible_in_both(long_an: Dynamics) -> None:
    fast, _, _ = assert_same(long_an, ceiling_vnd=5e9)
    assert fast.status == "infeasible"


def test_a_ceiling_that_binds_costs_the_same(long_an: Dynamics) -> None:
    free = reference(long_an)
    ceiling = 7e10  # below the free plan's busiest years (about 1e11), above the least that does
    fast, plan, _ = assert_same(long_an, ceiling_vnd=ceiling)
    assert fast.status == "optimal"
    yearly = plan.costs[plan.costs["public"]].groupby("year")["cost_vnd"].sum()
    free_yearly = free.costs[free.costs["public"]].groupby("year")["cost_vnd"].sum()
    assert free_yearly.max() > ceiling >= yearly.max() * (1 - 1e-9)
    assert fast.cost_vnd is not None and free.total_cost_vnd is not None
    assert fast.cost_vnd >= free.total_cost_vnd * (1 - COST_REL)


def with_budget(budget: dict[str, Any]) -> Dynamics:
    data = long_an_data()
    data["budget"].update(budget)
    return compile_dynamics(build_scenario(data, file="long_an.yaml"))


FIRST_PHASE = {"first_year": 2021, "last_year": 2025, "ceiling_vnd": 3e11}
OWN_MONEY_LATER = {
    "first_year": 2026,
    "last_year": 2031,  # past the horizon: the last intakes' retakes
    "ceiling_vnd": 1.5e10,
    "source": "trainee_contribution",
}
BINDING = {
    "envelope": {"envelopes": {"first_phase": FIRST_PHASE}},
    "source envelope": {"envelopes": {"own_money": OWN_MONEY_LATER}},
    "total": {"total_ceiling_vnd": 4.13e11},
    "source": {"source_ceilings_vnd_per_year": {"unit_funds": 6e10}},
    "one year": {"ceiling_vnd_by_year": {2024: 5e10}},
}
"""Each ceiling alone binds (the cost moves) on Long An with a 5% discount rate; together they
are more than Long An can meet."""


@pytest.mark.parametrize("kind", sorted(BINDING))
def test_each_kind_of_ceiling_binds_and_costs_the_same(kind: str) -> None:
    free = minimum_cost(with_budget({"discount_rate_per_year": 0.05}))
    fast, _, _ = assert_same(with_budget({"discount_rate_per_year": 0.05, **BINDING[kind]}))
    assert fast.status == "optimal"
    assert fast.cost_vnd is not None and free.cost_vnd is not None
    assert abs(fast.cost_vnd - free.cost_vnd) > 1e6


def test_every_ceiling_at_once_is_infeasible_in_both() -> None:
    budget: dict[str, Any] = {"discount_rate_per_year": 0.05}
    for extra in BINDING.values():
        budget.update(extra)
    budget["envelopes"] = {"first_phase": FIRST_PHASE, "own_money": OWN_MONEY_LATER}
    fast, _, _ = assert_same(with_budget(budget))
    assert fast.status == "infeasible"


def test_a_total_ceiling_below_the_cost_is_infeasible_in_both() -> None:
    free = minimum_cost(with_budget({}))
    assert free.cost_vnd is not None
    fast, _, _ = assert_same(with_budget({"total_ceiling_vnd": 0.5 * free.cost_vnd}))
    assert fast.status == "infeasible"


def test_margins_raise_the_cost_as_in_optimize(long_an: Dynamics) -> None:
    free = minimum_cost(long_an)
    buffers = {"pe_2025": 300.0, "commune_leaders_2030": 12.5, "pd_2030": 40.0}
    fast, _, _ = assert_same(long_an, buffers=buffers)
    assert fast.cost_vnd is not None and free.cost_vnd is not None
    assert fast.cost_vnd > free.cost_vnd


def test_margins_that_cannot_be_met_are_infeasible_in_both(long_an: Dynamics) -> None:
    fast, _, _ = assert_same(long_an, buffers={"pd_2025": 5000.0})
    assert fast.status == "infeasible"


def test_a_national_scenario_of_three_provinces(tmp_path: Path) -> None:
    path = write_national(SCENARIOS / "long_an.yaml", 3, tmp_path / "national.yaml", seed=4)
    fast, _, _ = assert_same(compile_dynamics(load_scenario(path)))
    assert fast.status == "optimal"


def test_a_pool_nobody_is_in_attains_nan() -> None:
    data = long_an_data()
    pools = data["groups"]["commune_civil_servants"]["pools"]
    for pool in pools.values():
        pool["headcount"] = 0
        pool["hires_per_year"] = 0
        pool.pop("excluded", None)
    for tid in list(data["targets"]):
        if tid.startswith("commune"):
            data["targets"][tid].pop("min_count", None)
    data["promotions"] = [p for p in data["promotions"] if p["from_pool"] != "commune_rural"]
    fast, _, _ = assert_same(compile_dynamics(build_scenario(data, file="long_an.yaml")))
    assert math.isnan(fast.attainment["commune_2030"])


def test_the_same_question_gets_the_same_bytes(long_an: Dynamics) -> None:
    first = minimum_cost(long_an)
    minimum_cost(long_an, ceiling_vnd=1e9)  # a different model in between, on the same solver
    again = minimum_cost(long_an)
    assert first == again
    assert first.cost_vnd is not None and again.cost_vnd is not None
    assert first.cost_vnd.hex() == again.cost_vnd.hex()


# --------------------------------------------------------------------------- random small worlds

EXAMPLES = int(os.environ.get("SIMOPT_FUZZ_EXAMPLES", "150"))
SOURCES = {"state": True, "unit": True, "own": False}
COURSE_STEPS = [(0, 3), (3, 4), (0, 4), (4, 5), (3, 5)]


@st.composite
def small_worlds(draw: st.DrawFn) -> dict[str, Any]:
    """A valid scenario of one or two groups, a few pools and courses, and any kind of ceiling."""
    n_years = draw(st.integers(1, 4))
    start = 2021
    end = start + n_years - 1
    sources = draw(st.lists(st.sampled_from(sorted(SOURCES)), min_size=1, max_size=3, unique=True))
    groups: dict[str, Any] = {}
    pool_ids: list[str] = []
    for g in range(draw(st.integers(1, 2))):
        pools = {}
        for i in range(draw(st.integers(1, 2))):
            weights = draw(st.lists(st.integers(0, 5), min_size=3, max_size=3))
            weights[0] += 1
            shares = {lvl: w / sum(weights) for lvl, w in zip((0, 3, 4), weights, strict=True)}
            low = draw(st.floats(0.0, 1.0))
            pid = f"p{g}{i}"
            pool_ids.append(pid)
            pools[pid] = {
                "headcount": draw(st.sampled_from([0, 7, 40, 100, 250])),
                "attributes": {"leader": draw(st.booleans())},
                "level_shares": {k: v for k, v in shares.items() if v > 0},
                "attrition_rate_per_year": draw(st.sampled_from([0.0, 0.03, 0.1, 0.25])),
                "hires_per_year": draw(st.sampled_from([0.0, 2.0, 10.0])),
                "hire_level_shares": {0: low, 3: 1.0 - low} if low < 1.0 else {0: 1.0},
            }
        group: dict[str, Any] = {"pools": pools}
        paying = draw(st.lists(st.sampled_from(sources), max_size=2, unique=True))
        if paying:
            first = draw(st.sampled_from([0.5, 0.85, 1.0])) if len(paying) == 2 else 1.0
            group["funding"] = {paying[0]: first}
            if len(paying) == 2:
                group["funding"][paying[1]] = 1.0 - first
        groups[f"g{g}"] = group
    promotions = []
    if len(pool_ids) > 1 and draw(st.booleans()):
        src, dst = draw(st.permutations(pool_ids))[:2]
        promotions.append(
            {"from_pool": src, "to_pool": dst, "rate_per_year": draw(st.sampled_from([0.02, 0.1]))}
        )
    courses: dict[str, Any] = {}
    for j, (entry, target) in enumerate(
        draw(st.lists(st.sampled_from(COURSE_STEPS), min_size=1, max_size=3, unique=True))
    ):
        course: dict[str, Any] = {
            "entry_level": entry,
            "target_level": target,
            "duration_months": draw(st.sampled_from([3, 6, 9, 11, 14])),
            "intake_month": draw(st.integers(1, 12)),
            "tuition_vnd_per_trainee": draw(st.sampled_from([0.0, 3e6, 1.2e7, 1.6e7])),
            "completion_rate": draw(st.sampled_from([0.6, 0.9, 1.0])),
            "exam_pass_probability": draw(st.sampled_from([0.3, 0.75, 1.0])),
        }
        if draw(st.booleans()):
            course["class_size"] = draw(st.sampled_from([10, 30]))
            course["cost_vnd_per_class"] = draw(st.sampled_from([0.0, 5e7]))
        if draw(st.booleans()):
            course["seats_per_year"] = draw(st.sampled_from([0, 20, 60, 500]))
        if len(groups) > 1 and draw(st.booleans()):
            course["groups"] = [draw(st.sampled_from(sorted(groups)))]
        courses[f"c{j}"] = course
    budget: dict[str, Any] = {"discount_rate_per_year": draw(st.sampled_from([0.0, 0.05]))}
    money = st.sampled_from([2e8, 1e9, 5e9])
    if draw(st.booleans()):
        budget["ceiling_vnd_per_year"] = draw(money)
    if draw(st.booleans()):
        budget["ceiling_vnd_by_year"] = {draw(st.integers(start, end)): draw(money)}
    if draw(st.booleans()):
        budget["source_ceilings_vnd_per_year"] = {draw(st.sampled_from(sources)): draw(money)}
    if draw(st.booleans()):
        first_year = draw(st.integers(start, end))
        envelope: dict[str, Any] = {
            "first_year": first_year,
            "last_year": draw(st.integers(first_year, end)),
            "ceiling_vnd": draw(money),
        }
        if draw(st.booleans()):
            envelope["source"] = draw(st.sampled_from(sources))
        budget["envelopes"] = {"phase": envelope}
    if draw(st.booleans()):
        budget["total_ceiling_vnd"] = draw(st.sampled_from([1e9, 5e9, 2e10]))
    targets: dict[str, Any] = {}
    for k in range(draw(st.integers(1, 3))):
        chosen = draw(st.lists(st.sampled_from(sorted(groups)), min_size=1, unique=True))
        target: dict[str, Any] = {
            "groups": chosen,
            "min_level": draw(st.sampled_from([3, 4, 5])),
            "year": draw(st.integers(start, end)),
        }
        kind = draw(st.sampled_from(["share", "count", "both"]))
        if kind != "count":
            target["share"] = draw(st.sampled_from([0.0, 0.1, 0.3, 0.6]))
        if kind != "share":
            target["min_count"] = draw(st.sampled_from([0, 5, 30]))
        leaders = any(
            pool["attributes"]["leader"] for gid in chosen for pool in groups[gid]["pools"].values()
        )
        if leaders and draw(st.integers(0, 3)) == 0:
            target["where"] = {"leader": True}
        targets[f"t{k}"] = target
    return {
        "name": "small",
        "horizon": {"start_year": start, "end_year": end, "milestones": [end]},
        "groups": groups,
        "promotions": promotions,
        "courses": courses,
        "exams": {
            "session_months": sorted(
                draw(st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True))
            ),
            "fee_vnd": draw(st.sampled_from([0.0, 1.8e6])),
            "max_attempts": draw(st.integers(1, 3)),
            "retake_pass_factor": draw(st.sampled_from([0.8, 1.0])),
        },
        "funding_sources": {src: {"public": SOURCES[src]} for src in sources},
        "budget": budget,
        "targets": targets,
    }


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    small_worlds(),
    st.sampled_from([None, 3e8, 2e9]),
    st.sampled_from([None, 0.0, 3.0, 25.0]),
)
def test_random_small_worlds_agree_with_optimize(
    data: dict[str, Any], ceiling_vnd: float | None, margin: float | None
) -> None:
    d = compile_dynamics(build_scenario(data, file="small.yaml"))
    buffers = None if margin is None else {next(iter(d.scenario.targets)): margin}
    fast, _, differ = assert_same(d, ceiling_vnd=ceiling_vnd, buffers=buffers)
    event(fast.status)
    if differ:
        event("attainment of another cheapest schedule")


def test_head_counts_in_blocks_of_one_linked_group_each_give_the_same_answer(
    long_an: Dynamics, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = minimum_cost(long_an)
    monkeypatch.setattr(arrays, "BLOCK_ENTRIES", 1)  # every block as small as promotions allow
    apart = minimum_cost(long_an)
    assert whole.cost_vnd is not None and apart.cost_vnd is not None
    assert apart.cost_vnd == pytest.approx(whole.cost_vnd, rel=COST_REL)
    assert apart.attainment == pytest.approx(whole.attainment, abs=SHARE_ABS)


def test_when_the_direct_solve_gives_no_answer_the_shortfall_route_finds_the_same(
    long_an: Dynamics, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = minimum_cost(long_an, ceiling_vnd=7e10)
    calls: list[str] = []
    run = arrays._run

    def first_fails(h: Any) -> str:
        status = run(h)
        calls.append(status)
        return "not_solved" if len(calls) == 1 else status

    monkeypatch.setattr(arrays, "_run", first_fails)
    again = minimum_cost(long_an, ceiling_vnd=7e10)
    assert len(calls) == 3  # direct, least shortfall, cheapest with nothing short
    assert again.status == "optimal"
    assert direct.cost_vnd is not None and again.cost_vnd is not None
    assert again.cost_vnd == pytest.approx(direct.cost_vnd, rel=COST_REL)
    assert again.attainment == pytest.approx(direct.attainment, abs=SHARE_ABS)
