"""``make bench`` figures for the experiments layer (printed, never asserted).

Each figure stands beside a baseline measured in the same process: the typed overrides beside
re-parsing the YAML per sample, two Dask workers beside one, on the same sweep.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from simopt.experiments.design import Design, lhs_design
from simopt.experiments.model import ExperimentModel
from simopt.experiments.outcomes import Settings
from simopt.experiments.sweep import run_sweep

PASS_RATES = ["courses.level3.exam_pass_probability", "courses.level4.exam_pass_probability"]


def bench_overrides(scenario_path: str, samples: int = 40) -> None:
    """A design row applied as typed overrides vs the same what-if as ``--set`` text."""
    from simopt.scenario import load_scenario

    model = ExperimentModel.from_file(scenario_path)
    # scalar ranges only: a level table's factor is not a value --set can take as it stands
    names = [u.name for u in model.uncertainties if u.kind == "range"]
    design = lhs_design(model, samples, seed=0, names=names)
    rows = design.rows()
    start = time.perf_counter()
    for row in rows:
        model.scenario_at(row)
    typed = (time.perf_counter() - start) / samples
    start = time.perf_counter()
    for row in rows[: samples // 4]:
        load_scenario(scenario_path, {k: repr(float(v)) for k, v in row.items()})
    parsed = (time.perf_counter() - start) / (samples // 4)
    print(
        f"one experiment's scenario ({len(names)} factors set): typed overrides "
        f"{typed * 1e3:.1f} ms, re-parsing the YAML with --set {parsed * 1e3:.1f} ms "
        f"({parsed / typed:.0f}x)"
    )


def _timed_sweep(
    model: ExperimentModel, design: Design, outcome: str, executor: str, workers: int
) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_sweep(
            model,
            design,
            [outcome],
            executor=executor,
            workers=workers,
            out=Path(out),
            settings=Settings(confidence=0.9, reps=300),
            progress=False,
        )
        return time.perf_counter() - start


def bench_dask_throughput(scenario_path: str, experiments: int = 8) -> None:
    """Robust plans (the expensive outcome) on a Dask LocalCluster of one worker, then two."""
    model = ExperimentModel.from_file(scenario_path)
    design = lhs_design(model, experiments, seed=1, names=PASS_RATES)
    outcome = "robust_cost_vnd"
    _timed_sweep(model, design.__class__(design.table.iloc[:1]), outcome, "sequential", 1)
    one = _timed_sweep(model, design, outcome, "dask", 1)
    two = _timed_sweep(model, design, outcome, "dask", 2)
    print(
        f"sweep of {experiments} robust plans ({model.scenario.name}, 300 replications each) on "
        f"Dask: 1 worker {one:.1f} s, 2 workers {two:.1f} s — {one / two:.2f}x the throughput "
        "(goal >= 1.6x; cluster start-up included)"
    )


def bench_national_dask(scenario_path: str, provinces: int, experiments: int = 8) -> None:
    """A generated national scenario swept on Dask, with each worker's memory."""
    from simopt.experiments.executors import DaskExecutor, Payload, evaluate_chunk
    from simopt.national import write_national

    with tempfile.TemporaryDirectory() as tmp:
        path = write_national(scenario_path, provinces, Path(tmp) / "national.yaml")
        start = time.perf_counter()
        model = ExperimentModel.from_file(path)
        loaded = time.perf_counter() - start
        names = [n for n in model.names if n.endswith("exam_pass_probability")]
        design = lhs_design(model, experiments, seed=2, names=names)
        executor = DaskExecutor(workers=2)
        try:
            payload = Payload(model.data, model.file, ("minimum_cost_vnd",), Settings())
            rows = design.rows()
            tasks = [[(i, rows[i], i)] for i in range(len(rows))]
            start = time.perf_counter()
            times = []
            for chunk in executor.run(payload, tasks):
                times.append(time.perf_counter() - start)
                assert not isinstance(chunk[0][1], str), chunk[0][1]
            took = time.perf_counter() - start
            memory = executor.memory_per_worker()
        finally:
            executor.close()
        single = time.perf_counter()
        evaluate_chunk(payload, tasks[0], pin=False)
        alone = time.perf_counter() - single
    mib = ", ".join(f"{v / 2**20:.0f} MiB" for v in sorted(memory.values()))
    print(
        f"national scenario ({provinces} provinces, {len(model.scenario.pools())} pools, "
        f"{len(model.names)} uncertainties; read in {loaded:.1f} s): {experiments} minimum-cost "
        f"experiments on a Dask LocalCluster of 2 workers in {took:.1f} s "
        f"(median finish {statistics.median(times):.1f} s; one alone here {alone:.1f} s); "
        f"memory per worker {mib}"
    )


SOBOL_FACTORS = [
    "courses.level3.tuition_vnd_per_trainee",
    "courses.level3.completion_rate",
    "courses.level3.exam_pass_probability",
    "courses.level4.completion_rate",
    "courses.level4.exam_pass_probability",
    "exams.retake_pass_factor",
    "groups.public_employees.pools.pe_staff.hires_per_year",
    "promotions.1.rate_per_year",
]
"""Eight uncertainties of Long An (the two pass rates move together: one Sobol group)."""


def bench_sobol(scenario_path: str, n: int = 512) -> None:
    """Sobol indices of 8 uncertainties on the minimum cost, sequential and on 2 processes."""
    from simopt.experiments.sensitivity import SweepSettings, sensitivity

    model = ExperimentModel.from_file(scenario_path)
    times = {}
    for executor, workers in (("sequential", 1), ("processes", 2)):
        start = time.perf_counter()
        result = sensitivity(
            model,
            "minimum_cost_vnd",
            "sobol",
            n=n,
            only=SOBOL_FACTORS,
            run=SweepSettings(executor=executor, workers=workers),
        )
        times[executor] = time.perf_counter() - start
    runs = len(result.sweep.experiments) if result.sweep is not None else 0
    top = result.table.iloc[0]
    print(
        f"Sobol of {len(SOBOL_FACTORS)} uncertainties on minimum_cost_vnd, N = {n} ({runs} "
        f"optimisations): sequential {times['sequential']:.1f} s, 2 processes "
        f"{times['processes']:.1f} s ({times['sequential'] / times['processes']:.2f}x; goal "
        f"< 60 s); first {top['factor']} S1 {top['S1']:.2f}"
    )
