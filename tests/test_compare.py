"""`simopt compare`: named what-ifs of one file, per-head figures, the table as text, rerun."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simopt.cli import main
from simopt.compare import (
    BASE,
    CERTIFIED,
    NOTHING,
    PER_PERSON,
    PER_POINT,
    Variant,
    check_variant_name,
    command_line_variants,
    nothing_shares,
    read_variants_file,
)
from simopt.errors import ScenarioError
from simopt.scenario import load_scenario

LONG_AN = "scenarios/long_an.yaml"
REPS = "100"  # the fewest that show 90% (about ten expected misses)
HARD = "courses.level4.exam_pass_probability=0.5"
SEATS = "courses.level3.seats_per_year=3500"
CHEAP = "courses.level4.tuition_vnd_per_trainee=12000000"


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def variants_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("cmp") / "run"
    argv = ["compare", LONG_AN, "--reps", REPS, "--set", SEATS]
    argv += ["--variant", "hard exam", "--set", HARD, "--variant", "cheap", "--set", CHEAP]
    assert main([*argv, "--json", "--out", str(out)]) == 0
    return out, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _table(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "compare.csv").set_index("measure")


def test_variants_are_columns_after_the_unmodified_file(
    variants_run: tuple[Path, dict[str, Any]],
) -> None:
    run, manifest = variants_run
    table = _table(run)
    assert list(table.columns) == [BASE, "hard exam", "cheap"]
    # the shared --set goes to every variant, not to the file as written
    assert [s["sets"] for s in manifest["scenarios"]] == [[], [SEATS, HARD], [SEATS, CHEAP]]
    assert manifest["options"]["resolved_variants"] == [
        {"name": "hard exam", "sets": [SEATS, HARD]},
        {"name": "cheap", "sets": [SEATS, CHEAP]},
    ]
    cost = table.loc["robust plan: cost_vnd"].astype(float)
    assert cost["hard exam"] > cost[BASE]  # fewer pass: more courses for the same targets
    assert cost["cheap"] < cost[BASE]  # the same people, cheaper tuition


def test_per_head_figures_are_what_their_rows_say(
    variants_run: tuple[Path, dict[str, Any]],
) -> None:
    table = _table(variants_run[0])
    for col in table.columns:
        cost = float(table.loc["robust plan: cost_vnd", col])
        certified = float(table.loc[CERTIFIED, col])
        enrolments = float(table.loc["robust plan: enrolments", col])
        assert 0 < certified < enrolments  # some fail or drop out
        assert float(table.loc[PER_PERSON, col]) == pytest.approx(cost / certified)
        for t in ("pe_2030", "pd_2025"):
            share = float(table.loc[f"{t} ({t[-4:]}): expected share", col])
            nothing = float(table.loc[f"{t} ({t[-4:]}): {NOTHING}", col])
            assert nothing < share
            per_point = float(table.loc[f"{t} ({t[-4:]}): {PER_POINT}", col])
            assert per_point == pytest.approx(cost / (100 * (share - nothing)))
    # a pass rate changes what a certificate costs, not what doing nothing attains
    assert float(table.loc[PER_PERSON, "hard exam"]) > float(table.loc[PER_PERSON, BASE])
    nothing_row = table.loc[f"pe_2030 (2030): {NOTHING}"].astype(float)
    assert nothing_row.nunique() == 1


def test_doing_nothing_is_what_the_simulator_sees_with_an_empty_schedule() -> None:
    from simopt.simulate import simulate

    s = load_scenario(LONG_AN)
    empty = pd.DataFrame(columns=["year", "group", "pool", "course", "enrolments"])
    sim = simulate(s, empty, reps=400, seed=3, engine="fast", uncertainty="none")
    at = sim.summary[sim.summary["year"] == sim.summary["target_year"]].set_index("target")
    for tid, share in nothing_shares(s).items():
        simulated = float(at.loc[tid, "mean_share"])
        spread = float(at.loc[tid, "sd_attained_people"] / at.loc[tid, "mean_base_people"])
        assert abs(simulated - share) < 4.5 * spread / np.sqrt(400) + 0.002, tid


def test_the_text_table_names_its_columns_and_its_definitions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["compare", LONG_AN, "--reps", REPS, "--variant", "hard", "--set", HARD]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("measure"))
    assert header.split() == ["measure", BASE, "hard"]
    assert f"variant hard: {HARD}" in out
    assert "VND per person certified = robust plan cost ÷ people certified" in out
    assert "over doing nothing (no enrolments)" in out
    per_person = next(line for line in out.splitlines() if line.startswith(PER_PERSON))
    assert per_person.count("đ") == 2
    assert "Written to" in out


def test_a_variants_file_gives_named_columns_and_reruns_when_it_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    variants = tmp_path / "variants.yaml"
    variants.write_text(
        "more seats:\n  courses.level4.seats_per_year: 6000\n"
        "narrow range:\n  courses.level4.exam_pass_probability.range: [0.55, 0.65]\n",
        encoding="utf-8",
    )
    run = tmp_path / "run"
    argv = ["compare", LONG_AN, "--variants", str(variants), "--reps", REPS, "--json"]
    assert main([*argv, "--out", str(run)]) == 0
    table = json.loads(capsys.readouterr().out)
    assert list(table["status"]) == [BASE, "more seats", "narrow range"]
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenarios"][2]["sets"] == [
        "courses.level4.exam_pass_probability.range=[0.55, 0.65]"
    ]
    variants.unlink()  # the manifest holds the variants: the file is not needed to redo the run
    assert main(["rerun", str(run), "--out", str(tmp_path / "again")]) == 0
    assert "identical" in capsys.readouterr().out


def test_rerun_of_a_compare_run_with_command_line_variants_is_identical(
    variants_run: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = variants_run
    assert main(["rerun", str(run), "--out", str(tmp_path / "again")]) == 0
    out = capsys.readouterr().out
    assert "all 4 tables identical" in out  # compare.csv, .json, experiments, outcomes
    assert (tmp_path / "again" / "compare.csv").read_bytes() == (run / "compare.csv").read_bytes()


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "v.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ok: {courses.level4.seats_per_year: 6000}\n"
            "broken:\n  courses.level4.exam_pass_probability: 1.5\n",
            [
                ":3:",
                "courses.level4.exam_pass_probability = 1.5",
                "variant 'broken'",
                "probability",
            ],
        ),
        (
            "typo:\n  courses.levl4.seats_per_year: 6000\n",
            [":2:", "courses.levl4", "did you mean 'level4'", "variant 'typo'"],
        ),
        ("base:\n  courses.level4.seats_per_year: 1\n", [":1:", "'base' names the unmodified"]),
        ("- a\n- b\n", ["maps each variant's name", "a list"]),
        ("x: 3\n", [":1:", "x = 3", "not a number"]),
        ('"bad\\x1bname": {courses.level4.seats_per_year: 1}\n', ["\\x1b", "printable"]),
        ("", ["empty"]),
        ("a: {b: 1}\na: {c: 2}\n", [":2:"]),
    ],
)
def test_a_bad_variants_file_is_one_line_naming_file_variant_path_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: list[str]
) -> None:
    path = _write(tmp_path, text)
    out = tmp_path / "run"
    rc = main(["compare", LONG_AN, "--variants", path, "--reps", REPS, "--out", str(out)])
    err = _one_line(capsys.readouterr().err)
    assert rc == 2
    assert path in err
    for part in expected:
        assert part in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--variant", "a", "--variant", "a"], ["--variant", "'a'", "unique"]),
        (["--variant", ""], ["must not be empty"]),
        (["--variant", " a"], ["space"]),
        (["--variant", "base"], ["'base' names the unmodified"]),
        (["--variant", "x\x1by"], ["\\x1b", "printable"]),
        (["--variant", "x", "--set", "foo"], ["--set", "PATH=VALUE"]),
        (
            ["--variant", "x", "--set", "courses.level4.exam_pass_probability=2"],
            ["--set (variant 'x')", "exam_pass_probability = 2"],
        ),
        (["scenarios/quang_tri.yaml", "--variant", "x"], ["one FILE"]),
    ],
)
def test_bad_command_line_variants_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: list[str]
) -> None:
    out = tmp_path / "run"
    assert main(["compare", LONG_AN, *argv, "--reps", REPS, "--out", str(out)]) == 2
    err = _one_line(capsys.readouterr().err)
    for part in expected:
        assert part in err
    assert not out.exists()


def test_command_line_variants_keep_the_order_of_their_sets() -> None:
    shared, variants = command_line_variants(
        ["a", "b"], ["s=1", "x=2", "y=3", "z=4"], ["", "a", "b", "a"]
    )
    assert shared == ["s=1"]
    assert [v.sets for v in variants] == [("s=1", "x=2", "z=4"), ("s=1", "y=3")]


def test_a_variants_file_value_reads_back_as_written(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "v:\n  budget.ceiling_vnd_per_year: 6.5e10\n"
        "  groups.public_employees.pools.pe_staff.level_shares.value: {0: 0.5, 3: 0.3, 4: 0.2}\n"
        "  courses.level4.name: 'yes'\n",
    )
    (variant,) = read_variants_file(path, shared=[SEATS])
    assert variant.sets[0] == SEATS and variant.shared == 1
    assert variant.lines == {
        "budget.ceiling_vnd_per_year": 2,
        "groups.public_employees.pools.pe_staff.level_shares.value": 3,
        "courses.level4.name": 4,
    }
    from simopt.compare import load_variant

    s = load_variant(LONG_AN, variant)
    assert s.budget.ceiling_vnd_per_year == 6.5e10
    assert s.groups["public_employees"].pools["pe_staff"].level_shares is not None
    assert s.courses["level4"].name == "yes"  # quoted text stays text, not a boolean
    assert s.courses["level3"].seats_per_year == 3500


def test_variant_names_are_checked_like_columns() -> None:
    assert check_variant_name("ok name", where="x") == "ok name"
    with pytest.raises(ScenarioError, match="at most"):
        check_variant_name("n" * 41, where="x")
    with pytest.raises(ScenarioError, match="text"):
        check_variant_name(2030, where="x")
    assert Variant("a", ("p=1",)).to_dict() == {"name": "a", "sets": ["p=1"]}


def test_several_files_still_compare_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["compare", LONG_AN, "scenarios/quang_tri.yaml", "--reps", REPS, "--json"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 0
    table = json.loads(capsys.readouterr().out)
    assert list(table["status"]) == ["long_an", "quang_tri"]
    assert PER_PERSON in table


def test_a_rerun_refuses_recorded_variants_it_cannot_trust(
    variants_run: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(variants_run[0], copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["options"]["resolved_variants"] = [{"name": "hard exam", "sets": [HARD]}]
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert main(["rerun", str(copy), "--out", str(tmp_path / "again")]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "do not match the recorded scenarios" in err
    assert not (tmp_path / "again").exists()


def test_the_columns_run_as_experiments_on_local_processes_with_the_same_table(
    variants_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    run, _ = variants_run
    out = tmp_path / "processes"
    argv = ["compare", LONG_AN, "--reps", REPS, "--set", SEATS]
    argv += ["--variant", "hard exam", "--set", HARD, "--variant", "cheap", "--set", CHEAP]
    argv += ["--executor", "processes", "--workers", "2", "--out", str(out)]
    assert main(argv) == 0
    assert (out / "compare.csv").read_bytes() == (run / "compare.csv").read_bytes()


def test_the_run_also_writes_the_experiments_layers_two_tables(
    variants_run: tuple[Path, dict[str, Any]],
) -> None:
    run, _ = variants_run
    experiments = pd.read_csv(run / "experiments.csv", keep_default_na=False)
    assert list(experiments["name"]) == [BASE, "hard exam", "cheap"]
    assert list(experiments["sets"]) == ["", f"{SEATS}; {HARD}", f"{SEATS}; {CHEAP}"]
    outcomes = pd.read_csv(run / "outcomes.csv")
    assert list(outcomes.columns) == ["experiment", "outcome", "value", "status"]
    table = _table(run)
    cost = outcomes[outcomes["outcome"] == "robust plan: cost_vnd"].set_index("experiment")
    for i, name in enumerate(experiments["name"]):
        assert cost.loc[i, "value"] == pytest.approx(
            float(table.loc["robust plan: cost_vnd", name])
        )
        assert cost.loc[i, "status"] == table.loc["status", name]
