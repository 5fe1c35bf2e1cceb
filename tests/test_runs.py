"""Run folders: whole or absent, never overwriting another run, with a manifest that reruns."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simopt.cli import main
from simopt.runs import MANIFEST, SLOW_WRITES_ENV

ROOT = Path(__file__).resolve().parents[1]
LONG_AN = str(ROOT / "scenarios" / "long_an.yaml")
AS_WRITTEN = str(ROOT / "scenarios" / "long_an_as_written.yaml")
PLAN = ["plan", LONG_AN, "--reps", "200", "--no-price", "--json"]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Default run folders land in ./results: make that a fresh folder."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _assert_whole(run: Path) -> dict[str, Any]:
    """A run folder has its manifest and every file the manifest lists, as hashed."""
    manifest: dict[str, Any] = json.loads((run / MANIFEST).read_text(encoding="utf-8"))
    on_disk = _hashes(run)
    on_disk.pop(MANIFEST)
    assert on_disk == manifest["files"], run
    return manifest


def _assert_every_run_whole(scenario_dir: Path) -> list[Path]:
    """Every entry is a whole run, `latest`, or a clearly named temporary left by a kill."""
    runs = []
    for entry in sorted(scenario_dir.iterdir()):
        if entry.name.startswith((".tmp-", ".latest-")):
            continue  # a killed run's leftovers: hidden, never mistaken for a run
        if entry.name == "latest":
            assert entry.is_symlink()
            target = entry.resolve()
            assert target.parent == scenario_dir.resolve() and not target.name.startswith(".")
            _assert_whole(target)
            continue
        _assert_whole(entry)
        runs.append(entry)
    return runs


def _simopt(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "simopt", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,  # plan.json is larger than a pipe: an unread pipe would block
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_run_killed_at_any_moment_leaves_no_half_folder_and_harms_no_other(
    tmp_path: Path,
) -> None:
    first = _simopt(*PLAN, cwd=tmp_path)
    start = time.monotonic()
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    duration = time.monotonic() - start
    scenario_dir = tmp_path / "results" / "long_an"
    (earlier,) = _assert_every_run_whole(scenario_dir)
    before = _hashes(earlier)
    # Slow writes (0.1 s after each file) widen the write phase to about a second, so that
    # some kills land between files and between the manifest and the rename.
    slow = {SLOW_WRITES_ENV: "0.1"}
    rng = random.Random(20261123)
    delays = [0.05, duration * 0.5] + [
        rng.uniform(duration * 0.8, duration + 1.5) for _ in range(6)
    ]
    for delay in delays:
        proc = _simopt(*PLAN, cwd=tmp_path, env=slow)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        _assert_every_run_whole(scenario_dir)
        assert _hashes(earlier) == before
    # the runs that finished before their kill are whole too, and `latest` names the newest
    runs = _assert_every_run_whole(scenario_dir)
    assert (scenario_dir / "latest").resolve().name == max(r.name for r in runs)


def test_two_runs_into_one_folder_one_wins_whole_the_other_is_told(tmp_path: Path) -> None:
    out = tmp_path / "shared"
    argv = ["optimize", AS_WRITTEN, "--json", "--out", str(out)]
    slow = {SLOW_WRITES_ENV: "0.3"}  # both hold on long enough to meet
    procs = [_simopt(*argv, cwd=tmp_path, env=slow) for _ in range(2)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    results = [(p.returncode, err) for p, err in zip(procs, errors, strict=True)]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert str(out) in _one_line(loser)
    assert _assert_whole(out)["status"] == "optimal"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_rerun_of_optimize_is_byte_identical(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = in_tmp / "first"
    argv = ["optimize", LONG_AN, "--set", "budget.ceiling_vnd_per_year=9e10", "--out", str(first)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["rerun", str(first), "--out", str(in_tmp / "again")]) == 0
    out = capsys.readouterr().out
    # every file of the run, the workbook, the report and the charts included, is identical
    tables = len(json.loads((first / "manifest.json").read_text())["files"])
    assert {"workbook.xlsx", "report.html", "classes.csv"} <= {p.name for p in first.iterdir()}
    assert "identical" in out and f"{tables} tables" in out
    again = _assert_whole(in_tmp / "again")
    assert again["rerun_of"] == str(first)
    assert again["scenarios"][0]["sets"] == ["budget.ceiling_vnd_per_year=9e10"]


def test_rerun_of_plan_is_byte_identical_even_after_the_file_changed(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = in_tmp / "long_an.yaml"
    shutil.copy(LONG_AN, scenario)
    first = in_tmp / "first"
    assert main(["plan", str(scenario), "--reps", "200", "--no-price", "--out", str(first)]) == 0
    # the province edits its file afterwards: the rerun redoes what was run, and says so
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace("value: 0.60", "value: 0.50", 1), encoding="utf-8")
    capsys.readouterr()
    assert main(["rerun", str(first)]) == 0
    captured = capsys.readouterr()
    assert "has changed since the run" in _one_line(captured.err)
    assert "identical" in captured.out
    (new,) = [p for p in (in_tmp / "results" / "long_an").iterdir() if "plan" in p.name]
    assert _hashes(new).keys() == _hashes(first).keys()


def test_rerun_names_the_tables_that_differ(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a table that another simopt would have written differently: edited, and its hash with it
    first = in_tmp / "first"
    assert main(["optimize", AS_WRITTEN, "--out", str(first)]) == 0
    with (first / "costs.csv").open("a", encoding="utf-8") as f:
        f.write("another version\n")
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["costs.csv"] = hashlib.sha256((first / "costs.csv").read_bytes()).hexdigest()
    (first / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    capsys.readouterr()
    assert main(["rerun", str(first), "--out", str(in_tmp / "again")]) == 1
    out = capsys.readouterr().out
    assert "costs.csv differs" in out and "schedule.csv" not in out


def test_rerun_refuses_a_run_edited_since(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = in_tmp / "first"
    assert main(["optimize", AS_WRITTEN, "--out", str(first)]) == 0
    with (first / "costs.csv").open("a", encoding="utf-8") as f:
        f.write("tampered\n")
    capsys.readouterr()
    assert main(["rerun", str(first), "--out", str(in_tmp / "again")]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "costs.csv changed or missing since the run" in err
    assert not (in_tmp / "again").exists()


def test_rerun_never_compares_a_run_with_itself(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = in_tmp / "first"
    assert main(["optimize", AS_WRITTEN, "--out", str(first)]) == 0
    capsys.readouterr()
    assert main(["rerun", str(first), "--out", str(first), "--replace"]) == 2
    assert "cannot replace the run it redoes" in _one_line(capsys.readouterr().err)
    assert (first / "manifest.json").is_file()


def test_replace_never_deletes_a_folder_with_a_foreign_manifest(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ext = in_tmp / "ext"
    ext.mkdir()
    (ext / "manifest.json").write_text('{"manifest_version": 3}', encoding="utf-8")
    (ext / "background.js").write_text("code", encoding="utf-8")
    assert main(["optimize", AS_WRITTEN, "--out", str(ext), "--replace"]) == 2
    assert "is not a simopt run" in _one_line(capsys.readouterr().err)
    assert (ext / "background.js").read_text(encoding="utf-8") == "code"
    assert not list(in_tmp.glob(".ext.lock"))


def test_rerun_of_a_folder_without_manifest_is_one_line(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rerun", str(in_tmp)]) == 2
    assert "not a simopt run" in _one_line(capsys.readouterr().err)


def test_out_onto_a_folder_that_is_not_a_run_is_refused_even_with_replace(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = in_tmp / "notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me\n")
    for extra in ([], ["--replace"]):
        assert main(["optimize", AS_WRITTEN, "--out", str(mine), *extra]) == 2
        assert "not a simopt run" in _one_line(capsys.readouterr().err)
    assert [p.name for p in mine.iterdir()] == ["todo.txt"]
    assert [p.name for p in in_tmp.iterdir() if p.name.startswith(".tmp-")] == []


def test_replace_swaps_a_run_whole(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = in_tmp / "run"
    assert main(["optimize", AS_WRITTEN, "--out", str(out)]) == 0
    first_id = _assert_whole(out)["run_id"]
    assert main(["optimize", AS_WRITTEN, "--out", str(out)]) == 2
    assert "--replace" in _one_line(capsys.readouterr().err)
    assert _assert_whole(out)["run_id"] == first_id
    assert main(["optimize", LONG_AN, "--ceiling-vnd", "1e9", "--out", str(out), "--replace"]) == 1
    replaced = _assert_whole(out)
    assert replaced["run_id"] != first_id and replaced["status"] == "infeasible"
    # nothing of the first run is left: the schedule there is the infeasible run's best effort
    assert json.loads((out / "summary.json").read_text())["schedule_kind"] == "best_effort"
    assert sorted(p.name for p in in_tmp.iterdir()) == [".run.lock", "run"]  # no .old- or .tmp-


@pytest.mark.parametrize(
    ("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)]
)
def test_files_honour_the_umask(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], umask: int, file_mode: int, dir_mode: int
) -> None:
    old = os.umask(umask)
    try:
        assert main(["optimize", AS_WRITTEN]) == 0
    finally:
        os.umask(old)
    run = (in_tmp / "results" / "long_an_as_written" / "latest").resolve()
    assert run.stat().st_mode & 0o777 == dir_mode
    for p in run.iterdir():
        assert p.stat().st_mode & 0o777 == file_mode, p


def test_latest_names_the_newest_run_and_runs_never_overwrite(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["optimize", AS_WRITTEN]) == 0
    assert main(["optimize", AS_WRITTEN, "--ceiling-vnd", "1e9"]) == 1
    scenario_dir = in_tmp / "results" / "long_an_as_written"
    runs = _assert_every_run_whole(scenario_dir)
    assert len(runs) == 2
    # run ids sort by start time; the infeasible run has its own folder and its diagnosis
    newest = (scenario_dir / "latest").resolve()
    assert newest.name == max(r.name for r in runs)
    assert json.loads((newest / "summary.json").read_text())["status"] == "infeasible"
    oldest = min(runs)
    assert (oldest / "schedule.csv").is_file()


def test_the_manifest_records_what_was_run(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", LONG_AN, "--optimize", "--reps", "5", "--seed", "3"]
    argv += ["--set", "courses.level4.exam_pass_probability=0.9", "--out", str(in_tmp / "r")]
    assert main(argv) == 0
    m = _assert_whole(in_tmp / "r")
    assert m["argv"] == argv and m["command"] == "simulate" and m["status"] == "done"
    assert (m["options"]["seed"], m["options"]["reps"], m["options"]["engine"]) == (3, 5, "fast")
    assert m["options"]["uncertainty"] == "ranges"
    (s,) = m["scenarios"]
    assert s["file"] == LONG_AN
    assert s["file_sha256"] == hashlib.sha256(Path(LONG_AN).read_bytes()).hexdigest()
    assert s["sets"] == ["courses.level4.exam_pass_probability=0.9"]
    assert s["resolved"]["courses"]["level4"]["exam_pass_probability"] == 0.9
    assert len(s["resolved_sha256"]) == 64
    for package in ("simopt", "numpy", "scipy", "pandas", "pulp", "highspy", "simpy", "pydantic"):
        assert m["versions"][package], package
    assert m["started_utc"].endswith("+00:00") and m["timings"]["compute_seconds"] >= 0


def test_validate_loads_no_solver_simulator_or_dataframes() -> None:
    code = (
        "import sys; from simopt.cli import main; "
        "rc = main(['validate', sys.argv[1]]); "
        "heavy = [m for m in ('pulp', 'highspy', 'simpy', 'scipy', 'pandas') if m in sys.modules]; "
        "print(rc, heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, LONG_AN], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "0 []"
