"""Re-planning from 2026 on the record of 2021–2025 (simopt plan --from-year)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from simopt.errors import ScenarioError
from simopt.optimize import optimize
from simopt.replan import replan
from simopt.scenario import Scenario, build_scenario
from simopt.yamlio import parse_yaml_text

ROOT = Path(__file__).resolve().parent.parent
LONG_AN = ROOT / "scenarios" / "long_an.yaml"


@pytest.fixture(scope="module")
def long_an_data() -> dict[str, Any]:
    data, _ = parse_yaml_text(LONG_AN.read_text(encoding="utf-8"), file=str(LONG_AN))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def as_planned(long_an_data: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Long An whose record to 2025 is exactly its own plan's schedule, and that plan."""
    plan = optimize(build_scenario(copy.deepcopy(long_an_data)))
    years: dict[int, Any] = {}
    for year in range(2021, 2026):
        enrolments: dict[str, dict[str, int]] = {}
        rows = plan.schedule[plan.schedule["year"] == year]
        for pool, course, n in zip(rows["pool"], rows["course"], rows["enrolments"], strict=True):
            enrolments.setdefault(str(pool), {})[str(course)] = int(n)
        years[year] = {"enrolments": {"value": enrolments, "source": "the plan's own schedule"}}
    data = copy.deepcopy(long_an_data)
    data["actuals"] = {"note": "test: the plan as recorded", "years": years}
    return data, plan


def _replan(data: dict[str, Any], year: int = 2026) -> Any:
    return replan(copy.deepcopy(data), build_scenario(copy.deepcopy(data)), year, file="t.yaml")


def test_a_record_equal_to_the_plan_changes_nothing(as_planned: tuple[dict[str, Any], Any]) -> None:
    data, plan = as_planned
    rp = _replan(data)
    again = optimize(rp.scenario)
    assert again.status == "optimal"
    # the same money for the years left (people counted whole on 1 January: a person's rounding)
    tail = plan.costs.loc[plan.costs["year"] >= 2026, "cost_vnd"].sum()
    assert again.total_cost_vnd == pytest.approx(tail, rel=5e-4)
    # the same people a year per course (pools alike in cost and in what the targets count may
    # trade places: several schedules are cheapest)
    before = plan.schedule[plan.schedule["year"] >= 2026].groupby(["year", "course"])["enrolments"]
    after = again.schedule.groupby(["year", "course"])["enrolments"]
    diff = (before.sum() - after.sum()).abs()
    assert diff.max() <= 2, diff
    # the 2030 targets still met, as the plan met them
    at = again.attainment[again.attainment["year"] == 2030]
    assert at["met"].all()
    planned = plan.attainment[plan.attainment["year"] == 2030].set_index("target")
    for tid, share in zip(at["target"], at["attained_share"], strict=True):
        assert share == pytest.approx(planned.loc[tid, "attained_share"], abs=0.02)
    # and the variance table finds no gap: actual is the plan
    v = rp.variance[rp.variance["measure"] == "enrolments"]
    assert (v["difference"].abs() < 1e-9).all()
    assert (rp.past_targets["gap_points"].abs() < 1e-6).all()


def test_the_restart_carries_the_2025_completers_waiting_for_a_retake(
    as_planned: tuple[dict[str, Any], Any],
) -> None:
    data, _ = as_planned
    rp = _replan(data)
    s: Scenario = rp.scenario
    assert s.horizon.start_year == 2026
    assert all(t.year >= 2026 for t in s.targets.values())
    # Feb intakes of nine months sit in December, then retake in March: on 1 January the 2025
    # completers who failed in December wait for their second attempt
    assert set(rp.carried["stage"]) == {"waiting"}
    assert set(rp.carried["attempts_used"]) == {1}
    assert set(rp.carried["intake_year"]) == {2025}
    assert rp.carried["people"].sum() > 100
    assert len(s.start.waiting) == len(rp.carried)


