"""`simopt sweep` from the command line: tables, resume, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simopt.cli import main

BASE = ["sweep", "scenarios/long_an.yaml", "--quiet"]
TUITION = "courses.level3.tuition_vnd_per_trainee"


def test_a_sweep_writes_its_tables_and_the_same_command_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        *BASE,
        "--uncertainty",
        TUITION,
        "--n",
        "4",
        "--lever",
        "ceiling_vnd_per_year=1e11,2e11",
        "--outcome",
        "minimum_cost_vnd",
        "--outcome",
        "optimizer_status",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "8 experiments" in first and "minimum_cost_vnd:" in first
    experiments = pd.read_csv(tmp_path / "experiments.csv")
    assert list(experiments.columns) == ["experiment", "seed", TUITION, "ceiling_vnd_per_year"]
    outcomes = pd.read_csv(tmp_path / "outcomes.csv")
    assert len(outcomes) == 16
    before = (tmp_path / "outcomes.csv").read_bytes()
    assert main(args) == 0
    assert "8 found finished and kept" in capsys.readouterr().out
    assert (tmp_path / "outcomes.csv").read_bytes() == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--lever", "ceiling_vnd_per_yer=1,2"], "did you mean 'ceiling_vnd_per_year'"),
        (["--outcome", "cost"], "unknown outcome"),
        (["--uncertainty", "courses.level4.exam_pass_probability"], "provider_quality"),
        (["--executor", "processes", "--scheduler", "tcp://127.0.0.1:1"], "does not go with"),
        (["--n", "0"], "must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*BASE, *extra, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_factor_given_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*BASE, "--lever", "budget.ceiling_vnd_per_year=1e11", "--lever"]
    assert main([*argv, "ceiling_vnd_per_year=3e11", "--out", str(tmp_path / "a")]) == 2
    assert "given twice" in capsys.readouterr().err
    argv = [*BASE, "--n", "2", "--lever", f"{TUITION}=1000000", "--out", str(tmp_path / "b")]
    assert main(argv) == 2
    assert "given twice" in capsys.readouterr().err


def test_a_design_file_names_its_bad_cell_and_takes_a_sweeps_own_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(f"{TUITION},courses.level4.seats_per_year\n1.1e7,3000\n1.3e7,3500\n")
    first = tmp_path / "first"
    assert main([*BASE, "--design", str(good), "--out", str(first)]) == 0
    capsys.readouterr()
    # a sweep's experiments.csv (with its experiment and seed columns) is a design too
    again = [*BASE, "--design", str(first / "experiments.csv"), "--out", str(tmp_path / "2")]
    assert main(again) == 0
    assert (tmp_path / "2" / "outcomes.csv").read_bytes() == (first / "outcomes.csv").read_bytes()
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{TUITION},courses.level4.seats_per_year\n1.1e7,3000\n1.3e7,lots\n")
    assert main([*BASE, "--design", str(bad), "--out", str(tmp_path / "3")]) == 2
    err = capsys.readouterr().err
    assert "(experiment 1)" in err and "seats_per_year" in err and "lots" in err
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert main([*BASE, "--design", str(binary), "--out", str(tmp_path / "4")]) == 2
    assert "not UTF-8" in capsys.readouterr().err
