"""Running a design: every experiment's outcomes, on any executor, resumable.

Each experiment's random seed is drawn from ``SeedSequence([seed, experiment])``: it does not
depend on which worker runs it, in which order, or how many experiments there are, so the same
seed gives the same tables sequentially, on local processes and on Dask.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simopt.experiments.design import EXPERIMENT, Design
from simopt.experiments.executors import Done, Payload, Task, make_executor, resolve_executor
from simopt.experiments.model import ExperimentModel
from simopt.experiments.outcomes import (
    Record,
    Settings,
    expand_outcomes,
    needs_robust,
)
from simopt.experiments.store import OUTCOME_COLUMNS, SweepStore
from simopt.iofiles import csv_text


class SweepError(ValueError):
    """An experiment the scenario's rules reject, or settings that cannot run."""


def experiment_seed(seed: int, experiment: int) -> int:
    return int(np.random.SeedSequence([seed, experiment]).generate_state(1)[0])


@dataclass
class SweepResult:
    experiments: pd.DataFrame
    """experiment, seed, then the design's factors."""
    outcomes: pd.DataFrame
    """Long: experiment, outcome, value, status — sorted by experiment, outcomes as asked."""
    outcome_names: tuple[str, ...]
    folder: Path | None = None
    executor: str = "sequential"
    resumed: int = 0
    """Experiments found finished in the folder and not run again."""
    extra: dict[str, Any] = field(default_factory=dict)

    def values(self, outcome: str) -> np.ndarray:
        """The outcome's values, one per experiment, in the experiments' order."""
        rows = self.outcomes[self.outcomes["outcome"] == outcome]
        if len(rows) != len(self.experiments):
            raise KeyError(f"outcome {outcome!r} is not in this sweep")
        return rows.sort_values(EXPERIMENT)["value"].to_numpy(dtype=float)

    def wide(self) -> pd.DataFrame:
        """One row per experiment: its factors, then each outcome (a status outcome's word)."""
        values = self.outcomes.pivot(index=EXPERIMENT, columns="outcome", values="value")
        status = self.outcomes.pivot(index=EXPERIMENT, columns="outcome", values="status")
        out = self.experiments.set_index(EXPERIMENT).copy()
        for name in self.outcome_names:
            out[name] = status[name] if name.endswith("_status") else values[name]
        return out.reset_index()


def _check_settings(
    settings: Settings, rows: Sequence[dict[str, Any]], outcomes: Sequence[str]
) -> None:
    """Every row's run settings are numbers in range (and, for robust outcomes, enough
    replications for the confidence) before anything runs."""
    from simopt.plan import min_replications

    robust = needs_robust(outcomes)
    for i, row in enumerate(rows):
        confidence = _number(row.get("confidence", settings.confidence), "confidence", i)
        reps = _number(row.get("reps", settings.reps), "reps", i)
        if not 0.0 < confidence < 1.0:
            raise SweepError(f"experiment {i}: confidence = {confidence}: must lie in (0, 1)")
        if reps != int(reps) or reps < 1:
            raise SweepError(f"experiment {i}: reps = {reps}: must be a whole number, at least 1")
        if robust and reps < min_replications(confidence):
            raise SweepError(
                f"experiment {i}: reps = {int(reps)}: too few to show a probability of "
                f"{confidence:.0%}; use at least {min_replications(confidence)}"
            )


def _number(value: Any, name: str, experiment: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SweepError(f"experiment {experiment}: {name} = {value!r}: must be a number")
    return float(value)


def _chunks(tasks: list[Task], size: int) -> list[list[Task]]:
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def run_sweep(
    model: ExperimentModel,
    design: Design,
    outcomes: Sequence[str],
    *,
    seed: int = 0,
    settings: Settings | None = None,
    executor: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: bool = True,
    chunk_size: int | None = None,
    common_seed: bool = False,
) -> SweepResult:
    """Every experiment of ``design`` evaluated for ``outcomes``.

    ``executor``: sequential (default), processes or dask (the default when ``scheduler``
    names a running cluster). ``out``: a folder for the tables; an interrupted sweep into the
    same folder resumes, running only the experiments not yet finished (an error or Ctrl-C
    leaves the finished ones there). ``common_seed``: every experiment on the same random
    streams (common random numbers) rather than each on its own.
    """
    settings = settings or Settings()
    names = expand_outcomes(model, outcomes)
    rows = design.rows()
    _check_settings(settings, rows, names)
    model.scenario_at(rows[0], where="experiment 0")  # a bad design fails before anything runs
    experiments = design.table.copy()
    # common random numbers: every experiment on the same streams, so that differences between
    # experiments are the factors' and not luck's (what sensitivity analysis compares)
    seeds = [experiment_seed(seed, 0 if common_seed else i) for i in range(len(design))]
    experiments.insert(1, "seed", np.array(seeds, dtype=np.int64))

    store = SweepStore(out) if out is not None else None
    done: dict[int, list[Record]] = {}
    if store is not None:
        meta = {
            "scenario": model.file,
            "scenario_sha256": _digest(model.data),
            "design_sha256": hashlib.sha256(csv_text(experiments).encode()).hexdigest(),
            "experiments": len(design),
            "outcomes": list(names),
            "seed": seed,
            "common_seed": common_seed,
            "settings": settings.__dict__,
        }
        done = store.open(meta, experiments)
    resumed = len(done)
    pending = [(i, rows[i], seeds[i]) for i in range(len(design)) if i not in done]
    run = make_executor(resolve_executor(executor, scheduler), workers, scheduler)
    if chunk_size is None:
        chunk_size = 1 if needs_robust(names) else _auto_chunk(len(pending), run.workers)
    payload = Payload(model.data, model.file, names, settings)
    bar = _progress(progress, total=len(design), initial=resumed, what=run.describe())
    try:
        if pending:
            for chunk in run.run(payload, _chunks(pending, chunk_size)):
                _take(chunk, done, store)
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
        run.close()
        if store is not None:
            store.close()
    table = _outcome_table(done, names, len(design))
    if store is not None:
        store.finish(table)
    return SweepResult(
        experiments,
        table,
        names,
        folder=Path(out) if out is not None else None,
        executor=run.describe(),
        resumed=resumed,
    )


def _take(chunk: list[Done], done: dict[int, list[Record]], store: SweepStore | None) -> None:
    for experiment, result in chunk:
        if isinstance(result, str):
            raise SweepError(result)
        done[experiment] = result
        if store is not None:
            store.record(experiment, result)


def _auto_chunk(n: int, workers: int) -> int:
    """Several chunks per worker (so a slow one does not hold the rest up), at most 32 rows."""
    return max(1, min(32, math.ceil(n / max(1, 4 * workers))))


def _outcome_table(done: dict[int, list[Record]], names: Sequence[str], n: int) -> pd.DataFrame:
    rows: list[tuple[int, str, float, str]] = []
    for experiment in range(n):
        found = {o: (v, s) for o, v, s in done[experiment]}
        for name in names:
            value, status = found[name]
            rows.append((experiment, name, value, status))
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    frame[EXPERIMENT] = frame[EXPERIMENT].astype(np.int64)
    frame["value"] = frame["value"].astype(float)
    return frame


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _progress(show: bool, *, total: int, initial: int, what: str) -> Any:
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="experiment",
        desc=f"experiments ({what})",
        file=sys.stderr,
        mininterval=0.5,
        leave=False,
    )