def test_a_survey_replaces_the_projection_for_the_pools_it_counts(
    as_planned: tuple[dict[str, Any], Any],
) -> None:
    data = copy.deepcopy(as_planned[0])
    data["actuals"]["years"][2025]["headcount"] = {"value": {"pd_leaders": 800}, "source": "s"}
    data["actuals"]["years"][2025]["certified"] = {
        "value": {"pd_leaders": {3: 300, 4: 320, 5: 30}},
        "source": "2025 survey (test)",
    }
    rp = _replan(data)
    pool = rp.scenario.groups["provincial_district_civil_servants"].pools["pd_leaders"]
    assert pool.level_counts == {0: 150, 3: 300, 4: 320, 5: 30}
    assert pool.headcount == 800
    assert "2025 survey (test)" in rp.scenario.provenance.source_of(
        "groups.provincial_district_civil_servants.pools.pd_leaders.level_counts.3"
    )
    basis = rp.start_levels.drop_duplicates("pool").set_index("pool")["basis"]
    assert basis["pd_leaders"] == "survey" and basis["pd_staff"] == "projected"
    # an unsurveyed pool keeps its level table's uncertainty
    staff = rp.scenario.groups["provincial_district_civil_servants"].pools["pd_staff"]
    assert staff.level_shares is not None
    assert any("pd_staff" in path for path in rp.scenario.uncertainties.level_mixes)


def test_what_was_spent_comes_off_the_total_and_the_phase_ceilings(
    as_planned: tuple[dict[str, Any], Any],
) -> None:
    data = copy.deepcopy(as_planned[0])
    data.setdefault("budget", {})["total_ceiling_vnd"] = 600e9
    data["budget"]["envelopes"] = {
        "phase1": {"first_year": 2021, "last_year": 2025, "ceiling_vnd": 400e9},
        "phase2": {"first_year": 2024, "last_year": 2030, "ceiling_vnd": 500e9},
    }
    data["actuals"]["years"][2024]["spending_vnd"] = {
        "value": {"state_budget": 50e9, "unit_funds": 40e9, "trainee_contribution": 10e9},
        "source": "test",
    }
    rp = _replan(data)
    b = rp.scenario.budget
    assert "phase1" not in b.envelopes
    # phase 2 keeps what 2024 (recorded: 90 bn public) and 2025 (projected) did not spend
    spent_2025 = rp.variance.query("year == 2025 and measure == 'spending_vnd'")["planned"].item()
    assert b.envelopes["phase2"].first_year == 2026
    assert b.envelopes["phase2"].ceiling_vnd < 500e9 - 90e9
    assert b.total_ceiling_vnd is not None and b.total_ceiling_vnd < 600e9 - 90e9
    assert spent_2025 > 0


@pytest.mark.parametrize(
    ("year", "change", "words"),
    [
        (2026, {2026: {"enrolments": {"pd_staff": {"level4": 10}}}}, "actuals.years.2026"),
        (2021, {}, "--from-year = 2021: must lie in 2022–2030"),
        (2031, {}, "--from-year = 2031"),
    ],
)
def test_a_record_or_year_the_re_plan_cannot_use_is_one_line(
    as_planned: tuple[dict[str, Any], Any], year: int, change: dict[int, Any], words: str
) -> None:
    data = copy.deepcopy(as_planned[0])
    data["actuals"]["years"].update(change)
    with pytest.raises(ScenarioError) as err:
        _replan(data, year)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_scenario_without_a_record_cannot_be_re_planned(long_an_data: dict[str, Any]) -> None:
    with pytest.raises(ScenarioError, match="has no actuals section"):
        _replan(long_an_data)


