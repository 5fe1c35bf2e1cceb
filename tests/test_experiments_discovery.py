"""Scenario discovery: PRIM finds the region of the uncertainties where a target is missed.

The toy has a known answer. One pool of 200,000 at level 0 (nobody leaving), one course 0 → 3
with completion 1 and one exam sitting, its pass probability p uniform on [0.4, 0.8]; the
schedule enrols 100,000 people and the target asks for 30% of the pool, 60,000 people, so it is
missed exactly when p < 0.6, up to the binomial luck of individuals (sd ≈ 0.0016 in p). Beside
it, parameters that decide nothing: a second course's tuition and the hires of a pool no target
counts. PRIM must restrict the pass probability alone, from below to about 0.6.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from builders import with_changes

from simopt.experiments.discovery import (
    ALL,
    BOX_COLUMNS,
    Discovery,
    discover,
    futures_table,
    planner_label,
)
from simopt.scenario import Scenario, build_scenario, load_scenario
from simopt.uncertain.draws import draw_parameters

POOL = 200_000
ENROL = 100_000
MISS_BELOW = 0.6
"""The pass probability below which the toy's target is missed: 0.3 × POOL / ENROL."""
TOLERANCE = 0.02
"""How close PRIM's limit must come to MISS_BELOW: its peels move the limit by 5% of the
remaining futures at a time (about 0.01 in p near 0.6 with 1,000 futures), and the luck of
individuals blurs the edge by far less."""


def note(value: float, low: float, high: float) -> dict[str, Any]:
    return {"value": value, "range": [low, high], "distribution": "uniform", "source": "test"}


def toy_data() -> dict[str, Any]:
    course = {
        "entry_level": 0,
        "target_level": 3,
        "duration_months": 3,
        "intake_month": 1,
        "completion_rate": 1.0,
    }
    return {
        "name": "toy",
        "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
        "groups": {
            "g": {"pools": {"p": {"headcount": POOL, "level_shares": {0: 1.0}}}},
            "h": {
                "pools": {
                    "q": {
                        "headcount": 1000,
                        "level_shares": {0: 1.0},
                        "hires_per_year": note(20, 10, 30),
                    }
                }
            },
        },
        "courses": {
            "c": {
                **course,
                "tuition_vnd_per_trainee": 1_000_000,
                "exam_pass_probability": note(0.6, 0.4, 0.8),
            },
            "d": {
                **course,
                "tuition_vnd_per_trainee": note(5e6, 4e6, 6e6),
                "exam_pass_probability": 0.6,
                "groups": ["h"],
            },
        },
        "exams": {"session_months": [6], "max_attempts": 1},
        "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2022}},
    }


def toy(**changes: Any) -> Scenario:
    return build_scenario(with_changes(toy_data(), **changes))


def schedule(enrolments: float) -> pd.DataFrame:
    return pd.DataFrame(
        [(2021, "p", "c", enrolments)], columns=["year", "pool", "course", "enrolments"]
    )


@pytest.fixture(scope="module")
def found() -> Discovery:
    return discover(toy(), schedule(ENROL), reps=1000, seed=3)


def test_the_miss_share_is_the_share_of_pass_rates_below_the_threshold(found: Discovery) -> None:
    # P(p < 0.6) = 0.5 for p uniform on [0.4, 0.8]; 1,000 futures: sd 0.016, z ≤ 4
    assert found.miss_share["t"] == pytest.approx(0.5, abs=4 * 0.016)
    assert ALL not in found.miss_share  # one target: "all" would repeat it


def test_prim_recovers_the_pass_rate_threshold(found: Discovery) -> None:
    boxes = found.boxes
    assert list(boxes.columns) == BOX_COLUMNS
    first = boxes[(boxes["target"] == "t") & (boxes["box"] == 1)]
    # the box restricts the pass probability alone: the tuition and the hires decide nothing
    assert list(first["dimension"]) == ["courses.c.exam_pass_probability"]
    row = first.iloc[0]
    assert row["restricted"] == "below"
    assert row["high"] == pytest.approx(MISS_BELOW, abs=TOLERANCE)
    assert row["low"] == pytest.approx(0.4, abs=0.01)  # the smallest pass rate drawn
    assert row["density"] >= 0.95 and row["coverage"] >= 0.95
    assert row["meets_threshold"]
    assert row["mass"] == pytest.approx(row["futures_in_box"] / 1000)


def test_the_text_names_the_parameter_and_its_limit(found: Discovery) -> None:
    text = found.text("en")
    high = float(found.boxes.iloc[0]["high"])
    assert "c exam pass probability is below" in text
    assert f"{100 * high:.0f}%" in text
    assert "t is missed in" in text
    assert "peel alpha 0.05" in text and "least mass 5%" in text  # PRIM's settings are stated
    assert "1,000 simulated futures" in text
    vi = found.text("vi")
    assert "tỷ lệ đỗ kỳ thi c dưới" in vi


