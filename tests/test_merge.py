"""`simopt merge` as a library: the rules of merging provinces (the 2025 reform), commutative and
associative, with every conflict reported and every source and range kept."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from simopt.dynamics import compile_dynamics
from simopt.merge import (
    FORMER,
    FORMER_CLOSED,
    MergeError,
    MergeOptions,
    MergeResult,
    Province,
    merge,
    render,
)
from simopt.optimize.arrays import minimum_cost
from simopt.scenario import Scenario, build_scenario, load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
PD = "provincial_district_civil_servants"
PROVINCIAL = "provincial_civil_servants"
TO_PROVINCIAL = ((PD, PROVINCIAL),)
PASS4 = "courses.level4.exam_pass_probability"


def data(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text("utf-8"))
    return loaded


def province(source: str | dict[str, Any]) -> Province:
    if isinstance(source, str):
        return Province(load_scenario(SCENARIOS / f"{source}.yaml"), f"{source}.yaml")
    return Province(build_scenario(copy.deepcopy(source)), f"{source['name']}.yaml")


def run(
    *sources: str | dict[str, Any] | Province, name: str = "merged", **options: Any
) -> tuple[Scenario, MergeResult]:
    """Merge, render and load back through the loader every file goes through."""
    provinces = [s if isinstance(s, Province) else province(s) for s in sources]
    result = merge(provinces, MergeOptions(name=name, **options))
    text = render(result, command="simopt merge (test)", inputs=[])
    return parse_scenario(text, file=f"{name}.yaml"), result


def as_province(s: Scenario) -> Province:
    return Province(s, f"{s.name}.yaml")


def cost(s: Scenario) -> float:
    result = minimum_cost(compile_dynamics(s))
    assert result.cost_vnd is not None, result.status
    return result.cost_vnd


def pools(s: Scenario) -> dict[str, tuple[str, int, int, Any, Any]]:
    return {
        pid: (gid, p.headcount, p.excluded, p.level_shares, p.hire_level_shares)
        for pid, (gid, p) in s.pools().items()
    }


def assert_close(a: float, b: float, rel: float = 1e-9) -> None:
    assert math.isclose(a, b, rel_tol=rel), (a, b)


def test_pools_stay_apart_prefixed_and_named_with_their_province() -> None:
    s, _ = run("long_an", "tay_ninh", maps=TO_PROVINCIAL)
    ps = s.pools()
    assert set(ps) == {f"{n}_{p}" for n in ("long_an", "tay_ninh") for p in load_pools(n)}
    gid, pool = ps["long_an_pd_staff"]
    assert gid == PROVINCIAL and pool.attributes[FORMER] == "long_an"
    assert pool.name == "Other provincial and district civil servants [Long An]"
    assert pool.headcount == 1346
    assert ps["tay_ninh_pe_staff"][1].excluded == 794
    assert s.groups[PROVINCIAL].headcount == 2130 + 543 + 932
    # promotions follow their pools
    assert {(p.from_pool, p.to_pool) for p in s.promotions} >= {
        ("long_an_pd_staff", "long_an_pd_leaders"),
        ("tay_ninh_pd_staff", "tay_ninh_pd_leaders"),
    }


def load_pools(name: str) -> list[str]:
    return list(load_scenario(SCENARIOS / f"{name}.yaml").pools())


def test_merging_is_commutative_on_head_counts_levels_and_cost() -> None:
    ab, _ = run("long_an", "tay_ninh", maps=TO_PROVINCIAL)
    ba, _ = run("tay_ninh", "long_an", maps=TO_PROVINCIAL)
    assert pools(ab) == pools(ba)
    assert {t: (v.share, v.min_count, v.groups) for t, v in ab.targets.items()} == {
        t: (v.share, v.min_count, v.groups) for t, v in ba.targets.items()
    }
    assert ab.courses == ba.courses  # the weighted means do not depend on the order
    r_ab, r_ba = ab.uncertainties.ranges[PASS4], ba.uncertainties.ranges[PASS4]
    assert (r_ab.value, r_ab.low, r_ab.high, r_ab.distribution) == (
        r_ba.value,
        r_ba.low,
        r_ba.high,
        r_ba.distribution,
    )  # the sources cite the inputs in the order given
    assert_close(cost(ab), cost(ba), 1e-6)


def test_merging_is_associative_for_three_provinces() -> None:
    # the third province starts a year later and funds from other sources: the nested merges
    # must still carry head-count weights that give the flat result
    opts: dict[str, Any] = {"maps": TO_PROVINCIAL}
    flat, _ = run("long_an", "tay_ninh", "quang_tri", **opts)
    ab, _ = run("long_an", "tay_ninh", name="ab", **opts)
    ab_c, _ = run(as_province(ab), "quang_tri", **opts)
    bc, _ = run("tay_ninh", "quang_tri", name="bc", **opts)
    a_bc, _ = run("long_an", as_province(bc), **opts)
    for nested in (ab_c, a_bc):
        assert pools(nested) == pools(flat)
        assert nested.horizon == flat.horizon
        assert {t: (v.min_count, v.share, v.groups) for t, v in nested.targets.items()} == {
            t: (v.min_count, v.share, v.groups) for t, v in flat.targets.items()
        }
        for cid, course in flat.courses.items():
            for field in ("tuition_vnd_per_trainee", "completion_rate", "exam_pass_probability"):
                assert_close(getattr(nested.courses[cid], field), getattr(course, field))
        for path, r in flat.uncertainties.ranges.items():
            other = nested.uncertainties.ranges[path]
            assert_close(other.low, r.low)
            assert_close(other.high, r.high)
            assert other.distribution == r.distribution
        for gid, group in flat.groups.items():
            for src, share in group.funding.items():
                assert_close(nested.groups[gid].funding[src], share)
        assert_close(cost(nested), cost(flat), 1e-6)


def test_a_conflict_is_resolved_head_count_weighted_and_reported() -> None:
    la, tn = province("long_an"), province("tay_ninh")
    s, result = run(la, tn, maps=TO_PROVINCIAL)
    # both courses are open to every group: the weights are every eligible person
    w_la = sum(p.eligible for _, p in la.scenario.pools().values())
    w_tn = sum(p.eligible for _, p in tn.scenario.pools().values())
    assert (w_la, w_tn) == (2130 + 27623 - 1147 + 3852, 543 + 932 + 1523 + 17603 - 794 + 2667)
    expected = (w_la * 0.60 + w_tn * 0.58) / (w_la + w_tn)
    assert_close(s.courses["level4"].exam_pass_probability, expected, 1e-11)
    r = s.uncertainties.ranges[PASS4]
    assert_close(r.low, (w_la * 0.45 + w_tn * 0.43) / (w_la + w_tn), 1e-11)
    assert_close(r.high, (w_la * 0.80 + w_tn * 0.78) / (w_la + w_tn), 1e-11)
    assert r.distribution == "triangular"
    line = next(x for x in result.report if x.startswith(PASS4))
    assert "long_an 0.6 [0.45–0.8]" in line and "tay_ninh 0.58 [0.43–0.78]" in line
    assert f"{expected:.6g}" in line and "head-count weighted" in line
    # funding shares of the provincial tier: weighted by head count, reported
    heads_la, heads_tn = 2130, 543 + 932
    share = (heads_la * 0.85 + heads_tn * 0.80) / (heads_la + heads_tn)
    assert_close(s.groups[PROVINCIAL].funding["state_budget"], share, 1e-11)
    assert any(x.startswith(f"groups.{PROVINCIAL}.funding: shares differ") for x in result.report)
    # minimum counts of the same target are summed
    assert s.targets["pe_2025"].min_count == 5344 + 3700
    assert s.targets["pe_2025"].groups == ("public_employees",)
    assert s.targets["pd_2025"].groups == (PROVINCIAL,)
    assert "stated_budget" in " ".join(result.report) and s.stated_budget is None


def test_a_rule_overrides_the_weighting() -> None:
    s, result = run("long_an", "tay_ninh", rules=(("exam_pass_probability", "min"),))
    assert s.courses["level4"].exam_pass_probability == 0.58
    assert s.courses["level3"].exam_pass_probability == 0.72
    assert s.uncertainties.ranges[PASS4].low == 0.43  # the chosen input's range
    assert any("--rule min: tay_ninh's" in line for line in result.report)
    s, _ = run("long_an", "tay_ninh", rules=((PASS4, "first"),))
    assert s.courses["level4"].exam_pass_probability == 0.60
    assert s.courses["level3"].exam_pass_probability != 0.75  # the rule named level4 only


def test_sources_and_ranges_survive() -> None:
    s, _ = run("long_an", "tay_ninh")
    source = s.provenance.source_of(PASS4)
    assert source.startswith("assumption, merged by simopt merge: head-count weighted mean")
    assert "long_an 0.6 [0.45–0.8] (assumption (DOMAIN: VSTEP pass rates not published)" in source
    assert "tay_ninh 0.58 [0.43–0.78]" in source
    # a number only one input gives a range gets the range ends weighted with [value, value]
    tuition = s.uncertainties.ranges["courses.level4.tuition_vnd_per_trainee"]
    assert tuition.low < 16_000_000 < tuition.high
    # numbers merged untouched keep their own source, range and level-table concentration
    path = "groups.public_employees.pools.long_an_pe_staff.attrition_rate_per_year"
    assert s.uncertainties.ranges[path].low == 0.02
    mix = "groups.public_employees.pools.tay_ninh_pe_staff.level_shares"
    assert s.uncertainties.level_mixes[mix].concentration == 80
    assert s.provenance.source_of("groups.public_employees.pools.long_an_pe_staff.excluded") == (
        "LA plan footnote 2: 1,147 language teachers, excluded by §I"
    )
    assert s.provenance.unsourced == []
    # the correlations still hold the numbers of both provinces together
    labour = next(c for c in s.uncertainties.correlations if c.label == "labour_market")
    assert len(labour.paths) == 14


def test_distributions_that_differ_become_triangular() -> None:
    tn = data("tay_ninh")
    tn["courses"]["level4"]["exam_pass_probability"]["distribution"] = "pert"
    s, result = run("long_an", tn)
    assert s.uncertainties.ranges[PASS4].distribution == "triangular"
    assert any(line.startswith(f"{PASS4}: distributions differ") for line in result.report)


def with_budget(d: dict[str, Any], **budget: Any) -> dict[str, Any]:
    out = copy.deepcopy(d)
    out["budget"] = {**out.get("budget", {}), **budget}
    return out


def test_ceilings_are_summed_and_unlimited_plus_limited_is_unlimited() -> None:
    env = {"p2": {"first_year": 2026, "last_year": 2030, "ceiling_vnd": 3e11}}
    la = with_budget(
        data("long_an"),
        ceiling_vnd_per_year=1e11,
        ceiling_vnd_by_year={2022: 5e10},
        source_ceilings_vnd_per_year={"unit_funds": 8e10},
        envelopes=env,
        total_ceiling_vnd=1e12,
    )
    tn_env = {"p2": {"first_year": 2026, "last_year": 2030, "ceiling_vnd": 2e11}}
    tn = with_budget(
        data("tay_ninh"),
        ceiling_vnd_per_year=6e10,
        source_ceilings_vnd_per_year={"unit_funds": 4e10},
        envelopes=tn_env,
        total_ceiling_vnd=5e11,
    )
    s, _ = run(la, tn)
    b = s.budget
    assert b.ceiling_vnd_per_year == 1.6e11
    assert b.ceiling_vnd_by_year == {2022: 5e10 + 6e10}  # that year's ceiling of each input
    assert b.source_ceilings_vnd_per_year == {"unit_funds": 1.2e11}
    assert b.envelopes["p2"].ceiling_vnd == 5e11
    assert (b.envelopes["p2"].first_year, b.envelopes["p2"].last_year) == (2026, 2030)
    assert b.total_ceiling_vnd == 1.5e12
    assert "sum of long_an" in s.provenance.source_of("budget.ceiling_vnd_per_year")

    # Tây Ninh without any ceiling: the merged province has none of any kind
    s, result = run(la, "tay_ninh")
    assert not s.budget.has_ceiling
    report = "\n".join(result.report)
    for what in (
        "ceiling_vnd_per_year",
        "source_ceilings_vnd_per_year.unit_funds",
        "total_ceiling",
    ):
        assert f"budget.{what}" in report
    assert "limited + unlimited is unlimited" in report
    # the same envelope name over other years is not summed
    tn_other = with_budget(
        data("tay_ninh"),
        envelopes={"p2": {"first_year": 2027, "last_year": 2030, "ceiling_vnd": 1e11}},
    )
    s, result = run(with_budget(data("long_an"), envelopes=env), tn_other)
    assert not s.budget.envelopes
    assert any("budget.envelopes.p2: spans differ" in line for line in result.report)


def test_seats_are_summed_and_one_unlimited_input_makes_them_unlimited() -> None:
    s, _ = run("long_an", "tay_ninh")
    assert s.courses["level3"].seats_per_year == 3000 + 2070
    tn = data("tay_ninh")
    del tn["courses"]["level4"]["seats_per_year"]
    s, result = run("long_an", tn)
    assert s.courses["level4"].seats_per_year is None
    assert any(
        line.startswith("courses.level4.seats_per_year: only long_an") for line in result.report
    )


def test_the_later_start_is_taken_and_reported() -> None:
    s, result = run("quang_tri", "quang_binh", maps=TO_PROVINCIAL)
    assert s.horizon.start_year == 2022 and s.horizon.milestones == (2025, 2030)
    line = next(x for x in result.report if x.startswith("horizon.start_year"))
    assert "quang_binh 2021" in line and "→ 2022" in line and "assumption" in line


def test_end_years_that_differ_are_refused() -> None:
    qb = data("quang_binh")
    qb["horizon"]["end_year"]["value"] = 2035
    with pytest.raises(MergeError, match="end in different years"):
        run("quang_tri", qb)


def test_a_structural_conflict_is_refused_unless_a_rule_chooses() -> None:
    tn = data("tay_ninh")
    tn["courses"]["level3"]["intake_month"]["value"] = 3
    with pytest.raises(MergeError, match=r"--rule intake_month=first"):
        run("long_an", tn)
    s, result = run("long_an", tn, rules=(("intake_month", "first"),))
    assert s.courses["level3"].intake_month == 2
    assert any("courses.level3.intake_month" in line for line in result.report)


@pytest.mark.parametrize(
    ("maps", "message"),
    [
        ((("nowhere", PROVINCIAL),), "no group or pool 'nowhere'"),
        ((("pd_staff", PROVINCIAL),), "is in several inputs"),
        (((PD, "not a name"),), "must be a name"),
        (((PD, PROVINCIAL), (PD, "other")), "given twice"),
    ],
)
def test_a_bad_map_is_one_clear_error(maps: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(MergeError, match=message) as err:
        run("long_an", "tay_ninh", maps=maps)
    assert "\n" not in str(err.value)


def test_one_pool_moves_by_its_prefixed_id_and_a_folded_group_loses_its_own_targets() -> None:
    s, result = run(
        "long_an",
        "tay_ninh",
        maps=(("tay_ninh_pd_staff", "commune_civil_servants"), ("long_an_pd_staff", PROVINCIAL)),
    )
    assert s.pools()["tay_ninh_pd_staff"][0] == "commune_civil_servants"
    assert s.pools()["long_an_pd_staff"][0] == PROVINCIAL
    assert s.pools()["long_an_pd_leaders"][0] == PD
    assert "tay_ninh_pd_staff" in s.target_pools(s.targets["commune_2025"])
    # pd_2025 still covers what is left of the district tier
    assert set(s.target_pools(s.targets["pd_2025"])) == {
        "long_an_pd_leaders",
        "tay_ninh_pd_leaders",
    }
    # folding the whole tier into the commune tier drops its level-4 targets there
    s, result = run("long_an", "tay_ninh", maps=((PD, "commune_civil_servants"),))
    assert PD not in s.groups and "pd_2025" not in s.targets
    assert any("targets.pd_2025 of long_an: group" in line for line in result.report)
    assert s.targets["commune_2025"].min_count == 119 + 82


def test_targets_that_differ_take_the_stricter_share_and_level() -> None:
    tn = data("tay_ninh")
    tn["targets"]["pe_2030"]["share"]["value"] = 0.75
    s, result = run("long_an", tn)
    assert s.targets["pe_2030"].share == 0.75
    assert any(
        "targets.pe_2030.share: long_an 0.7, tay_ninh 0.75 → 0.75" in x for x in result.report
    )
    # a different year keeps each province's target apart, over its own pools
    tn["targets"]["pe_2030"]["year"]["value"] = 2029
    s, _ = run("long_an", tn)
    assert "pe_2030" not in s.targets
    apart = s.targets["tay_ninh_pe_2030"]
    assert apart.year == 2029 and set(s.target_pools(apart)) == {
        "tay_ninh_pe_leaders",
        "tay_ninh_pe_staff",
    }


def test_start_state_and_actuals_follow_the_new_pool_ids() -> None:
    la = data("long_an")
    la["start"] = {
        "waiting": [{"pool": "pe_staff", "course": "level4", "attempts_used": 1, "people": 100}],
        "queued": [{"pool": "commune_rural", "course": "level3", "people": 30}],
    }
    la["actuals"] = {
        "years": {
            2022: {
                "enrolments": {"pe_staff": {"level4": 500}},
                "exams": {"level4": {"sat": 400, "passed": 250}},
                "spending_vnd": {"unit_funds": 9e9},
            }
        }
    }
    tn = data("tay_ninh")
    tn["actuals"] = {
        "years": {
            2022: {
                "enrolments": {"pe_staff": {"level4": 300}},
                "exams": {"level4": {"sat": 200, "passed": 110}},
            }
        }
    }
    s, result = run(la, tn)
    assert s.start.waiting[0].pool == "long_an_pe_staff"
    assert s.start.queued[0].pool == "long_an_commune_rural"
    assert s.actuals is not None
    rec = s.actuals.years[2022]
    assert rec.enrolments == {
        "long_an_pe_staff": {"level4": 500},
        "tay_ninh_pe_staff": {"level4": 300},
    }
    assert rec.exams is not None and (rec.exams["level4"].sat, rec.exams["level4"].passed) == (
        600,
        360,
    )
    assert rec.spending_vnd is None  # Tây Ninh recorded none: a sum would be Long An's alone
    assert any("spending_vnd: recorded by long_an only" in line for line in result.report)


def test_a_later_start_moves_the_earlier_provinces_intakes_in_course() -> None:
    qt, qb = data("quang_tri"), data("quang_binh")
    for d in (qt, qb):  # a 13-month course, so that a 2020 intake is still running in 2021
        d["courses"]["level4"]["duration_months"]["value"] = 13
    qb["start"] = {
        "in_course": [{"pool": "pe_staff", "course": "level4", "intake_year": 2020, "people": 50}]
    }
    s, result = run(qt, qb)
    entry = s.start.in_course[0]
    assert (entry.pool, entry.intake_year, entry.people) == ("quang_binh_pe_staff", 2021, 50)
    assert any(line.startswith("start of quang_binh") for line in result.report)


def test_correlations_naming_pools_follow_their_new_paths() -> None:
    la = data("long_an")
    la["correlations"].append(
        {
            "label": "pe_hires",
            "parameters": ["groups.public_employees.pools.*.hires_per_year"],
            "rank_correlation": {"value": 0.5, "source": "assumption: one recruitment drive"},
        }
    )
    s, _ = run("long_an", "tay_ninh", maps=TO_PROVINCIAL)
    s2, _ = run(la, "tay_ninh", maps=TO_PROVINCIAL)
    hires = next(c for c in s2.uncertainties.correlations if c.label == "pe_hires")
    assert hires.paths == (
        "groups.public_employees.pools.long_an_pe_leaders.hires_per_year",
        "groups.public_employees.pools.long_an_pe_staff.hires_per_year",
    )
    assert len(s.uncertainties.correlations) == 2


def test_a_merged_province_without_the_district_tier_validates_and_plans() -> None:
    from simopt.optimize import optimize
    from simopt.simulate.run import simulate

    s = load_scenario(SCENARIOS / "tay_ninh_2025.yaml")
    assert PD not in s.groups and PROVINCIAL in s.groups
    assert all(PD not in t.groups for t in s.targets.values())
    plan = optimize(s, continuous=True)
    assert plan.is_ok and plan.total_cost_vnd is not None
    assert_close(plan.total_cost_vnd, cost(s), 1e-6)
    result = simulate(s, plan.schedule, reps=40, seed=3, engine="fast")
    assert set(result.summary["target"]) == set(s.targets)
    qt = load_scenario(SCENARIOS / "quang_tri_2025.yaml")
    assert qt.horizon.start_year == 2022 and cost(qt) > 0


def test_the_bundled_merged_scenarios_are_what_the_command_in_their_header_builds(
    tmp_path: Path,
) -> None:
    import shlex

    from simopt.cli import main

    for name in ("tay_ninh_2025", "quang_tri_2025"):
        text = (SCENARIOS / f"{name}.yaml").read_text("utf-8")
        command = text.splitlines()[1].removeprefix("#").strip()
        argv = shlex.split(command)[1:]
        out = argv.index("-o") + 1
        assert argv[out] == f"scenarios/{name}.yaml"
        argv[out] = str(tmp_path / f"{name}.yaml")
        assert main(argv) == 0
        again = (tmp_path / f"{name}.yaml").read_text("utf-8")
        assert again.replace(str(tmp_path / f"{name}.yaml"), f"scenarios/{name}.yaml") == text


def n(value: Any, source: str = "assumption: a test figure") -> dict[str, Any]:
    return {"value": value, "source": source}


def _differing_inputs() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Long An, Tây Ninh and Quảng Trị whose courses are open to different groups (and one course
    only two of them offer), with exam numbers, budgets, start states and records to merge."""
    la, tn, qt = data("long_an"), data("tay_ninh"), data("quang_tri")
    la["courses"]["level3"]["groups"] = ["commune_civil_servants"]
    tn["courses"]["level4"]["groups"] = ["public_employees", PD]
    qt["courses"]["level3"]["groups"] = [PD, "commune_civil_servants"]
    refresher = {
        "entry_level": n(3),
        "target_level": n(4),
        "duration_months": n(13),
        "tuition_vnd_per_trainee": {**n(9_000_000), "range": [7e6, 12e6]},
        "exam_pass_probability": {**n(0.5), "range": [0.4, 0.6]},
    }
    la["courses"]["refresher"] = {**refresher, "groups": ["public_employees"]}
    qt["courses"]["refresher"] = {
        **refresher,
        "tuition_vnd_per_trainee": {**n(8_000_000), "range": [6e6, 11e6]},
        "completion_rate": n(0.8),
    }
    tn["exams"]["fee_vnd"] = n(1_700_000)
    qt["exams"]["retake_pass_factor"] = {**n(0.85), "range": [0.75, 0.95]}
    for i, d in enumerate((la, tn, qt), start=1):
        d["budget"] = {
            **d["budget"],
            "ceiling_vnd_per_year": n(i * 1e11),
            "ceiling_vnd_by_year": {2024: n(i * 5e10)},
            "source_ceilings_vnd_per_year": {"unit_funds": n(i * 2e10)},
            "envelopes": {
                "p2": {"first_year": n(2026), "last_year": n(2030), "ceiling_vnd": n(i * 3e11)}
            },
            "total_ceiling_vnd": n(i * 1e12),
        }
    la["start"] = {
        "in_course": [
            {"pool": "pe_staff", "course": "refresher", "intake_year": 2020, "people": 40}
        ],
        "waiting": [{"pool": "pe_staff", "course": "level4", "attempts_used": 1, "people": 100}],
        "queued": [{"pool": "commune_rural", "course": "level3", "people": 30}],
    }
    qt["start"] = {
        "in_course": [
            {"pool": "pe_leaders", "course": "refresher", "intake_year": 2021, "people": 12}
        ],
        "queued": [{"pool": "pd_staff", "course": "level3", "people": 25}],
    }
    for d, k in ((la, 5), (tn, 3), (qt, 2)):
        d["actuals"] = {
            "years": {
                2023: {
                    "enrolments": {
                        "pe_staff": {"level4": 100 * k},
                        "commune_rural": {"level3": 10 * k},
                    },
                    "exams": {"level4": {"sat": 80 * k, "passed": 50 * k}},
                    "spending_vnd": {"unit_funds": k * 1e9},
                    "certified": {"pe_staff": {3: 1000 * k}},
                },
                2024: {"enrolments": {"pe_leaders": {"level4": 20 * k}}},
            }
        }
    del qt["actuals"]["years"][2024]  # a year Quảng Trị did not record: its enrolments go
    return la, tn, qt


