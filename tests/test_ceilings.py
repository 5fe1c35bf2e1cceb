"""`simopt ceilings --simulate`: each row is that ceiling's robust plan, and the conclusion is read
off the rows, so that the table and its closing line cannot disagree."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from simopt.ceilings import MARK, CeilingSweep, _Entry, _make_consistent, sweep_ceilings
from simopt.cli import main
from simopt.format import vnd
from simopt.plan import robust_plan
from simopt.scenario import Scenario, load_scenario

LONG_AN = "scenarios/long_an.yaml"
REPS = 200


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def long_an() -> Scenario:
    return load_scenario(LONG_AN)


@pytest.fixture(scope="module")
def sweep(long_an: Scenario) -> CeilingSweep:
    # below the smallest ceiling in expectation (6.03e10), between it and the robust one, above
    return sweep_ceilings(
        long_an, from_vnd=5e10, to_vnd=1.1e11, steps=3, simulate=True, reps=REPS, seed=0
    )


def test_each_row_is_that_ceilings_robust_plan_with_the_expected_plan_beside_it(
    sweep: CeilingSweep,
) -> None:
    columns = set(sweep.table.columns)
    targets = ["pe_2025", "pd_2030", "commune_leaders_2030"]
    for t in targets:
        assert f"robust_probability_met:{t}" in columns
        assert f"expected_plan_probability_met:{t}" in columns
    # no bare probability column that a reader could take for either plan
    assert not any(c.startswith("probability_met:") for c in columns)
    assert {"robust_status", "robust_cost_vnd", "robust_probability_within_ceiling"} <= columns
    # the search's ceiling is a row of its own, between the swept ones
    assert sweep.robust is not None and sweep.robust.ceiling_vnd is not None
    searched = sweep.table[sweep.table["found_by"] == "search"]
    assert searched["ceiling_vnd"].tolist() == pytest.approx([sweep.robust.ceiling_vnd])
    assert sweep.table["ceiling_vnd"].is_monotonic_increasing
    assert len(sweep.table) == 4


def test_the_conclusion_agrees_with_every_row(sweep: CeilingSweep) -> None:
    t = sweep.table
    smallest = sweep.smallest_at_confidence_vnd
    assert smallest is not None
    marked = t[t["smallest_at_confidence"]]
    assert marked["ceiling_vnd"].tolist() == [smallest]
    at_or_above = t[t["ceiling_vnd"] >= smallest]
    below = t[t["ceiling_vnd"] < smallest]
    assert (at_or_above["robust_status"] == "met").all()
    assert not (below["robust_status"] == "met").any()
    # a met row's robust plan shows every target at the confidence within the fresh sample's
    # Monte Carlo error, spent within the ceiling in some replications
    for row in at_or_above.to_dict("records"):
        assert row["robust_judged_on"] == "fresh sample"
        assert row["robust_min_probability_met"] > 0.8
        assert 0 < row["robust_probability_within_ceiling"] <= 1
        assert row["robust_cost_vnd"] > row["min_cost_vnd"]  # confidence costs money
    text = sweep.text()
    assert f"{vnd(smallest)} ({MARK}" in text.splitlines()[-1]
    assert sum(f"{MARK} smallest found" in line for line in text.splitlines()) == 1


def test_a_met_rows_figures_are_those_simopt_plan_reports(
    long_an: Scenario, sweep: CeilingSweep
) -> None:
    row = sweep.table.iloc[-1].to_dict()
    assert row["robust_source"] == "this ceiling"
    again = robust_plan(long_an, ceiling_vnd=row["ceiling_vnd"], reps=REPS, seed=0)
    assert again.is_met and again.confirmed is not None and again.robust is not None
    assert row["robust_cost_vnd"] == pytest.approx(again.robust.total_cost_vnd)
    s = again.confirmed.summary
    at = s[s["year"] == s["target_year"]].set_index("target")["probability_met"]
    for tid, p in at.items():
        assert row[f"robust_probability_met:{tid}"] == pytest.approx(p)
    assert row["robust_min_probability_met"] == pytest.approx(at.min())


def test_the_sweep_is_json_without_nan(sweep: CeilingSweep) -> None:
    data = strict_json(json.dumps(sweep.to_dict()))
    assert data["smallest_ceiling_vnd_per_year_at_confidence"] == sweep.smallest_at_confidence_vnd
    assert len(data["ceilings"]) == len(sweep.table)
    below = data["ceilings"][0]
    assert below["robust_status"] == "infeasible" and below["robust_cost_vnd"] is None


def _plan(met: bool, buffers: dict[str, float] | None = None) -> Any:
    return SimpleNamespace(is_met=met, buffers=buffers or {})


def test_rows_above_the_smallest_are_solved_again_from_its_margins() -> None:
    held = _plan(True, {"t": 12.0})
    entries = [
        _Entry(4e10, {}, _plan(False), "sweep"),
        _Entry(5e10, {}, held, "search"),
        _Entry(6e10, {}, _plan(False), "sweep"),  # its own loop stopped short
        _Entry(7e10, {}, _plan(False), "sweep"),
        _Entry(8e10, {}, _plan(True), "sweep"),
    ]
    asked: list[tuple[float, dict[str, float] | None]] = []
    resumed = _plan(True)

    def robust_at(ceiling: float, start: dict[str, float] | None) -> Any:
        asked.append((ceiling, start))
        return resumed if ceiling == 6e10 else _plan(False)

    said: list[str] = []
    smallest = _make_consistent(entries, robust_at, said.append)
    assert smallest is entries[1]
    assert asked == [(6e10, {"t": 12.0}), (7e10, {"t": 12.0})]
    assert entries[2].plan is resumed and "resumed from the margins" in entries[2].source
    # where even that fails, the smaller ceiling's plan is shown: it fits under this one too
    assert entries[3].plan is held and "fits under this ceiling" in entries[3].source
    assert not entries[0].plan.is_met and entries[4].source == "this ceiling"
    assert len(said) == 2


def test_no_met_row_means_no_conclusion() -> None:
    entries = [_Entry(4e10, {}, _plan(False), "sweep")]
    assert _make_consistent(entries, lambda c, s: _plan(True), lambda m: None) is None


def test_cli_prints_the_robust_rows_and_progress_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    args = ["ceilings", LONG_AN, "--from-vnd", "9e10", "--to-vnd", "1e11", "--steps", "2"]
    rc = main([*args, "--simulate", "--reps", str(REPS), "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert rc == 0
    progress = [line for line in err.splitlines() if line.strip().startswith("ceiling ")]
    assert [line.split(":")[0].strip() for line in progress] == ["ceiling 1/2", "ceiling 2/2"]
    assert "robust plan met" in out and "expected-value plan:" in out
    assert "Smallest yearly ceiling found meeting every target on its own" in out
    table = pd.read_csv(tmp_path / "run" / "ceilings.csv")
    assert len(table) == 3  # two swept ceilings and the search's
    assert table["smallest_at_confidence"].sum() == 1


def test_cli_prints_no_progress_off_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    args = ["ceilings", LONG_AN, "--from-vnd", "1e11", "--to-vnd", "1e11", "--steps", "1"]
    assert main([*args, "--simulate", "--reps", str(REPS), "--out", str(tmp_path / "r")]) == 0
    assert capsys.readouterr().err == ""


def test_too_few_replications_for_the_confidence_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["ceilings", LONG_AN, "--from-vnd", "1e11", "--to-vnd", "1e11", "--simulate"]
    assert main([*args, "--reps", "20", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--reps 20" in err
    assert not (tmp_path / "r").exists()


def test_missing_values_stay_missing_in_the_text() -> None:
    # a row the solver could not solve has no robust figures: shown as words, not as NaN
    table = pd.DataFrame(
        [
            {
                "ceiling_vnd": 1e10,
                "found_by": "sweep",
                "smallest_at_confidence": False,
                "robust_status": "not_solved",
                "robust_message": "HiGHS said no",
                "robust_judged_on": "",
                "status": "not_solved",
                "feasible": False,
            }
        ]
    )
    sweep = CeilingSweep("x", "X", table, None, 0.9, None, reps=100, seed=0, uncertainty="none")
    text = sweep.text()
    assert "nan" not in text.lower() and "HiGHS said no" in text
    assert "No ceiling tested meets every target on its own" in text
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in sweep.records()[0].values())


def test_the_conclusion_says_where_its_ceiling_came_from() -> None:
    from simopt.plan import RobustCeiling

    row = {
        "ceiling_vnd": 7e10,
        "found_by": "sweep",
        "smallest_at_confidence": True,
        "robust_status": "met",
        "robust_message": "every target holds",
        "robust_judged_on": "fresh sample",
        "robust_source": "this ceiling",
        "robust_cost_vnd": 6e11,
        "robust_enrolments": 36000.0,
        "status": "optimal",
        "feasible": True,
        "min_cost_vnd": 5e11,
    }
    for search, words in [
        (RobustCeiling(None, None, "no stable ceiling found"), "the search found none"),
        (RobustCeiling(8e10, None, "held"), f"below the search's {vnd(8e10)}"),
    ]:
        sweep = CeilingSweep(
            "x", "X", pd.DataFrame([row]), 6e10, 0.9, search, 7e10, reps=100, seed=0
        )
        last = sweep.text().splitlines()[-1]
        assert last.startswith("Smallest yearly ceiling found meeting every target on its own")
        assert vnd(7e10) in last and words in last


def test_the_ceilings_robust_plans_on_dask_give_the_same_rows(
    long_an: Scenario, sweep: CeilingSweep
) -> None:
    on_dask = sweep_ceilings(
        long_an,
        from_vnd=5e10,
        to_vnd=1.1e11,
        steps=3,
        simulate=True,
        reps=REPS,
        seed=0,
        executor="dask",
        executor_workers=2,
    )
    pd.testing.assert_frame_equal(on_dask.table, sweep.table)
    assert on_dask.text() == sweep.text()


def test_the_chart_shows_no_cost_for_a_plan_that_stopped_short(sweep: CeilingSweep) -> None:
    frame = sweep.chart_frame()
    table = sweep.table.sort_values("ceiling_vnd").reset_index(drop=True)
    short = table["robust_status"] != "met"
    assert short.any() and (~short).any()
    assert frame["cost_vnd"][short].isna().all()
    assert frame["cost_vnd"][~short].tolist() == table["robust_cost_vnd"][~short].tolist()


def test_the_cli_writes_each_ceiling_as_an_experiment(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["ceilings", LONG_AN, "--from-vnd", "5e10", "--to-vnd", "1e11", "--steps", "3"]
    assert main([*args, "--out", str(out)]) == 0
    experiments = pd.read_csv(out / "experiments.csv")
    assert experiments["ceiling_vnd"].tolist() == [5e10, 7.5e10, 1e11]
    outcomes = pd.read_csv(out / "outcomes.csv")
    table = pd.read_csv(out / "ceilings.csv")
    status = outcomes.groupby("experiment")["status"].first().tolist()
    assert status == table["status"].tolist()
    assert set(outcomes["outcome"]) <= set(table.columns)
