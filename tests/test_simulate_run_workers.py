"""Worker processes run one BLAS thread each: the workers are the parallelism."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from simopt.dynamics import compile_dynamics
from simopt.scenario import load_scenario
from simopt.simulate.run import _start_worker


def _blas_threads() -> list[int]:
    return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


def test_a_worker_runs_one_blas_thread() -> None:
    d = compile_dynamics(load_scenario(Path("scenarios/long_an.yaml")))
    enrol = np.zeros((len(d.years), d.n_pools, d.n_courses))
    with ProcessPoolExecutor(
        max_workers=1, initializer=_start_worker, initargs=(d, enrol, None)
    ) as ex:
        threads = ex.submit(_blas_threads).result()
    assert threads, "numpy's BLAS is seen by threadpoolctl"
    assert set(threads) == {1}