def agree(a: Any, b: Any, where: str = "") -> None:
    """Equal, but for derived numbers: the same to the 12 significant digits a merge keeps (a
    nested merge averages the first merge's rounded mean, so the last digit may differ)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-10), (where, a, b)
    elif isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), (where, list(a), list(b))
        for k in a:
            agree(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, tuple | list) and isinstance(b, tuple | list):
        assert len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            agree(x, y, f"{where}.{i}")
    else:
        assert a == b, (where, a, b)


def test_merging_is_associative_when_a_course_is_open_to_different_groups() -> None:
    la, tn, qt = _differing_inputs()
    opts: dict[str, Any] = {"maps": TO_PROVINCIAL}
    flat, _ = run(la, tn, qt, **opts)
    ab, _ = run(la, tn, name="ab", **opts)
    ab_c, _ = run(as_province(ab), qt, **opts)
    bc, _ = run(tn, qt, name="bc", **opts)
    a_bc, _ = run(la, as_province(bc), **opts)
    # the weight of each province is the eligible people its own course was open to
    w_la = sum(
        p.eligible for _, p in province(la).scenario.groups["commune_civil_servants"].pools.items()
    )
    w_tn = sum(p.eligible for _, p in province(tn).scenario.pools().values())
    w_qt = sum(
        p.eligible
        for g in (PD, "commune_civil_servants")
        for p in province(qt).scenario.groups[g].pools.values()
    )
    expected = (w_la * 0.75 + w_tn * 0.72 + w_qt * 0.75) / (w_la + w_tn + w_qt)
    assert_close(flat.courses["level3"].exam_pass_probability, expected, 1e-11)
    for nested in (ab_c, a_bc):
        assert nested.horizon == flat.horizon
        # pools exactly, with the courses their former province did not open to them
        assert nested.pools() == flat.pools()
        # every weighted number: course and exam fields, their ranges, funding shares
        agree(nested.model_dump()["courses"], flat.model_dump()["courses"], "courses")
        agree(nested.exams.model_dump(), flat.exams.model_dump(), "exams")
        agree(
            {g: dict(v.funding) for g, v in nested.groups.items()},
            {g: dict(v.funding) for g, v in flat.groups.items()},
            "funding",
        )
        assert set(nested.uncertainties.ranges) == set(flat.uncertainties.ranges)
        for path, r in flat.uncertainties.ranges.items():
            other = nested.uncertainties.ranges[path]
            agree(
                (other.value, other.low, other.high, other.distribution, other.sd),
                (r.value, r.low, r.high, r.distribution, r.sd),
                path,
            )
        # sums: exactly
        assert nested.budget == flat.budget
        assert nested.start == flat.start
        assert nested.actuals is not None and flat.actuals is not None
        assert nested.actuals.years == flat.actuals.years
        assert {t: (v.min_count, v.share, v.groups) for t, v in nested.targets.items()} == {
            t: (v.min_count, v.share, v.groups) for t, v in flat.targets.items()
        }
    b = flat.budget
    assert (b.ceiling_vnd_per_year, b.ceiling_vnd_by_year, b.total_ceiling_vnd) == (
        6e11,
        {2024: 3e11},
        6e12,
    )
    assert b.envelopes["p2"].ceiling_vnd == 1.8e12
    assert [(e.pool, e.intake_year) for e in flat.start.in_course] == [
        ("long_an_pe_staff", 2021),  # Long An's state of 2021 taken as of 2022
        ("quang_tri_pe_leaders", 2021),
    ]
    assert flat.actuals is not None
    assert flat.actuals.years[2023].exams is not None
    assert flat.actuals.years[2023].exams["level4"].passed == 50 * 10
    assert 2024 not in flat.actuals.years  # enrolments of two provinces of three: dropped


def test_a_pool_a_course_was_closed_to_does_not_weigh_in_its_numbers() -> None:
    la, tn, _ = _differing_inputs()
    s, result = run(la, tn, maps=TO_PROVINCIAL)
    ps = s.pools()
    assert s.courses["level3"].groups is None  # open to all in Tây Ninh: open to all
    assert ps["long_an_pe_staff"][1].attributes[FORMER_CLOSED] == "level3"
    assert ps["long_an_pd_staff"][1].attributes[FORMER_CLOSED] == "level3"
    assert FORMER_CLOSED not in ps["long_an_commune_rural"][1].attributes
    # the refresher only Long An offers, to its public employees: open to them only
    assert s.courses["refresher"].groups == ("public_employees",)
    assert ps["tay_ninh_pe_staff"][1].attributes[FORMER_CLOSED] == "refresher"
    assert FORMER_CLOSED not in ps["tay_ninh_pd_staff"][1].attributes
    line = next(x for x in result.report if x.startswith("courses.level3.groups"))
    assert "long_an commune_civil_servants, tay_ninh all → all" in line and FORMER_CLOSED in line
    la_commune = sum(
        p.eligible for p in province(la).scenario.groups["commune_civil_servants"].pools.values()
    )
    w_tn = sum(p.eligible for _, p in province(tn).scenario.pools().values())
    level3 = next(x for x in result.report if x.startswith("courses.level3.tuition"))
    assert f"long_an {la_commune:,}, tay_ninh {w_tn:,}" in level3
    # bundled inputs open every course to all: nothing is marked
    s, _ = run("long_an", "tay_ninh")
    assert all(FORMER_CLOSED not in p.attributes for _, p in s.pools().values())


def test_enrolments_are_kept_only_for_years_every_province_recorded_them() -> None:
    la, tn = data("long_an"), data("tay_ninh")
    la["actuals"] = {
        "years": {
            2022: {"enrolments": {"pe_staff": {"level4": 500}}},
            2023: {
                "enrolments": {"pe_staff": {"level4": 400}},
                "headcount": {"pe_staff": 25000},
                "certified": {"pe_staff": {3: 8000, 4: 6000}},
            },
        }
    }
    tn["actuals"] = {
        "years": {
            2022: {"enrolments": {}},  # recorded: nobody enrolled
            2024: {
                "enrolments": {"pe_staff": {"level4": 200}},
                "certified": {"pd_staff": {3: 300}},
            },
        }
    }
    s, result = run(la, tn)
    assert s.actuals is not None
    years = s.actuals.years
    assert years[2022].enrolments == {"long_an_pe_staff": {"level4": 500}}
    # 2023: Long An's alone would read as nobody in Tây Ninh enrolling: dropped; the survey stays
    assert years[2023].enrolments is None
    assert years[2023].headcount == {"long_an_pe_staff": 25000}
    assert years[2023].certified == {"long_an_pe_staff": {3: 8000, 4: 6000}}
    assert years[2024].enrolments is None
    assert years[2024].certified == {"tay_ninh_pd_staff": {3: 300}}
    report = "\n".join(result.report)
    assert "actuals.years.2023.enrolments: recorded by long_an only: dropped" in report
    assert "actuals.years.2024.enrolments: recorded by tay_ninh only: dropped" in report
    assert "actuals.years.2023.certified: recorded for long_an's pools only" in report
    # a province without any record: no year keeps its enrolments
    s, _ = run(la, "tay_ninh")
    assert s.actuals is not None
    assert all(rec.enrolments is None for rec in s.actuals.years.values())