def _simopt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simopt", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_plan_from_year_writes_the_variance_and_the_scenario_it_ran(
    as_planned: tuple[dict[str, Any], Any], tmp_path: Path
) -> None:
    file = tmp_path / "long_an_recorded.yaml"
    file.write_text(yaml.safe_dump(as_planned[0], allow_unicode=True), encoding="utf-8")
    out = tmp_path / "run"
    done = _simopt(
        "plan", str(file), "--from-year", "2026", "--reps", "200", "--no-price", "--out", str(out)
    )
    assert done.returncode in (0, 1), done.stderr
    assert "Re-plan from 2026: the record of 2021–2025" in done.stdout
    assert "Planned against actual" in done.stdout
    variance = pd.read_csv(out / "planned_vs_actual.csv")
    assert set(variance["measure"]) == {"enrolments", "exam_passes", "spending_vnd"}
    ran = yaml.safe_load((out / "replan_scenario.yaml").read_text(encoding="utf-8"))
    assert build_scenario(ran).horizon.start_year == 2026
    assert (out / "start_training.csv").is_file() and (out / "past_targets.csv").is_file()
    # rerun recomputes the same re-plan from the recorded scenario
    again = _simopt("rerun", str(out), "--out", str(tmp_path / "again"))
    assert again.returncode in (0, 1), again.stderr
    assert "tables identical" in again.stdout, again.stdout


