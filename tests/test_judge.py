"""The seed's own plan, judged in a world with real pass rates, drop-out and attrition: in Python
and as `simopt judge`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from simopt.cli import main
from simopt.judge import (
    MAPPING_RULE,
    STATED_RULE,
    WRITTEN_RULE,
    Judgement,
    as_written_schedule,
    judge,
    stated_people,
    written_people,
)
from simopt.scenario import Scenario, load_scenario

LONG_AN = "scenarios/long_an.yaml"
AS_WRITTEN = "scenarios/long_an_as_written.yaml"


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def real() -> Scenario:
    return load_scenario(LONG_AN)


@pytest.fixture(scope="module")
def written() -> Scenario:
    return load_scenario(AS_WRITTEN)


@pytest.fixture(scope="module")
def judgement(real: Scenario, written: Scenario) -> Judgement:
    return judge(real, written, reps=300, seed=4)


def _by_group_and_phase(frame: pd.DataFrame) -> dict[tuple[str, int], float]:
    sums = frame.groupby(["group", "first_year"])["people"].sum()
    return {(str(g), int(y)): float(n) for (g, y), n in sums.items()}


def test_written_people_are_the_plans_own_counts(written: Scenario) -> None:
    people = written_people(written)
    by_phase = people.groupby("first_year")["people"].sum()
    assert by_phase[2021] == pytest.approx(5518)
    assert by_phase[2026] == pytest.approx(5467)


def test_the_stated_budget_holds_the_people_the_written_world_needs(
    real: Scenario, written: Scenario
) -> None:
    # two routes to the written plan's people: the budget lines of long_an.yaml, split by the
    # rise of the minimum counts, and the optimum of the written world; they must agree
    stated = _by_group_and_phase(stated_people(real))
    optimum = _by_group_and_phase(written_people(written))
    assert stated.keys() == optimum.keys()
    for key, n in stated.items():
        assert n == pytest.approx(optimum[key], abs=1e-6), key
    assert stated[("provincial_district_civil_servants", 2021)] == 55
    assert stated[("commune_civil_servants", 2026)] == 178 - 119
    # every stated line keeps its total (174 + 5,344 and 78 + 5,389: 10,985 in all)
    assert sum(stated.values()) == 10985


def test_schedule_spreads_the_plans_people_over_the_real_world(
    real: Scenario, written: Scenario
) -> None:
    sched = as_written_schedule(real)
    assert sched.equals(as_written_schedule(real, written))
    assert sched["enrolments"].sum() == 10985
    assert (sched["enrolments"] == sched["enrolments"].round()).all()  # whole people
    phase1 = sched[sched["year"] <= 2025]
    assert phase1["enrolments"].sum() == 5518
    # evenly over the phase's years, as the plan's "about 1,103 people a year" (whole people:
    # one more or less per cell)
    per_year = phase1.groupby("year")["enrolments"].sum()
    assert per_year.max() - per_year.min() <= phase1.groupby("year").size().max()
    pe = sched[sched["group"] == "public_employees"]
    assert set(pe["course"]) == {"level4"}
    commune = sched[sched["group"] == "commune_civil_servants"]
    assert set(commune["course"]) == {"level3"}


def test_the_written_plan_misses_the_share_targets(judgement: Judgement) -> None:
    s = judgement.simulated.summary
    at = s[s["year"] == s["target_year"]].set_index("target")
    assert at.loc["pe_2025", "probability_met"] < 0.05
    assert at.loc["pe_2030", "probability_met"] < 0.05
    # fewer are certified than the plan pays for: some fail, drop out or leave
    assert judgement.simulated.yearly["passed"].sum() < 0.9 * 10985
    assert judgement.all_together()["probability"] < 0.05


def test_the_robust_plan_costs_more_and_holds(judgement: Judgement) -> None:
    robust = judgement.robust
    assert robust is not None and robust.status == "met"
    assert robust.robust is not None and robust.robust.total_cost_vnd is not None
    assert robust.robust.total_cost_vnd > judgement.as_written_cost_vnd
    targets = judgement.targets()
    # the written plan over-trains commune leaders but misses the others
    missed = targets[targets["written_probability_met"] < 0.5]
    assert len(missed) >= 7
    assert (missed["robust_probability_met"] > 0.85).all()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("judge") / "run"
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        rc = main(["judge", LONG_AN, "--reps", "200", "--seed", "1", "--out", str(out)])
    assert rc == 0
    return out, buffer.getvalue()


def test_cli_prints_what_the_written_plan_achieves_and_its_rule(cli_run: tuple[Path, str]) -> None:
    out, text = cli_run
    assert STATED_RULE in text and MAPPING_RULE in text
    assert "The written plan's 10.985 courses meet all targets together in" in text
    summary = json.loads((out / "judge.json").read_text(encoding="utf-8"))
    assert summary["source"] == "stated budget"
    assert summary["written_plan"]["people"] == 10985
    targets = {t["target"]: t for t in summary["targets"]}
    assert len(targets) == 10
    for tid, t in targets.items():
        assert t["written_probability_met_low95"] <= t["written_probability_met"], tid
        assert t["written_probability_met"] <= t["written_probability_met_high95"], tid
        # each target's line shows its share and its probability
        assert f"  {tid} ({t['year']}): {t['written_mean_share']:.1%}" in text
    assert summary["robust_plan"]["status"] == "met"
    assert summary["robust_plan"]["cost_vnd_planned"] > summary["written_plan"]["stated_vnd"]
    schedule = pd.read_csv(out / "schedule.csv")
    assert schedule["enrolments"].sum() == 10985
    assert set(schedule["pool"]) <= set(load_scenario(LONG_AN).pools())


def test_rerun_of_a_judge_run_is_identical(
    cli_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = cli_run
    assert main(["rerun", str(out), "--out", str(tmp_path / "again")]) == 0
    assert "tables identical" in capsys.readouterr().out


def test_judge_from_the_written_world_reruns_identically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    argv = ["judge", LONG_AN, "--written", AS_WRITTEN, "--reps", "50", "--no-robust"]
    assert (
        main([*argv, "--set", "courses.level4.exam_pass_probability=0.7", "--out", str(run)]) == 0
    )
    text = capsys.readouterr().out
    assert WRITTEN_RULE in text and "Robust plan" not in text
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    # the --set what-ifs the real world only; the written world is the plan's own
    assert [s["sets"] for s in manifest["scenarios"]] == [
        ["courses.level4.exam_pass_probability=0.7"],
        [],
    ]
    assert not (run / "robust_schedule.csv").exists()
    assert main(["rerun", str(run), "--out", str(tmp_path / "again")]) == 0
    assert "tables identical" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--written", "{bad}"], ["YAML syntax error"]),
        (["--written", "nowhere.yaml"], ["nowhere.yaml", "not found"]),
        (["--written", "scenarios"], ["is a directory"]),
        (["--set", "stated_budget.phases.p2021_2025.first_year=2019"], ["outside the horizon"]),
        (
            ["--set", "stated_budget.phases.p2021_2025.lines.civil_servants.people=null"],
            ["no people"],
        ),
        (["--set", "stated_budget=null"], ["states no budget phases", "--written"]),
    ],
)
def test_a_plan_that_cannot_be_judged_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: list[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n", encoding="utf-8")
    argv = [str(bad) if a == "{bad}" else a for a in argv]
    out = tmp_path / "run"
    assert main(["judge", LONG_AN, *argv, "--reps", "50", "--out", str(out)]) == 2
    err = _one_line(capsys.readouterr().err)
    for part in expected:
        assert part in err
    assert not out.exists()


def test_a_group_without_a_course_to_its_level_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the commune group may only take the level-4 course, but its targets ask for level 3
    argv = ["judge", LONG_AN, "--set", "courses.level3.groups=[public_employees]"]
    assert main([*argv, "--reps", "50", "--out", str(tmp_path / "run")]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "commune_civil_servants" in err and "level 3" in err
    assert not (tmp_path / "run").exists()