def test_the_result_is_plain_json(found: Discovery) -> None:
    data = json.loads(json.dumps(found.to_dict()))
    assert data["prim"]["peel_alpha"] == 0.05
    assert data["prim"]["threshold_density"] == 0.5
    assert data["futures"] == 1000
    assert data["boxes"][0]["dimension"] == "courses.c.exam_pass_probability"


def test_a_target_never_missed_is_said_plainly() -> None:
    # everyone enrolled: at least 0.4 × 200,000 = 80,000 pass, above the 60,000 asked
    result = discover(toy(), schedule(POOL), reps=300, seed=1)
    assert result.never_missed
    assert result.boxes.empty
    assert "No target is missed in any of the 300 futures" in result.text("en")


def test_two_targets_add_all_together() -> None:
    # a second target missed when p < 0.5 (25% of the pool): "all" is missed when either is
    data = with_changes(toy_data())
    data["targets"]["t2"] = {"groups": ["g"], "min_level": 3, "share": 0.25, "year": 2022}
    result = discover(build_scenario(data), schedule(ENROL), reps=600, seed=2)
    assert set(result.miss_share) == {"t", "t2", ALL}
    assert result.miss_share[ALL] == pytest.approx(result.miss_share["t"])
    t2 = result.boxes[result.boxes["target"] == "t2"].iloc[0]
    assert t2["high"] == pytest.approx(0.5, abs=TOLERANCE)


def test_level_tables_count_by_their_certified_share() -> None:
    data = toy_data()
    data["groups"]["g"]["pools"]["p"]["level_shares"] = {
        "value": {0: 0.8, 3: 0.2},
        "concentration": 50,
        "source": "test",
    }
    s = build_scenario(data)
    draws = draw_parameters(s.uncertainties, 50, seed=0)
    x = futures_table(s, draws)
    table = "groups.g.pools.p.level_shares"
    assert np.allclose(x[table], 1.0 - draws.mixes[table][:, 0])
    assert "courses.c.exam_pass_probability" in x.columns


def test_unknown_targets_and_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="nope"):
        discover(toy(), schedule(ENROL), reps=50, targets=["nope"])
    with pytest.raises(ValueError, match="threshold"):
        discover(toy(), schedule(ENROL), reps=50, threshold=1.5)


def test_labels_are_planners_words() -> None:
    s = load_scenario("scenarios/long_an.yaml")
    assert planner_label(s, "courses.level4.exam_pass_probability") == (
        "level4 exam pass probability"
    )
    pe = "groups.public_employees.pools.pe_staff.attrition_rate_per_year"
    assert planner_label(s, pe) == "attrition per year (other public employees)"
    assert planner_label(s, "promotions.0.rate_per_year") == "promotion rate pd_staff → pd_leaders"


# --------------------------------------------------------------------------- the command


def run_command(argv: list[str]) -> int:
    """The command as ``simopt`` runs it."""
    from simopt.cli import main

    return main(argv)


def test_the_command_discovers_where_the_robust_plan_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "toy.yaml"
    file.write_text(yaml.safe_dump(toy_data()), encoding="utf-8")
    out = tmp_path / "run"
    argv = ["discover", str(file), "--reps", "600", "--plan-reps", "200", "--out", str(out)]
    assert run_command(argv) == 0
    printed = capsys.readouterr().out
    assert "the robust plan" in printed and "c exam pass probability is below" in printed
    boxes = pd.read_csv(out / "discovery_boxes.csv")
    assert list(boxes.columns) == BOX_COLUMNS
    # the robust plan holds 90%: it fails only at the lowest pass rates drawn
    first = boxes.iloc[0]
    assert first["dimension"] == "courses.c.exam_pass_probability"
    assert first["restricted"] == "below" and first["high"] < 0.5
    summary = json.loads((out / "discovery.json").read_text())
    assert summary["plan"]["status"] == "met" and summary["futures"] == 600
    assert (out / "schedule.csv").exists()
    capsys.readouterr()
    assert run_command(["rerun", str(out), "--out", str(tmp_path / "again")]) == 0
    assert "identical" in capsys.readouterr().out


def test_the_command_analyses_a_schedule_given(tmp_path: Path) -> None:
    file = tmp_path / "toy.yaml"
    file.write_text(yaml.safe_dump(toy_data()), encoding="utf-8")
    csv = tmp_path / "schedule.csv"
    schedule(ENROL).to_csv(csv, index=False)
    out = tmp_path / "run"
    argv = ["discover", str(file), "--schedule", str(csv), "--reps", "600", "--out", str(out)]
    assert run_command([*argv, "--json"]) == 0
    boxes = pd.read_csv(out / "discovery_boxes.csv")
    assert boxes.iloc[0]["high"] == pytest.approx(MISS_BELOW, abs=TOLERANCE)
