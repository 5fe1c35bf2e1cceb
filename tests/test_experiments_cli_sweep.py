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