def test_plan_from_year_on_a_bad_year_is_one_line(tmp_path: Path) -> None:
    done = _simopt("plan", str(LONG_AN), "--from-year", "2026", "--out", str(tmp_path / "r"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no actuals section" in done.stderr
    assert not (tmp_path / "r").exists()
    done = _simopt("plan", str(LONG_AN), "--from-year", "twenty")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_long_an_record_re_planned_with_the_rates_it_implies(tmp_path: Path) -> None:
    file = ROOT / "scenarios" / "long_an_actuals.yaml"
    out = tmp_path / "run"
    done = _simopt(
        "plan",
        str(file),
        "--from-year",
        "2026",
        "--update-rates",
        "--reps",
        "200",
        "--no-price",
        "--out",
        str(out),
    )
    assert done.returncode in (0, 1), done.stderr
    assert "ILLUSTRATIVE RECORD" in done.stdout
    assert "This re-plan uses the estimated rates (--update-rates)." in done.stdout
    rates = pd.read_csv(out / "estimated_rates.csv")
    level4 = rates.set_index("path").loc["courses.level4.exam_pass_probability"]
    ran = build_scenario(yaml.safe_load((out / "replan_scenario.yaml").read_text("utf-8")))
    assert ran.courses["level4"].exam_pass_probability == pytest.approx(level4["offered_value"])
    r = ran.uncertainties.ranges["courses.level4.exam_pass_probability"]
    assert (r.low, r.high) == pytest.approx((level4["offered_low"], level4["offered_high"]))
    assert ran.provenance.source_of("courses.level4.exam_pass_probability").startswith(
        "estimated from"
    )
    # the record's 2025 survey judges the 2025 targets: public employees fell short
    past = pd.read_csv(out / "past_targets.csv").set_index("target")
    assert past.loc["pe_2025", "basis"] == "survey 2025" and not past.loc["pe_2025", "met"]


def test_update_rates_without_a_re_plan_year_is_one_line() -> None:
    done = _simopt("plan", str(LONG_AN), "--update-rates")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--from-year" in done.stderr


def test_the_array_program_reads_the_start_state_as_the_lp_does(
    as_planned: tuple[dict[str, Any], Any],
) -> None:
    from simopt.dynamics import compile_dynamics
    from simopt.optimize.arrays import minimum_cost

    data = copy.deepcopy(as_planned[0])
    data.setdefault("budget", {})["ceiling_vnd_per_year"] = 90e9  # the carried fees count too
    rp = _replan(data)
    d = compile_dynamics(rp.scenario)
    assert d.carried  # the 2025 completers waiting for March
    lp = optimize(rp.scenario, continuous=True, dynamics=d)
    quick = minimum_cost(d)
    assert quick.status == "optimal" and lp.total_cost_vnd is not None
    assert quick.cost_vnd == pytest.approx(lp.total_cost_vnd, rel=1e-7)


def test_a_gap_between_the_record_and_the_re_plan_year_is_one_line(
    as_planned: tuple[dict[str, Any], Any],
) -> None:
    data = copy.deepcopy(as_planned[0])
    with pytest.raises(ScenarioError) as err:
        _replan(data, 2028)
    message = str(err.value)
    assert "the record ends in 2025: re-plan from 2026, or record 2026–2027 too" in message
    assert "\n" not in message


def test_an_earlier_survey_is_carried_forward_and_a_missing_head_count_projected(
    as_planned: tuple[dict[str, Any], Any],
) -> None:
    data = copy.deepcopy(as_planned[0])
    # surveyed at the end of 2024 without a head count: 100 more at level 4 than projected
    to_2024 = copy.deepcopy(data)
    del to_2024["actuals"]["years"][2025]
    base = _replan(to_2024, 2025)
    projected = base.start_levels.set_index(["pool", "level"])["people"]
    level4 = float(projected[("pd_staff", 4)])
    level3 = float(projected[("pd_staff", 3)])
    data["actuals"]["years"][2024]["certified"] = {
        "value": {"pd_staff": {3: round(level3), 4: round(level4) + 100}},
        "source": "2024 survey (test)",
    }
    again = _replan(data, 2026)
    rows = again.start_levels.set_index(["pool", "level"])
    assert rows.loc[("pd_staff", 4), "basis"] == "survey"
    without = _replan(copy.deepcopy(as_planned[0]), 2026).start_levels.set_index(["pool", "level"])
    gain = float(rows.loc[("pd_staff", 4), "people"] - without.loc[("pd_staff", 4), "people"])
    # the 100 more persist a year, thinned by a year of attrition (4%): about 96
    assert gain == pytest.approx(100 * 0.96, abs=1.5)
    # the head count not counted in 2024 is the projection's, so the pool's size barely moves
    total = rows.xs("pd_staff", level="pool")["people"].sum()
    total_without = without.xs("pd_staff", level="pool")["people"].sum()
    assert total == pytest.approx(total_without, abs=2)


def test_a_record_enrolling_more_people_than_a_pool_has_is_one_line(
    as_planned: tuple[dict[str, Any], Any],
) -> None:
    data = copy.deepcopy(as_planned[0])
    data["actuals"]["years"][2022]["enrolments"]["value"]["pd_leaders"] = {"level3": 900}
    with pytest.raises(ScenarioError) as err:
        _replan(data)
    message = str(err.value)
    assert "actuals.years.2022.enrolments.pd_leaders" in message
    assert "enrols 900 people from level 0, but the pool has about" in message


def test_the_planned_column_is_the_plan_as_written_whatever_rates_the_re_plan_uses(
    as_planned: tuple[dict[str, Any], Any],
) -> None:
    data, plan = as_planned
    slower = copy.deepcopy(data)
    slower["courses"]["level4"]["exam_pass_probability"]["value"] = 0.5
    written = build_scenario(copy.deepcopy(data))
    rp = replan(
        copy.deepcopy(slower), build_scenario(copy.deepcopy(slower)), 2026, as_written=written
    )
    planned = rp.variance[rp.variance["measure"] == "enrolments"].set_index("year")["planned"]
    by_year = plan.schedule.groupby("year")["enrolments"].sum()
    for year in range(2021, 2026):
        assert planned[year] == pytest.approx(float(by_year.get(year, 0.0)))


def test_a_projected_head_count_keeps_its_range_scaled(
    as_planned: tuple[dict[str, Any], Any],
) -> None:
    data = copy.deepcopy(as_planned[0])
    pool = data["groups"]["provincial_district_civil_servants"]["pools"]["pd_staff"]
    pool["headcount"] = {"value": 1346, "range": [1200, 1500], "source": "assumption (test)"}
    rp = _replan(data)
    path = "groups.provincial_district_civil_servants.pools.pd_staff.headcount"
    r = rp.scenario.uncertainties.ranges[path]
    value = rp.scenario.groups["provincial_district_civil_servants"].pools["pd_staff"].headcount
    assert (r.low, r.high) == pytest.approx((1200 * value / 1346, 1500 * value / 1346), abs=1)
    assert any("keep it, scaled" in n for n in rp.notes)
