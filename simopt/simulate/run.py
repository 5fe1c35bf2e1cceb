"""Monte Carlo: many replications of a schedule, one random stream each, summarised per target.

Each replication first takes its row of drawn parameters (what the province does not know: pass
rates, attrition, current levels … from the scenario's ranges; :mod:`simopt.uncertain.draws`),
then draws the events of individual people (luck). Replication ``i`` draws its events from child
``i`` of ``SeedSequence(seed)`` (SimPy engine) or, for the fast engine, block ``i // BLOCK`` draws
from child ``i // BLOCK``; parameters come from a stream of their own and are drawn once for all
replications. The work is split between processes by those same units, so the output is
identical whatever the number of workers.
"""

from __future__ import annotations

import dataclasses
import math
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from threadpoolctl import threadpool_limits

from simopt.dynamics import N_LEVELS, Dynamics, engine_dynamics
from simopt.limits import check_replications
from simopt.scenario import Scenario
from simopt.simulate.engines import ENGINES, run_fast, run_simpy
from simopt.simulate.probability import is_met, joint_table, variance_split, wilson
from simopt.simulate.rates import RepRates, drawn_rates
from simopt.simulate.record import Recorder
from simopt.simulate.state import YEAR_COUNTERS
from simopt.uncertain.draws import ParameterDraws, draw_parameters

FloatArray = npt.NDArray[np.float64]
BLOCK = 250
"""Replications the fast engine draws as one array (and one random stream)."""


UNCERTAINTY_MODES = ("ranges", "none")

TWIN_STREAM = 0x7_1D
"""Entropy word of the twin run's event streams (same parameters, other luck)."""

MAX_ENROLMENTS = 1e9
"""More people than any province employs: a larger figure is a typo, not a plan."""


class ScheduleError(ValueError):
    """An enrolment schedule that does not fit the scenario."""


def schedule_array(d: Dynamics, schedule: pd.DataFrame) -> FloatArray:
    """(years, pools, courses) enrolments from a long table (year, pool, course, enrolments);
    other columns (an optimiser's group, costs and money per funding source) are ignored and
    rows of one cell are added up."""
    need = {"year", "pool", "course", "enrolments"}
    missing = need - set(schedule.columns)
    if missing:
        raise ScheduleError(f"schedule is missing column(s): {', '.join(sorted(missing))}")
    out = np.zeros((len(d.years), d.n_pools, d.n_courses))
    for row in schedule.to_dict("records"):
        year, pool, course, n = row["year"], row["pool"], row["course"], row["enrolments"]
        if pool not in d.pool_ids:
            raise ScheduleError(f"schedule: pool {pool!r} is not in scenario {d.scenario.name!r}")
        if course not in d.course_ids:
            raise ScheduleError(f"schedule: course {course!r} is not in the scenario")
        if (
            isinstance(year, bool)
            or not isinstance(year, int | float)
            or not math.isfinite(year)
            or int(year) != year
        ):
            raise ScheduleError(f"schedule: year {year!r} must be a whole calendar year")
        if int(year) not in d.years:
            raise ScheduleError(f"schedule: year {year} is outside the horizon")
        if not d.allowed[d.pool_index(pool), d.course_ids.index(course)]:
            raise ScheduleError(
                f"schedule: course {course!r} is not open to pool {pool!r} "
                f"(group {d.pool_group[d.pool_index(pool)]!r})"
            )
        if not (isinstance(n, int | float) and math.isfinite(n) and 0 <= n <= MAX_ENROLMENTS):
            raise ScheduleError(
                f"schedule: enrolments {n!r} ({pool}, {course}, {year}) must be a number "
                f"≥ 0 and at most {MAX_ENROLMENTS:.0e}"
            )
        out[d.years.index(int(year)), d.pool_index(pool), d.course_ids.index(course)] += n
    return out


def schedule_frame(d: Dynamics, enrol: FloatArray) -> pd.DataFrame:
    """The long table (year, group, pool, course, enrolments) of a schedule array."""
    rows = [
        {
            "year": d.years[y],
            "group": d.pool_group[p],
            "pool": d.pool_ids[p],
            "course": d.course_ids[c],
            "enrolments": float(enrol[y, p, c]),
        }
        for y, p, c in zip(*np.nonzero(enrol > 1e-9), strict=True)
    ]
    return pd.DataFrame(rows, columns=["year", "group", "pool", "course", "enrolments"])


