"""Bad command lines and bad files: one line on stderr, the right exit code, nothing stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simopt.cli import main

LONG_AN = "scenarios/long_an.yaml"


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    "argv",
    [
        ["optimize", LONG_AN, "--solver", "glpk"],
        ["optimize", LONG_AN, "--ceiling-vnd", "abc"],
        ["simulate", LONG_AN, "--optimize", "--seed", "-1"],
        ["simulate", LONG_AN, "--optimize", "--reps", "0"],
        ["plan", LONG_AN, "--confidence", "1.5"],
        ["frobnicate", LONG_AN],
    ],
)
def test_usage_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "--help" in _one_line_error(capsys)


def test_a_directory_as_schedule(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["simulate", LONG_AN, "--schedule", str(tmp_path), "--reps", "5"]) == 2
    assert "is a directory, not a schedule file" in _one_line_error(capsys)


def test_a_schedule_with_the_wrong_columns(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "semicolons.csv"
    bad.write_text("year;pool;course;enrolments\n2022;pe_staff;level4;10\n")
    assert main(["simulate", LONG_AN, "--schedule", str(bad), "--reps", "5"]) == 2
    err = _one_line_error(capsys)
    assert str(bad) in err and "missing column" in err


def test_an_absurd_enrolment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "big.csv"
    bad.write_text("year,pool,course,enrolments\n2022,pe_staff,level4,1e30\n")
    assert main(["simulate", LONG_AN, "--schedule", str(bad), "--reps", "5"]) == 2
    err = _one_line_error(capsys)
    # the file, its line, the column and the value as written, with the rule
    assert f"{bad}:2: enrolments = '1e30': must be at most 1,000,000,000" in err


def test_too_few_replications_for_the_confidence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", LONG_AN, "--reps", "10"]) == 2
    assert "at least 100" in _one_line_error(capsys)


def test_an_infeasible_run_leaves_no_stale_schedule(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["optimize", LONG_AN, "--out", str(tmp_path), "--json"]) == 0
    assert (tmp_path / "schedule.csv").is_file()
    plan_schedule = (tmp_path / "schedule.csv").read_bytes()
    capsys.readouterr()
    infeasible = ["optimize", LONG_AN, "--out", str(tmp_path), "--json", "--ceiling-vnd", "1e9"]
    # an earlier run is never overwritten unasked: one line, exit 2, the run intact
    assert main(infeasible) == 2
    assert "--replace" in _one_line_error(capsys)
    assert (tmp_path / "schedule.csv").is_file()
    assert main([*infeasible, "--replace"]) == 1
    capsys.readouterr()
    # the folder now holds the infeasible run's own best-effort schedule, marked as such
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "infeasible"
    assert summary["schedule_kind"] == "best_effort"
    assert (tmp_path / "schedule.csv").read_bytes() != plan_schedule
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "infeasible" and manifest["exit_code"] == 1
