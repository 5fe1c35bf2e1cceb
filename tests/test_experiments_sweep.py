"""Sweeps: aligned tables, the same bytes on every executor, resumable after an interruption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import simopt.experiments.executors as executors
from simopt.experiments import (
    ExperimentModel,
    SweepError,
    SweepFolderError,
    grid_design,
    lhs_design,
    list_design,
    run_sweep,
)
from simopt.experiments.store import JOURNAL_FILE, OUTCOMES_FILE, SweepStore

NAMES = ["courses.level3.tuition_vnd_per_trainee", "exams.retake_pass_factor"]
OUTCOMES = ["minimum_cost_vnd", "attainment:pe_2030", "optimizer_status"]


@pytest.fixture(scope="module")
def model() -> ExperimentModel:
    return ExperimentModel.from_file("scenarios/long_an.yaml")


def _files(folder: Path) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in ("experiments.csv", OUTCOMES_FILE)}


def test_outcomes_are_long_and_aligned_with_the_experiments(model: ExperimentModel) -> None:
    design = lhs_design(model, 6, seed=0, names=NAMES)
    res = run_sweep(model, design, OUTCOMES, progress=False)
    assert list(res.outcomes.columns) == ["experiment", "outcome", "value", "status"]
    assert len(res.outcomes) == 6 * len(OUTCOMES)
    assert list(res.experiments.columns) == ["experiment", "seed", *NAMES]
    wide = res.wide()
    assert list(wide["experiment"]) == list(range(6))
    assert set(wide["optimizer_status"]) == {"optimal"}
    # each row's figures are the optimiser's on that row's scenario
    from simopt.optimize import optimize

    for i in (0, 5):
        plan = optimize(model.scenario_at(design.rows()[i]), continuous=True)
        at = plan.attainment
        share = at[(at["target"] == "pe_2030") & (at["year"] == at["target_year"])]
        assert wide.loc[i, "minimum_cost_vnd"] == pytest.approx(plan.total_cost_vnd, rel=1e-7)
        assert wide.loc[i, "attainment:pe_2030"] == pytest.approx(
            float(share["attained_share"].iloc[0]), rel=1e-7
        )


def test_a_tighter_ceiling_is_an_outcome_not_an_error(model: ExperimentModel) -> None:
    design = grid_design({"ceiling_vnd_per_year": [1e9, 2e11]})
    res = run_sweep(model, design, ["minimum_cost_vnd", "optimizer_status"], progress=False)
    wide = res.wide()
    assert list(wide["optimizer_status"]) == ["infeasible", "optimal"]
    assert wide["minimum_cost_vnd"].isna().tolist() == [True, False]


def test_same_bytes_sequential_and_on_local_processes(
    model: ExperimentModel, tmp_path: Path
) -> None:
    design = lhs_design(model, 10, seed=5, names=NAMES)
    run_sweep(model, design, OUTCOMES, out=tmp_path / "seq", progress=False)
    run_sweep(
        model,
        design,
        OUTCOMES,
        out=tmp_path / "proc",
        executor="processes",
        workers=2,
        chunk_size=3,
        progress=False,
    )
    assert _files(tmp_path / "seq") == _files(tmp_path / "proc")
    assert not (tmp_path / "seq" / JOURNAL_FILE).exists()


def test_an_interrupted_sweep_resumes_without_redoing_finished_rows(
    model: ExperimentModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    design = lhs_design(model, 8, seed=2, names=NAMES)
    whole = tmp_path / "whole"
    run_sweep(model, design, OUTCOMES, out=whole, progress=False)

    broken = tmp_path / "broken"
    real_record = SweepStore.record

    def crash_after_three(self: SweepStore, experiment: int, records: list) -> None:  # type: ignore[type-arg]
        if len(self.finished()) >= 3:
            raise KeyboardInterrupt
        real_record(self, experiment, records)

    monkeypatch.setattr(SweepStore, "record", crash_after_three)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(model, design, OUTCOMES, out=broken, progress=False, chunk_size=1)
    monkeypatch.setattr(SweepStore, "record", real_record)
    assert not (broken / OUTCOMES_FILE).exists()
    # a line half written when the machine stopped does not count
    with open(broken / JOURNAL_FILE, "a", encoding="utf-8") as f:
        f.write('{"experiment": 7, "outcomes": [["minimum_cost_vnd", 1')

    ran: list[int] = []
    real_evaluate = executors.evaluate

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        ran.append(kwargs["seed"])
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(executors, "evaluate", counting)
    res = run_sweep(model, design, OUTCOMES, out=broken, progress=False)
    assert res.resumed == 3 and len(ran) == 5
    assert _files(broken) == _files(whole)


def test_a_folder_holding_another_sweep_is_refused(model: ExperimentModel, tmp_path: Path) -> None:
    run_sweep(model, lhs_design(model, 2, seed=0, names=NAMES), OUTCOMES, out=tmp_path)
    with pytest.raises(SweepFolderError, match="holds another sweep"):
        run_sweep(model, lhs_design(model, 2, seed=1, names=NAMES), OUTCOMES, out=tmp_path)
    meta = json.loads((tmp_path / "sweep.json").read_text(encoding="utf-8"))
    assert meta["experiments"] == 2 and meta["outcomes"] == OUTCOMES


def test_a_row_the_rules_reject_stops_with_its_message(
    model: ExperimentModel, tmp_path: Path
) -> None:
    design = list_design(
        [{"courses.level4.exam_pass_probability": 0.5}, {"courses.level4.exam_pass_probability": 2}]
    )
    with pytest.raises(SweepError, match=r"\(experiment 1\).*must be a probability"):
        run_sweep(model, design, ["minimum_cost_vnd"], out=tmp_path, progress=False)
    # the finished row is kept for a resume
    assert len(SweepStore(tmp_path).finished()) == 1


def test_robust_settings_are_checked_before_anything_runs(model: ExperimentModel) -> None:
    design = grid_design({"confidence": [0.99]})
    with pytest.raises(SweepError, match="too few"):
        run_sweep(model, design, ["robust_cost_vnd"], progress=False)


def test_a_folder_with_files_but_no_sweep_record_is_refused(
    model: ExperimentModel, tmp_path: Path
) -> None:
    # e.g. --out pointed at another run's folder: its outcomes.csv is not this sweep's
    design = lhs_design(model, 3, seed=0, names=NAMES)
    run_sweep(model, design, OUTCOMES, out=tmp_path / "other", progress=False)
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / OUTCOMES_FILE).write_bytes((tmp_path / "other" / OUTCOMES_FILE).read_bytes())
    with pytest.raises(SweepFolderError, match="not this sweep's"):
        run_sweep(model, design, OUTCOMES, out=stray, progress=False)


def test_a_torn_last_line_is_cut_before_the_next_record(
    model: ExperimentModel, tmp_path: Path
) -> None:
    design = lhs_design(model, 4, seed=0, names=NAMES)
    whole = run_sweep(model, design, OUTCOMES, progress=False)
    store = SweepStore(tmp_path)
    experiments = whole.experiments
    done = store.open({"k": 1}, experiments)
    assert done == {}
    store.record(0, [(o, v, s) for _, o, v, s in whole.outcomes.head(3).itertuples(index=False)])
    store.close()
    with open(tmp_path / JOURNAL_FILE, "a", encoding="utf-8") as f:
        f.write('{"experiment": 1, "outc')
    store = SweepStore(tmp_path)
    assert set(store.open({"k": 1}, experiments)) == {0}
    store.record(2, [("minimum_cost_vnd", 1.0, "optimal")])
    store.close()
    assert set(SweepStore(tmp_path).finished()) == {0, 2}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"confidence": "abc"}, "confidence = 'abc': must be a number"),
        ({"reps": 2.5}, "reps = 2.5: must be a whole number"),
    ],
)
def test_run_settings_in_a_row_must_be_numbers(
    model: ExperimentModel, row: dict[str, object], message: str
) -> None:
    with pytest.raises(SweepError, match=message):
        run_sweep(model, list_design([row]), ["minimum_cost_vnd"], progress=False)