@dataclass(frozen=True)
class SimulationResult:
    scenario: str
    engine: str
    reps: int
    seed: int
    summary: pd.DataFrame
    """Per target and year: mean, 95% interval and probability the target is met."""
    yearly: pd.DataFrame
    """Per year and pool, means over replications: levels, flows, cost."""
    attained: FloatArray
    """(reps, targets, years) people at or above each target's level."""
    base: FloatArray
    cost_vnd: FloatArray
    """(reps, cost years) money spent; see ``cost_years``."""
    replications: pd.DataFrame | None = None
    """Per replication, year and pool (only when asked for)."""
    uncertainty: str = "none"
    """"ranges": each replication drew the scenario's uncertain parameters; "none": every one
    ran at the stated values, so only the luck of individuals varies."""
    parameters: ParameterDraws | None = None
    """The parameters each replication drew (None without uncertainty)."""
    joint: pd.DataFrame | None = None
    """Per milestone and overall: the probability every target held in the same replication."""
    variance: pd.DataFrame | None = None
    """Per target: the variance of attained people split into parameters and luck (when asked)."""
    cost_years: tuple[int, ...] = ()
    public_cost_vnd: FloatArray | None = None
    """(reps, cost years) the public sources' part of ``cost_vnd``: what a ceiling caps."""

    def ceiling_table(self, ceiling: float | Callable[[int], float | None]) -> pd.DataFrame:
        """Per cost year with a ceiling: the mean and 95th percentile of public spending and the
        probability it stays within the ceiling; and a row "all" for every year at once. Drawn
        tuition and fees make spending uncertain too, not only attainment. ``ceiling`` is one
        yearly amount or a function of the year (None where no ceiling applies)."""
        ceiling_for = ceiling if callable(ceiling) else (lambda _year: float(ceiling))
        rows: list[dict[str, Any]] = []
        if self.public_cost_vnd is None:
            return pd.DataFrame(rows)
        within_all = np.ones(self.reps, dtype=bool)
        for j, year in enumerate(self.cost_years):
            cap = ceiling_for(year)
            if cap is None:
                continue
            spend = self.public_cost_vnd[:, j]
            within = spend <= cap * (1.0 + 1e-9)
            within_all &= within
            low, high = wilson(int(within.sum()), self.reps)
            rows.append(
                {
                    "year": str(year),
                    "ceiling_vnd": float(cap),
                    "mean_public_cost_vnd": float(spend.mean()),
                    "public_cost_p95_vnd": float(np.quantile(spend, 0.95)),
                    "probability_within": float(within.mean()),
                    "probability_within_low95": low,
                    "probability_within_high95": high,
                }
            )
        if rows:
            low, high = wilson(int(within_all.sum()), self.reps)
            rows.append(
                {
                    "year": "all",
                    "ceiling_vnd": float("nan"),
                    "mean_public_cost_vnd": float("nan"),
                    "public_cost_p95_vnd": float("nan"),
                    "probability_within": float(within_all.mean()),
                    "probability_within_low95": low,
                    "probability_within_high95": high,
                }
            )
        return pd.DataFrame(rows)

    def probability_met(self, target: str, year: int | None = None) -> float:
        s = self.summary
        row = s[(s["target"] == target) & (s["year"] == (year or s["target_year"]))]
        return float(row["probability_met"].iloc[0])


# What every piece of a run shares, handed to each worker process once when it starts: the
# compiled dynamics themselves (never the scenario to recompile: the dynamics are the model the
# caller chose), the schedule and the drawn parameters of all replications.
_Shared = tuple[Dynamics, FloatArray, "ParameterDraws | None"]
_shared: _Shared | None = None


_blas_limit: object | None = None


def _start_worker(d: Dynamics, enrol: FloatArray, draws: ParameterDraws | None) -> None:
    global _shared, _blas_limit
    # Ctrl-C is the parent's to handle: a worker interrupted mid-task can leave the pool waiting
    # for a result that never comes
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # one BLAS thread a worker: the workers are the parallelism, and each BLAS spinning up a
    # thread per core made two runs side by side 1.6-2.3x slower each
    _blas_limit = threadpool_limits(limits=1, user_api="blas")
    _shared = (d, enrol, draws)


