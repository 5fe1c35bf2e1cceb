"""Designs: the experiments table, one row per experiment, one column per factor.

A factor is an uncertainty of the scenario (its dotted path), a lever (any scenario field, e.g.
``budget.ceiling_vnd_per_year``, or a run setting: ``confidence``, ``reps``). Sampled designs
(Latin hypercube, SALib's) are drawn in the unit hypercube of independent quantiles and mapped to
values by the model (each factor's distribution; the copula within correlation groups).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simopt.experiments.factors import FloatArray

if TYPE_CHECKING:
    from simopt.experiments.model import ExperimentModel

EXPERIMENT = "experiment"


@dataclass(frozen=True)
class Design:
    """Experiments: an ``experiment`` column numbering the rows 0…n−1, then the factors."""

    table: pd.DataFrame

    def __post_init__(self) -> None:
        if EXPERIMENT not in self.table.columns:
            raise ValueError("a design's table needs an 'experiment' column")
        numbers = self.table[EXPERIMENT].to_numpy()
        if not np.array_equal(numbers, np.arange(len(self.table))):
            raise ValueError("a design's experiments must be numbered 0, 1, 2, … in order")
        if len(self.table) == 0:
            raise ValueError("a design needs at least one experiment")

    @property
    def factors(self) -> list[str]:
        return [str(c) for c in self.table.columns if c != EXPERIMENT]

    def __len__(self) -> int:
        return len(self.table)

    def rows(self) -> list[dict[str, Any]]:
        """Each experiment's factor values, as plain Python values."""
        records = self.table[self.factors].to_dict("records")
        return [{str(k): _plain(v) for k, v in r.items() if not _empty(v)} for r in records]


def _empty(value: Any) -> bool:
    """A cell a row leaves out: that factor stays as the scenario states it."""
    return value is None or (isinstance(value, float | np.floating) and bool(np.isnan(value)))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([list(r) for r in rows], columns=list(columns))
    frame.insert(0, EXPERIMENT, np.arange(len(frame), dtype=np.int64))
    return frame


def list_design(rows: Sequence[Mapping[str, Any]]) -> Design:
    """Experiments given one by one; a factor a row leaves out stays as the scenario states it
    (its cell is empty)."""
    columns: list[str] = []
    for r in rows:
        columns += [str(k) for k in r if str(k) not in columns]
    return Design(_table(columns, [[r.get(c) for c in columns] for r in rows]))


def grid_design(levels: Mapping[str, Sequence[Any]]) -> Design:
    """Every combination of the levels given per factor (the last factor varies fastest)."""
    if not levels or any(len(v) == 0 for v in levels.values()):
        raise ValueError("a grid needs at least one value for each factor")
    names = list(levels)
    return Design(_table(names, list(itertools.product(*(levels[n] for n in names)))))


def unit_design(model: ExperimentModel, names: Sequence[str], u: FloatArray) -> Design:
    """Experiments at the given unit quantiles (rows) of the uncertainties ``names``."""
    values = model.to_values(names, np.asarray(u, dtype=float))
    return Design(_table(names, values.tolist()))


def lhs_design(
    model: ExperimentModel, n: int, seed: int, names: Sequence[str] | None = None
) -> Design:
    """A Latin hypercube of ``n`` experiments over the uncertainties (all of them by default)."""
    from scipy.stats import qmc

    chosen = list(names) if names is not None else model.names
    if n < 1:
        raise ValueError(f"a Latin hypercube needs at least one experiment, not {n}")
    sampler = qmc.LatinHypercube(d=len(chosen), rng=np.random.default_rng(seed))
    return unit_design(model, chosen, sampler.random(n))
