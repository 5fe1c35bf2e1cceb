"""Executors on real Dask: a LocalCluster, and a cluster started with `dask scheduler` and
`dask worker` on 127.0.0.1 that loses a worker mid-sweep."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simopt.experiments import ExecutorError, ExperimentModel, lhs_design, make_executor, run_sweep
from simopt.experiments.executors import DaskExecutor
from simopt.experiments.store import JOURNAL_FILE, OUTCOMES_FILE, SweepStore

NAMES = ["courses.level3.tuition_vnd_per_trainee", "exams.retake_pass_factor"]
OUTCOMES = ["minimum_cost_vnd", "attainment:pe_2030"]
DASK = str(Path(sys.executable).with_name("dask"))


@pytest.fixture(scope="module")
def model() -> ExperimentModel:
    return ExperimentModel.from_file("scenarios/long_an.yaml")


def _outcomes(folder: Path) -> bytes:
    return (folder / OUTCOMES_FILE).read_bytes()


def test_a_local_dask_cluster_gives_the_same_bytes(model: ExperimentModel, tmp_path: Path) -> None:
    design = lhs_design(model, 12, seed=9, names=NAMES)
    run_sweep(model, design, OUTCOMES, out=tmp_path / "seq", progress=False)
    for workers in (1, 2):
        run_sweep(
            model,
            design,
            OUTCOMES,
            out=tmp_path / f"dask{workers}",
            executor="dask",
            workers=workers,
            chunk_size=2,
            progress=False,
        )
        assert _outcomes(tmp_path / f"dask{workers}") == _outcomes(tmp_path / "seq")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(log, "wb") as out:
        return subprocess.Popen(
            [DASK, *args], stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _wait_for_workers(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=60)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_a_sweep_on_a_started_cluster_survives_a_killed_worker(
    model: ExperimentModel, tmp_path: Path
) -> None:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(
        ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        tmp_path / "scheduler.log",
    )
    workers = [
        _start(
            [
                "worker",
                address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--name",
                f"w{i}",
            ],
            tmp_path / f"worker{i}.log",
        )
        for i in range(2)
    ]
    try:
        _wait_for_workers(address, 2)
        design = lhs_design(model, 40, seed=4, names=NAMES)
        reference = tmp_path / "sequential"
        run_sweep(model, design, OUTCOMES, out=reference, progress=False)

        folder = tmp_path / "cluster"
        errors: list[BaseException] = []

        def sweep() -> None:
            try:
                run_sweep(
                    model,
                    design,
                    OUTCOMES,
                    out=folder,
                    scheduler=address,
                    chunk_size=1,
                    progress=False,
                )
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        thread = threading.Thread(target=sweep)
        thread.start()
        deadline = time.monotonic() + 120
        while len(SweepStore(folder).finished()) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        finished_before = SweepStore(folder).finished()
        assert 8 <= len(finished_before) < 40, "the sweep should be under way when a worker dies"
        _stop(workers[0])
        thread.join(timeout=300)
        assert not thread.is_alive() and not errors, errors
        assert _outcomes(folder) == _outcomes(reference)
        assert not (folder / JOURNAL_FILE).exists()
    finally:
        for proc in [*workers, scheduler]:
            _stop(proc)


def test_a_scheduler_that_does_not_answer_is_one_clear_error() -> None:
    executor = make_executor("dask", scheduler=f"tcp://127.0.0.1:{_free_port()}")
    assert isinstance(executor, DaskExecutor)
    executor.connect_timeout = "2s"
    with pytest.raises(ExecutorError, match="no Dask scheduler answers there"):
        executor._connect()


@pytest.mark.parametrize(
    ("name", "scheduler", "message"),
    [
        ("threads", None, "unknown executor"),
        ("processes", "tcp://127.0.0.1:8786", "does not go with"),
        ("dask", "127.0.0.1:8786", "looks like tcp://HOST:PORT"),
    ],
)
def test_executor_choices_are_checked(name: str, scheduler: str | None, message: str) -> None:
    with pytest.raises(ExecutorError, match=message):
        make_executor(name, 2, scheduler)