def _work(
    engine: str, seed: int | list[int], units: list[int], keep: bool, total_reps: int
) -> dict[str, Any]:
    assert _shared is not None, "a worker runs only after _start_worker"
    d, enrol, draws = _shared
    return _run_units(d, enrol, engine, seed, units, keep, total_reps, draws)


def _unit_reps(engine: str, unit: int, total_reps: int) -> range:
    if engine == "simpy":
        return range(unit, unit + 1)
    return range(unit * BLOCK, min((unit + 1) * BLOCK, total_reps))


def _run_units(
    d: Dynamics,
    enrol: FloatArray,
    engine: str,
    seed: int | list[int],
    units: list[int],
    keep: bool,
    total_reps: int,
    draws: ParameterDraws | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run ``units``; ``draws`` holds the parameters of all ``total_reps`` replications."""
    total = total_reps
    n_units = total if engine == "simpy" else math.ceil(total / BLOCK)
    children = np.random.SeedSequence(seed).spawn(n_units)
    recs = []
    for u in units:
        rng = np.random.default_rng(children[u])
        span = _unit_reps(engine, u, total)
        rates: RepRates | None = None
        if draws is not None:
            rates = drawn_rates(d, draws.rows(slice(span.start, span.stop)))
        # one recorder a unit: the sums over replications are then added in unit order, the
        # same bytes whichever worker ran which unit
        rec = Recorder(d, len(span), keep_replications=keep)
        if engine == "simpy":
            run_simpy(d, enrol, rng, rec, 0, rates)
        else:
            run_fast(d, enrol, rng, rec, slice(0, len(span)), rates)
        recs.append((u, rec))
        if progress is not None:
            progress(len(span))
    return {"units": units, "recs": recs}


def simulate(
    scenario: Scenario | None,
    schedule: pd.DataFrame,
    *,
    reps: int = 1000,
    seed: int = 0,
    workers: int = 1,
    engine: str = "simpy",
    keep_replications: bool = False,
    progress: Callable[[int], None] | None = None,
    dynamics: Dynamics | None = None,
    uncertainty: str = "ranges",
    parameters: ParameterDraws | None = None,
    split_variance: bool = False,
) -> SimulationResult:
    """Simulate ``schedule`` ``reps`` times; summarise each target's attainment.

    ``uncertainty="ranges"`` draws the scenario's uncertain parameters in every replication
    (nothing changes for a scenario that declares none); ``"none"`` keeps them at their stated
    values. ``parameters`` gives the replications' parameters outright (a design, e.g. each
    range at its ends) instead of drawing them. ``split_variance`` runs the same parameters
    again with other luck to split each target's variance between the two.

    The engines run ``dynamics`` (compiled from ``scenario`` when not given); given both, they
    must agree (:func:`simopt.dynamics.engine_dynamics`), and ``scenario`` may be None.
    Raises :class:`simopt.limits.LimitError` (a one-line ``ValueError``) before anything is
    allocated when ``reps`` replications would not fit in memory.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if uncertainty not in UNCERTAINTY_MODES:
        raise ValueError(
            f"uncertainty must be one of {', '.join(UNCERTAINTY_MODES)}, not {uncertainty!r}"
        )
    if reps < 1:
        raise ValueError(f"reps(={reps}) must be ≥ 1")
    if workers < 1:
        raise ValueError(f"workers(={workers}) must be ≥ 1")
    d = engine_dynamics(scenario, dynamics)
    if parameters is not None and parameters.reps != reps:
        raise ValueError(f"parameters for {parameters.reps} replications, reps={reps}")
    check_replications(
        reps,
        d.n_pools,
        N_LEVELS,
        len(d.years),
        len(d.scenario.targets),
        keep_replications=keep_replications,
        n_courses=d.n_courses,
        workers=workers,
    )
    enrol = schedule_array(d, schedule)
    draws = draw_sample(d, uncertainty, reps, seed) if parameters is None else parameters
    parts = _run(d, enrol, engine, seed, reps, workers, keep_replications, draws, progress)
    result = _assemble(d, parts, engine, reps, seed, keep_replications)
    twin = None
    if split_variance and draws is not None:
        # with nothing drawn every replication's spread is luck: there is nothing to split
        twin_parts = _run(d, enrol, engine, [seed, TWIN_STREAM], reps, workers, False, draws, None)
        twin = _assemble(d, twin_parts, engine, reps, seed, False)
    return dataclasses.replace(
        result,
        uncertainty="ranges" if draws is not None else "none",
        parameters=draws,
        joint=joint_table(d.scenario, d.years, result.attained, result.base),
        variance=(
            None
            if twin is None
            else variance_split(d.scenario, d.years, result.attained, twin.attained)
        ),
        cost_years=d.cost_years,
    )


