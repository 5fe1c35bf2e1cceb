"""The bundled scenario files: they load, every number is sourced, and the two plan-specific files
say what the plans say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simopt.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))

TUITION = 16_000_000

# A source either says it is an assumption or cites something checkable: one of the plans,
# DOMAIN.md, a legal text or the Ministry of Home Affairs.
_CITATION = re.compile(r"\b(plan|DOMAIN|Circular|Decree|Decision|Resolution|Conclusion|MoHA)\b")


def is_cited(source: str) -> bool:
    text = source.strip()
    return text.startswith("assumption") or _CITATION.search(text) is not None


def load(name: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.yaml")


def test_the_bundled_scenarios_are_there() -> None:
    names = {f.stem for f in FILES}
    assert {"long_an", "long_an_as_written", "quang_tri"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_scenario_file_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.groups and scenario.courses and scenario.targets


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_number_carries_an_explicit_source(path: Path) -> None:
    provenance = load_scenario(path).provenance
    assert provenance.unsourced == []
    assert provenance.sources
    empty = [where for where, src in provenance.sources.items() if not src.strip()]
    assert empty == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_source_is_an_assumption_or_a_citation(path: Path) -> None:
    sources = load_scenario(path).provenance.sources
    uncited = {where: src for where, src in sources.items() if not is_cited(src)}
    assert uncited == {}


@pytest.mark.parametrize(
    "source",
    [
        "assumption",
        "assumption: ~8% of 27,623 (the plan gives no count)",
        "LA plan §II.2.a",
        "QT plan §II.1.b",
        "DOMAIN: VSTEP fee about 1,800,000 VND",
        "Circular 28/2021/TT-BGDĐT",
        "Resolution 76/NQ-CP",
    ],
)
def test_the_source_rule_accepts_assumptions_and_citations(source: str) -> None:
    assert is_cited(source)


@pytest.mark.parametrize(
    "source",
    ["", "   ", "a guess", "Assumption, capitalised", "from the planning office", "see above"],
)
def test_the_source_rule_rejects_anything_else(source: str) -> None:
    assert not is_cited(source)


# --------------------------------------------------------------------------- Long An as written


def test_as_written_is_the_plans_implicit_world() -> None:
    s = load("long_an_as_written")
    assert (s.horizon.start_year, s.horizon.end_year) == (2021, 2030)
    assert s.horizon.milestones == (2025, 2030)
    assert s.promotions == ()

    heads = {gid: (g.headcount, g.headcount - g.eligible) for gid, g in s.groups.items()}
    assert heads == {
        "provincial_district_civil_servants": (2130, 0),
        "public_employees": (27623, 1147),
        "commune_civil_servants": (3852, 0),
    }
    for group in s.groups.values():
        assert len(group.pools) == 1
        (pool,) = group.pools.values()
        assert pool.level_shares == {0: 1.0}
        assert pool.start_levels() == {0: float(pool.eligible)}
        assert pool.attrition_rate_per_year == 0
        assert pool.hires_per_year == 0


def test_as_written_courses_pass_everyone_at_the_plans_price() -> None:
    s = load("long_an_as_written")
    assert set(s.courses) == {"to_level4", "to_level3"}
    for course in s.courses.values():
        assert course.tuition_vnd_per_trainee == TUITION
        assert course.completion_rate == 1
        assert course.exam_pass_probability == 1
        assert course.entry_level == 0
        assert course.intake_month == 1
        assert course.duration_months == 11
        assert course.capacity_per_year is None
        assert course.cost_vnd_per_class == 0
    four, three = s.courses["to_level4"], s.courses["to_level3"]
    assert four.target_level == 4
    assert four.groups == ("provincial_district_civil_servants", "public_employees")
    assert three.target_level == 3
    assert three.groups == ("commune_civil_servants",)
    assert s.exams.session_months == (12,)
    assert s.exams.fee_vnd == 0
    assert s.exams.max_attempts == 1


def test_as_written_funding_is_all_public() -> None:
    s = load("long_an_as_written")
    assert s.groups["provincial_district_civil_servants"].funding == {"state_budget": 1.0}
    assert s.groups["commune_civil_servants"].funding == {"state_budget": 1.0}
    assert s.groups["public_employees"].funding == {"unit_funds": 1.0}
    assert {k: v.public for k, v in s.funding_sources.items()} == {
        "state_budget": True,
        "unit_funds": True,
    }


def test_as_written_targets_are_the_minimum_counts_only() -> None:
    s = load("long_an_as_written")
    got = {tid: (t.groups, t.min_level, t.min_count, t.year) for tid, t in s.targets.items()}
    pd, pe, commune = (
        ("provincial_district_civil_servants",),
        ("public_employees",),
        ("commune_civil_servants",),
    )
    assert got == {
        "pd_2025": (pd, 4, 55, 2025),
        "pe_2025": (pe, 4, 5344, 2025),
        "commune_2025": (commune, 3, 119, 2025),
        "pd_2030": (pd, 4, 74, 2030),
        "pe_2030": (pe, 4, 10733, 2030),
        "commune_2030": (commune, 3, 178, 2030),
    }
    assert all(t.share is None and not t.where for t in s.targets.values())


def test_as_written_min_counts_add_up_to_the_plans_budget() -> None:
    s = load("long_an_as_written")
    by_2025 = sum(t.min_count or 0 for t in s.targets.values() if t.year == 2025)
    by_2030 = sum(t.min_count or 0 for t in s.targets.values() if t.year == 2030)
    assert by_2025 == 5518
    assert by_2030 == 10985
    assert by_2030 - by_2025 == 5467
    assert by_2025 * TUITION == 88_288_000_000
    assert by_2030 * TUITION == 175_760_000_000
    stated = s.stated_budget
    assert stated is not None
    assert stated.people == by_2030
    assert stated.vnd == by_2030 * TUITION
    late = stated.phases["p2026_2030"]
    assert sum(line.people or 0 for line in late.lines.values()) == 5467
    assert late.vnd == 5467 * TUITION


def test_as_written_keeps_the_same_stated_budget_as_long_an() -> None:
    assert load("long_an_as_written").stated_budget == load("long_an").stated_budget


# --------------------------------------------------------------------------- Quảng Trị

QT_SHARES = {
    "pd_2025": (4, 0.25, 2025, {}),
    "pe_2025": (4, 0.60, 2025, {}),
    "pe_leaders_2025": (4, 0.50, 2025, {"leader": True}),
    "commune_2025": (3, 0.20, 2025, {}),
    "commune_leaders_2025": (3, 0.15, 2025, {"leader": True}),
    "pd_2030": (4, 0.35, 2030, {}),
    "pe_2030": (4, 0.70, 2030, {}),
    "pe_leaders_2030": (4, 0.60, 2030, {"leader": True}),
    "commune_2030": (3, 0.30, 2030, {}),
    "commune_leaders_2030": (3, 0.25, 2030, {"leader": True}),
}


def test_quang_tri_has_the_plans_percentages_and_no_min_counts() -> None:
    s = load("quang_tri")
    got = {tid: (t.min_level, t.share, t.year, dict(t.where)) for tid, t in s.targets.items()}
    assert got == QT_SHARES
    assert all(t.min_count is None for t in s.targets.values())
    assert s.stated_budget is None


def test_quang_tri_horizon_exclusions_exam_fee_and_funding() -> None:
    s = load("quang_tri")
    assert (s.horizon.start_year, s.horizon.end_year) == (2022, 2030)
    assert s.horizon.milestones == (2025, 2030)
    assert all(g.headcount > g.eligible for g in s.groups.values())  # everyone has exclusions
    assert s.exams.fee_vnd == 1_800_000
    civil = {"state_budget", "agency_funds", "trainee_contribution", "sponsors"}
    for gid in ("provincial_district_civil_servants", "commune_civil_servants"):
        assert set(s.groups[gid].funding) <= civil
        assert "state_budget" in s.groups[gid].funding
    assert set(s.groups["public_employees"].funding) <= {"unit_funds", "trainee_contribution"}
    assert s.funding_sources["trainee_contribution"].public is False
    assert (s.courses["level3"].entry_level, s.courses["level3"].target_level) == (0, 3)
    assert (s.courses["level4"].entry_level, s.courses["level4"].target_level) == (3, 4)


def test_quang_tri_is_smaller_than_long_an() -> None:
    qt, la = load("quang_tri"), load("long_an")
    for gid in qt.groups:
        assert qt.groups[gid].headcount < la.groups[gid].headcount


def test_quang_tri_has_seats_for_its_2025_targets_in_principle() -> None:
    """Seats over the intakes up to 2025, at first-attempt yield, cover the 2025 gaps."""
    from simopt.show import holding_at_start, people_needed

    s = load("quang_tri")
    intakes = 2025 - s.horizon.start_year + 1
    whole_group = [tid for tid, t in s.targets.items() if t.year == 2025 and not t.where]
    gap4 = sum(
        people_needed(s, tid) - holding_at_start(s, tid)
        for tid in whole_group
        if s.targets[tid].min_level == 4
    )
    gap3 = sum(
        people_needed(s, tid) - holding_at_start(s, tid)
        for tid in whole_group
        if s.targets[tid].min_level == 3
    )
    l3, l4 = s.courses["level3"], s.courses["level4"]
    assert l3.capacity_per_year is not None and l4.capacity_per_year is not None
    yield4 = l4.capacity_per_year * intakes * l4.completion_rate * l4.exam_pass_probability
    assert yield4 >= gap4 > 0
    # people at level 3 now in the level-4 groups; the rest of the level-4 gap comes via level 3
    pools = s.pools()
    at3 = sum(
        pool.start_levels().get(3, 0.0)
        for pid, (gid, pool) in pools.items()
        if gid in ("provincial_district_civil_servants", "public_employees")
    )
    yield3 = l3.capacity_per_year * (intakes - 1) * l3.completion_rate * l3.exam_pass_probability
    assert yield3 >= gap3 + max(0.0, gap4 - at3)
