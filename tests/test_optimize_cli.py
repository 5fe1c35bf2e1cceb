"""`simopt optimize` and `simopt ceilings`: exit codes, files written, JSON printed."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from simopt.cli import main

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
LONG_AN = str(SCENARIOS / "long_an.yaml")
AS_WRITTEN = str(SCENARIOS / "long_an_as_written.yaml")

SCHEDULE_COLUMNS = [
    "year",
    "group",
    "pool",
    "course",
    "enrolments",
    "cost_vnd",
    "public_cost_vnd",
    "cost_vnd:state_budget",
    "cost_vnd:unit_funds",
]
"""The as-written scenario's schedule.csv: one money column per funding source."""

_TINY: dict[str, Any] = {
    "name": "tiny",
    "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
    "groups": {"g": {"pools": {"p": {"headcount": 100, "level_shares": {0: 1.0}}}}},
    "courses": {
        "c": {
            "entry_level": 0,
            "target_level": 3,
            "duration_months": 11,
            "tuition_vnd_per_trainee": 10_000_000,
            "exam_pass_probability": 1.0,
        }
    },
    "exams": {"session_months": [12]},
    "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2022}},
}


def strict_json(text: str) -> Any:
    """Parse JSON as other programs do: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


def write_tiny(tmp_path: Path, headcount: int) -> str:
    data = copy.deepcopy(_TINY)
    data["groups"]["g"]["pools"]["p"]["headcount"] = headcount
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_optimize_as_written_prints_the_golden_plan_and_writes_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["optimize", AS_WRITTEN, "--out", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    summary = strict_json(out)
    assert summary["status"] == "optimal"
    assert summary["total_cost_vnd"] == pytest.approx(175_760_000_000, abs=1)
    assert summary["total_enrolments"] == pytest.approx(10_985, abs=1e-6)
    with (tmp_path / "schedule.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0]) == SCHEDULE_COLUMNS
    assert all(r["enrolments"].isdigit() for r in rows)  # whole people, written as integers
    assert sum(float(r["enrolments"]) for r in rows) == pytest.approx(10_985, abs=1e-6)
    assert sum(float(r["cost_vnd"]) for r in rows) == pytest.approx(175_760_000_000, abs=1)
    # the as-written world's money is all public: public employees' from their units' funds,
    # civil servants' from the state budget
    for r in rows:
        source = (
            "cost_vnd:unit_funds" if r["group"] == "public_employees" else "cost_vnd:state_budget"
        )
        assert float(r[source]) == pytest.approx(float(r["cost_vnd"]), abs=1e-3)
        assert float(r["public_cost_vnd"]) == pytest.approx(float(r["cost_vnd"]), abs=1e-3)
    assert summary["schedule_kind"] == "whole_people" and summary["integer"] is True
    written = strict_json((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert written == summary
    for name in ("costs.csv", "attainment.csv", "classes.csv"):
        assert (tmp_path / name).is_file()


def test_optimize_prints_a_table_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["optimize", AS_WRITTEN, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Status: optimal" in out
    assert "2021–2025" in out and "2026–2030" in out
    assert str(tmp_path) in out


def test_a_ceiling_too_low_exits_1_and_explains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["optimize", LONG_AN, "--ceiling-vnd", "1e9", "--out", str(tmp_path), "--json"])
    printed = strict_json(capsys.readouterr().out)
    assert rc == 1
    summary = strict_json((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary == printed
    assert summary["status"] == "infeasible"
    assert summary["total_cost_vnd"] is None
    assert summary["ceiling_vnd_per_year"] == 1e9
    assert summary["unmet_targets"]
    assert summary["smallest_feasible_ceiling_vnd_per_year"] > 1e9
    assert summary["attainment"]
    # the best effort is written, and marked as what it is
    assert summary["schedule_kind"] == "best_effort"
    assert summary["best_effort_cost_vnd"] > 0
    with (tmp_path / "costs.csv").open(encoding="utf-8") as f:
        costs = list(csv.DictReader(f))
    public: dict[str, float] = {}
    for r in costs:
        if r["public"] == "True":
            public[r["year"]] = public.get(r["year"], 0.0) + float(r["cost_vnd"])
    assert public and max(public.values()) <= 1e9 * (1 + 1e-6)
    for name in ("schedule.csv", "attainment.csv", "classes.csv"):
        assert (tmp_path / name).is_file()


def test_the_best_effort_table_is_headed_as_no_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["optimize", LONG_AN, "--ceiling-vnd", "4e10", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1
    lines = out.splitlines()
    assert lines[1].startswith("Status: infeasible — the budget ceiling is too low")
    assert lines[3].startswith("BEST EFFORT — NOT A PLAN MEETING THE TARGETS")
    assert "Total cost:" not in out  # a cost of "the plan" would mislead
    assert "Best-effort cost:" in out
    assert "What the best-effort schedule reaches" in out and "SHORT by" in out


def test_optimize_with_cbc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["optimize", AS_WRITTEN, "--solver", "cbc", "--out", str(tmp_path), "--json"])
    summary = strict_json(capsys.readouterr().out)
    assert rc == 0
    assert summary["solver"] == "cbc"
    assert summary["total_cost_vnd"] == pytest.approx(175_760_000_000, abs=1)


@pytest.mark.parametrize("amount", ["abc", "-1", "nan", "inf"])
def test_a_bad_ceiling_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], amount: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["optimize", LONG_AN, f"--ceiling-vnd={amount}", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--ceiling-vnd" in err and amount in err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_a_ceiling_with_separators_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["optimize", AS_WRITTEN, "--ceiling-vnd", "200_000_000_000", "--json"]
    rc = main([*args, "--out", str(tmp_path)])
    assert rc == 0
    assert strict_json(capsys.readouterr().out)["ceiling_vnd_per_year"] == 2e11


def test_ceilings_json_gives_one_row_per_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "ceilings",
            LONG_AN,
            "--from-vnd",
            "1e10",
            "--to-vnd",
            "1e11",
            "--steps",
            "5",
            "--json",
            "--out",
            str(tmp_path),
        ]
    )
    out = strict_json(capsys.readouterr().out)
    assert rc == 0
    rows = out["ceilings"]
    assert len(rows) == 5
    assert [r["ceiling_vnd"] for r in rows] == pytest.approx([1e10, 3.25e10, 5.5e10, 7.75e10, 1e11])
    smallest = out["smallest_feasible_ceiling_vnd_per_year"]
    assert 1e10 < smallest < 1e11
    for r in rows:
        assert r["feasible"] == (r["ceiling_vnd"] >= smallest)
        assert (r["min_cost_vnd"] is None) == (not r["feasible"])
    with (tmp_path / "ceilings.csv").open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 5


def test_ceilings_prints_a_table_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["ceilings", LONG_AN, "--from-vnd", "0", "--to-vnd", "1e11", "--steps", "3"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "NOT feasible" in out and "every target met" in out
    assert "Smallest yearly ceiling meeting every target" in out


def test_ceilings_refuse_an_empty_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["ceilings", LONG_AN, "--from-vnd", "1e11", "--to-vnd", "1e10", "--out", str(tmp_path)]
    assert main(args) == 2
    assert "--to-vnd" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["optimize", "ceilings"])
def test_a_bad_set_path_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = [command, LONG_AN, "--set", "courses.level9.exam_pass_probability=0.5"]
    if command == "ceilings":
        args += ["--from-vnd", "0", "--to-vnd", "1e11"]
    rc = main([*args, "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert rc == 2
    assert "level9" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert not any(tmp_path.iterdir())


def test_a_set_override_changes_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["optimize", AS_WRITTEN, "--set", "courses.to_level4.tuition_vnd_per_trainee=8000000"]
    assert main([*args, "--out", str(tmp_path), "--json"]) == 0
    summary = strict_json(capsys.readouterr().out)
    # 10,807 people on the level-4 course at 8 million, 178 on the level-3 one at 16 million
    assert summary["total_cost_vnd"] == pytest.approx(10_807 * 8e6 + 178 * 16e6, abs=1)


def test_a_target_met_at_the_start_prints_a_plan_of_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_tiny(tmp_path, 100)
    args = ["optimize", path, "--set", "groups.g.pools.p.level_shares={0: 0.6, 3: 0.4}"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "met" in out and "40.0%" in out


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_an_empty_pool_is_reported_not_crashed_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], json_flag: list[str]
) -> None:
    # the target's base is 0 people: met (0 ≥ 30% of 0), its share undefined
    path = write_tiny(tmp_path, 0)
    rc = main(["optimize", path, "--out", str(tmp_path / "out"), *json_flag])
    out = capsys.readouterr().out
    assert rc == 0
    summary = strict_json((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "optimal"
    assert summary["total_cost_vnd"] == 0.0
    assert summary["attainment"][0]["met"] is True
    assert summary["attainment"][0]["attained_share"] is None
    assert "optimal" in out


def test_optimize_json_prices_the_cost_and_says_where_the_expectation_is_optimistic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["optimize", LONG_AN, "--continuous", "--out", str(tmp_path), "--json"]
    assert main(args) == 0
    summary = strict_json(capsys.readouterr().out)
    assert summary["schedule_kind"] == "continuous" and summary["integer"] is False
    counts = summary["binding_limits"]
    limits = [r for r in summary["shadow_prices"] if r["kind"] in ("available", "capacity")]
    assert counts["availability"] == sum(r["kind"] == "available" for r in limits) > 0
    assert counts["capacity"] == sum(r["kind"] == "capacity" for r in limits) > 0
    note = summary["expectation_note"]
    assert f"{counts['availability']} pool-years" in note and "`simopt plan`" in note


def test_as_written_json_prices_the_2025_counts_at_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # one more person by 2025 is one the 2030 count needs anyway: 0 đ, not the tie-break's 8
    assert main(["optimize", AS_WRITTEN, "--out", str(tmp_path), "--json"]) == 0
    summary = strict_json(capsys.readouterr().out)
    counts = {r["name"]: r["value_vnd"] for r in summary["shadow_prices"]}
    assert counts["pe_2025"] == pytest.approx(0.0, abs=1e-6)
    assert counts["pe_2030"] == pytest.approx(16_000_000, abs=1e-3)
    more = ["--set", "targets.pe_2025.min_count=5444"]
    assert main(["optimize", AS_WRITTEN, *more, "--out", str(tmp_path / "more"), "--json"]) == 0
    raised = strict_json(capsys.readouterr().out)
    assert raised["total_cost_vnd"] == pytest.approx(summary["total_cost_vnd"], abs=1)


def test_the_table_ends_the_attainment_with_the_expectation_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["optimize", LONG_AN, "--out", str(tmp_path)]) == 0
    out = " ".join(line.strip() for line in capsys.readouterr().out.splitlines())
    assert "The attainment shown is the expectation of the LP model" in out
    assert "simulated mean falls a little below this expectation" in out
    assert "`simopt plan`" in out


@pytest.mark.parametrize("flag", [[], ["--integer-classes"]], ids=["default", "integer-classes"])
def test_whole_people_json_has_limits_but_no_unpriced_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    # --integer-classes is the old name of the default: whole people in whole classes
    args = ["optimize", LONG_AN, *flag, "--out", str(tmp_path), "--json"]
    assert main(args) == 0
    summary = strict_json(capsys.readouterr().out)  # strict: no NaN for the unpriced rows
    assert summary["integer"] is True
    kinds = {r["kind"] for r in summary["shadow_prices"]}
    assert kinds and kinds <= {"target_share", "target_count", "ceiling"}
    assert "relaxation" in summary["shadow_prices_basis"]
    assert summary["binding_limits"]["availability"] > 0
    assert "expectation_note" in summary
    assert summary["rounding_premium_vnd"] >= 0
    assert summary["lp_cost_vnd"] + summary["rounding_premium_vnd"] == pytest.approx(
        summary["total_cost_vnd"], rel=1e-9
    )
    assert 0 <= summary["mip_gap"] <= 5e-4
    assert summary["lp_cost_vnd"] <= summary["mip_bound_vnd"] * (1 + 1e-9)
    assert summary["mip_bound_vnd"] <= summary["total_cost_vnd"] * (1 + 1e-9)
    classes = summary["classes"]
    assert classes and all(r["classes"] * r["class_size"] >= r["trainees"] for r in classes)


def test_continuous_and_integer_classes_exclude_each_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["optimize", LONG_AN, "--continuous", "--integer-classes", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_the_ceilings_sweep_is_a_library_function() -> None:
    from simopt.ceilings import sweep_ceilings
    from simopt.scenario import load_scenario

    sweep = sweep_ceilings(load_scenario(LONG_AN), from_vnd=1e10, to_vnd=1e11, steps=3)
    assert sweep.table["ceiling_vnd"].tolist() == pytest.approx([1e10, 5.5e10, 1e11])
    assert sweep.robust is None and sweep.confidence is None
    assert sweep.smallest_ceiling_vnd is not None
    assert strict_json(json.dumps(sweep.to_dict()))["ceilings"][0]["feasible"] is False
    assert "Smallest yearly ceiling meeting every target" in sweep.text()