def draw_sample(d: Dynamics, uncertainty: str, reps: int, seed: int) -> ParameterDraws | None:
    """The parameters :func:`simulate` draws for ``reps`` replications with ``seed`` (None when
    it draws none): to draw them once for several runs of one sample."""
    u = d.scenario.uncertainties
    return draw_parameters(u, reps, seed) if uncertainty == "ranges" and u.any else None


def _run(
    d: Dynamics,
    enrol: FloatArray,
    engine: str,
    seed: int | list[int],
    reps: int,
    workers: int,
    keep_replications: bool,
    draws: ParameterDraws | None,
    progress: Callable[[int], None] | None,
) -> list[dict[str, Any]]:
    n_units = reps if engine == "simpy" else math.ceil(reps / BLOCK)
    units = list(range(n_units))
    if workers == 1 or n_units == 1:
        return [_run_units(d, enrol, engine, seed, units, keep_replications, reps, draws, progress)]
    chunks = [units[i::workers] for i in range(workers)]
    chunks = [sorted(c) for c in chunks if c]
    # smaller pieces keep the progress bar moving and the cores busy
    pieces = [c[i : i + 25] for c in chunks for i in range(0, len(c), 25)]
    parts = []
    ex = ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(d, enrol, draws)
    )
    try:
        futures = [
            ex.submit(_work, engine, seed, piece, keep_replications, reps) for piece in pieces
        ]
        for fut in futures:
            part = fut.result()
            if progress is not None:
                progress(sum(len(_unit_reps(engine, u, reps)) for u in part["units"]))
            parts.append(part)
    except BaseException:
        # interrupted or failed: drop the queued pieces and stop the workers now, rather than
        # wait for every piece as leaving the pool's context would
        processes = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    ex.shutdown(wait=True)
    return parts


def _assemble(
    d: Dynamics, parts: list[dict[str, Any]], engine: str, reps: int, seed: int, keep: bool
) -> SimulationResult:
    n_t = len(d.scenario.targets)
    n_y = len(d.years)
    attained = np.zeros((reps, n_t, n_y))
    base = np.zeros((reps, n_t, n_y))
    cost = np.zeros((reps, len(d.cost_years)))
    public = np.zeros((reps, len(d.cost_years)))
    sum_levels = np.zeros((n_y, d.n_pools, N_LEVELS))
    sum_counters = {k: np.zeros((n_y, d.n_pools)) for k in YEAR_COUNTERS}
    sum_cost = np.zeros((n_y, d.n_pools))
    rep_frames = []
    for unit, rec in sorted((pair for part in parts for pair in part["recs"]), key=lambda x: x[0]):
        span = _unit_reps(engine, unit, reps)
        index = np.arange(span.start, span.stop)
        attained[index] = rec.attained
        base[index] = rec.base
        cost[index] = rec.cost_vnd
        public[index] = rec.public_cost_vnd
        sum_levels += rec.sum_levels
        for k in YEAR_COUNTERS:
            sum_counters[k] += rec.sum_counters[k]
        sum_cost += rec.sum_cost
        if keep:
            rep_frames.append(_replication_table(d, rec, index))
    summary = summarise(d, attained, base)
    yearly = _yearly_table(
        d, sum_levels / reps, {k: v / reps for k, v in sum_counters.items()}, sum_cost / reps
    )
    replications = None
    if keep:
        replications = (
            pd.concat(rep_frames)
            .sort_values(["replication", "year", "pool"])
            .reset_index(drop=True)
        )
    return SimulationResult(
        d.scenario.name,
        engine,
        reps,
        seed,
        summary,
        yearly,
        attained,
        base,
        cost,
        replications,
        public_cost_vnd=public,
    )


