"""`simopt simulate`: exit codes, JSON, output files and the schedule round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from simopt.cli import main
from simopt.scenario import load_scenario
from simopt.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent
AS_WRITTEN = "scenarios/long_an_as_written.yaml"
LONG_AN = "scenarios/long_an.yaml"


@pytest.fixture(autouse=True)
def at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands name scenarios relative to the repository, as a planner types them."""
    monkeypatch.chdir(ROOT)


def test_simulate_the_optimisers_plan_prints_json_with_every_targets_probability(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", AS_WRITTEN, "--optimize", "--reps", "20", "--seed", "1"]
    rc = main([*argv, "--out", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    summary = json.loads(out)
    assert (summary["scenario"], summary["replications"], summary["seed"]) == (
        "long_an_as_written",
        20,
        1,
    )
    assert summary["engine"] == "fast"  # the one default of every command
    scenario = load_scenario(ROOT / AS_WRITTEN)
    targets = summary["targets"]
    assert {r["target"] for r in targets} == set(scenario.targets)
    assert len(targets) == len(scenario.targets) * len(scenario.horizon.years)
    for row in targets:
        assert 0.0 <= row["probability_met"] <= 1.0
        # a deterministic world: the simulation gives the optimiser's expectation
        assert row["mean_attained_people"] == pytest.approx(
            row["expected_attained_people"], abs=1.0
        )
        if row["year"] == row["target_year"]:
            assert row["probability_met"] == 1.0
    assert set(summary["mean_cost_vnd_by_year"]) == {str(y) for y in scenario.horizon.years}
    # the files a planner opens
    for name in ("simulation_targets.csv", "simulation_yearly.csv", "simulation.json"):
        assert (tmp_path / name).is_file(), name
    assert not (tmp_path / "simulation_replications.csv").exists()
    assert json.loads((tmp_path / "simulation.json").read_text(encoding="utf-8")) == summary
    written = pd.read_csv(tmp_path / "simulation_targets.csv")
    assert written["probability_met"].between(0, 1).all()


def test_the_table_output_names_each_target_and_the_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["simulate", AS_WRITTEN, "--optimize", "--reps", "3", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "3 replications, seed 0, fast engine" in out
    for tid in ("pd_2025", "pe_2030", "commune_2030"):
        assert tid in out
    assert "optimiser expected" in out
    assert f"Written to {tmp_path}/" in out


def test_a_schedule_written_by_optimize_round_trips_through_simulate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_dir, sim_dir = tmp_path / "plan", tmp_path / "sim"
    assert main(["optimize", LONG_AN, "--out", str(plan_dir), "--json"]) == 0
    capsys.readouterr()
    schedule_csv = plan_dir / "schedule.csv"
    assert schedule_csv.is_file()
    argv = ["simulate", LONG_AN, "--schedule", str(schedule_csv), "--reps", "30", "--seed", "4"]
    argv += ["--engine", "fast", "--keep-replications", "--out", str(sim_dir), "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["engine"] == "fast"
    assert all("expected_attained_people" not in r for r in summary["targets"])
    # the same numbers as simulating the schedule read back by the library
    scenario = load_scenario(ROOT / LONG_AN)
    direct = simulate(scenario, pd.read_csv(schedule_csv), reps=30, seed=4, engine="fast")
    means = {(r["target"], r["year"]): r["mean_attained_people"] for r in summary["targets"]}
    for row in direct.summary.to_dict("records"):
        assert means[row["target"], row["year"]] == pytest.approx(row["mean_attained_people"])
    replications = pd.read_csv(sim_dir / "simulation_replications.csv")
    assert len(replications) == 30 * len(scenario.horizon.years) * len(scenario.pools())


def test_a_missing_schedule_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "schedule.csv"
    rc = main(["simulate", LONG_AN, "--schedule", str(missing), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert rc == 2
    assert captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err
    assert "Traceback" not in err
    assert err.startswith("simopt: ")
    assert str(missing) in err and "not found" in err
    assert not (tmp_path / "o").exists()


def test_a_schedule_naming_an_unknown_pool_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("year,pool,course,enrolments\n2022,atlantis,level3,10\n", encoding="utf-8")
    rc = main(["simulate", LONG_AN, "--schedule", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert "\n" not in err and "Traceback" not in err
    assert "atlantis" in err


@pytest.mark.parametrize("reps", ["0", "-3", "many"])
def test_reps_below_one_is_an_argparse_error(
    reps: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["simulate", LONG_AN, "--optimize", "--reps", reps, "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "--reps" in capsys.readouterr().err


def test_schedule_and_optimize_are_exclusive_and_one_is_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for extra in ([], ["--optimize", "--schedule", str(tmp_path / "s.csv")]):
        with pytest.raises(SystemExit) as exc:
            main(["simulate", LONG_AN, *extra])
        assert exc.value.code == 2
    capsys.readouterr()