def summarise(d: Dynamics, attained: FloatArray, base: FloatArray) -> pd.DataFrame:
    """Per target and year: mean attainment, its spread and share interval, and the probability
    the target is met, with its Monte Carlo error.

    All cells at once: each cell's replications are laid out contiguously, so that every mean,
    deviation and quantile is reduced exactly as a one-cell array would be (the same numbers to
    the last bit as cell by cell, in a fraction of the time at hundreds of targets)."""
    s = d.scenario
    targets = list(s.targets.values())
    if not targets:
        return pd.DataFrame()
    n = attained.shape[0]
    years = list(d.years)
    a = np.ascontiguousarray(attained.transpose(1, 2, 0))  # (targets, years, reps)
    b = np.ascontiguousarray(base.transpose(1, 2, 0))
    share = np.divide(a, b, out=np.zeros_like(a), where=b > 0)
    need = np.stack([t.required(b[i]) for i, t in enumerate(targets)])
    met = is_met(a - need)
    hits = met.sum(axis=-1).ravel()
    p = met.mean(axis=-1).ravel()
    low, high = np.quantile(share, [0.025, 0.975], axis=-1)
    bounds = [wilson(int(k), n) for k in hits]
    per_cell = len(years)
    return pd.DataFrame(
        {
            "target": [tid for tid in s.targets for _ in years],
            "target_year": [t.year for t in targets for _ in years],
            "year": years * len(targets),
            "mean_attained_people": a.mean(axis=-1).ravel(),
            "sd_attained_people": (
                a.std(axis=-1, ddof=1).ravel() if n > 1 else np.zeros(len(targets) * per_cell)
            ),
            "mean_base_people": b.mean(axis=-1).ravel(),
            "mean_share": share.mean(axis=-1).ravel(),
            "share_low95": low.ravel(),
            "share_high95": high.ravel(),
            "required_share": [t.share for t in targets for _ in years],
            "required_count": [t.min_count for t in targets for _ in years],
            "probability_met": p,
            "probability_met_se": np.sqrt(p * (1 - p) / n),
            "probability_met_low95": [lo for lo, _ in bounds],
            "probability_met_high95": [hi for _, hi in bounds],
        }
    )


def _yearly_table(
    d: Dynamics, levels: FloatArray, counters: dict[str, FloatArray], cost: FloatArray
) -> pd.DataFrame:
    rows = []
    for y, year in enumerate(d.years):
        for p, pid in enumerate(d.pool_ids):
            row: dict[str, Any] = {"year": year, "group": d.pool_group[p], "pool": pid}
            for lvl in range(N_LEVELS):
                row[f"level_{lvl}"] = levels[y, p, lvl]
            row["certified"] = levels[y, p, 1:].sum()
            for k in YEAR_COUNTERS:
                row[k] = counters[k][y, p]
            row["cost_vnd"] = cost[y, p]
            rows.append(row)
    return pd.DataFrame(rows)


def _replication_table(d: Dynamics, rec: Recorder, index: npt.NDArray[np.int64]) -> pd.DataFrame:
    n_r, n_y, n_p = len(index), len(d.years), d.n_pools
    rep = np.repeat(index, n_y * n_p)
    year = np.tile(np.repeat(np.array(d.years), n_p), n_r)
    pool = np.tile(np.array(d.pool_ids, dtype=object), n_r * n_y)
    group = np.tile(np.array(d.pool_group, dtype=object), n_r * n_y)
    data: dict[str, Any] = {"replication": rep, "year": year, "group": group, "pool": pool}
    lv = rec.levels.reshape(n_r * n_y * n_p, N_LEVELS)
    for lvl in range(N_LEVELS):
        data[f"level_{lvl}"] = lv[:, lvl]
    data["certified"] = lv[:, 1:].sum(axis=1)
    for k in YEAR_COUNTERS:
        data[k] = rec.counters[k].reshape(-1)
    data["cost_vnd"] = rec.pool_cost.reshape(-1)
    return pd.DataFrame(data)
