"""What a simulation keeps of each year: targets always, the full per-pool table when asked."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse

from simopt.dynamics import N_LEVELS, Dynamics
from simopt.simulate.state import YEAR_COUNTERS, ProvinceState

FloatArray = npt.NDArray[np.float64]


class Recorder:
    def __init__(self, d: Dynamics, reps: int, *, keep_replications: bool) -> None:
        self.d = d
        s = d.scenario
        self.target_ids = tuple(s.targets)
        n_y = len(d.years)
        # (targets, pools × levels) sparse masks: which cells count towards each target and its
        # base. A target covers a few pools of a province; dense masks would grow with the
        # square of the provinces in a national scenario, and their products with them.
        base_cells: list[list[int]] = []
        attained_cells: list[list[int]] = []
        for tid in self.target_ids:
            t = s.targets[tid]
            pools = sorted({d.pool_index(p) for p in s.target_pools(t)})
            base_cells.append([p * N_LEVELS + lvl for p in pools for lvl in range(N_LEVELS)])
            attained_cells.append(
                [p * N_LEVELS + lvl for p in pools for lvl in range(t.min_level, N_LEVELS)]
            )
        self.base_mask = _mask(base_cells, d.n_pools * N_LEVELS)
        self.attained_mask = _mask(attained_cells, d.n_pools * N_LEVELS)
        self.attained = np.zeros((reps, len(self.target_ids), n_y))
        self.base = np.zeros((reps, len(self.target_ids), n_y))
        self.cost_years = d.cost_years
        self.cost_vnd = np.zeros((reps, len(self.cost_years)))
        self.public_cost_vnd = np.zeros((reps, len(self.cost_years)))
        # share of each pool's costs paid by public sources (what a budget ceiling caps)
        public = np.array(d.source_public, dtype=bool)
        self.public_share = d.funding[:, public].sum(axis=1)
        self.enrolled = np.zeros((reps, n_y))
        self.keep = keep_replications
        # sums over replications, per year and pool, for the mean yearly table
        self.sum_levels = np.zeros((n_y, d.n_pools, N_LEVELS))
        self.sum_counters = {k: np.zeros((n_y, d.n_pools)) for k in YEAR_COUNTERS}
        self.sum_cost = np.zeros((n_y, d.n_pools))
        if keep_replications:
            self.levels = np.zeros((reps, n_y, d.n_pools, N_LEVELS), dtype=np.int32)
            self.counters = {
                k: np.zeros((reps, n_y, d.n_pools), dtype=np.int32) for k in YEAR_COUNTERS
            }
            self.pool_cost = np.zeros((reps, n_y, d.n_pools))

    def record_cost(self, year_index: int, state: ProvinceState, rows: slice | int) -> None:
        """A year after the horizon: only the money its exam sittings still cost."""
        self._record_money(year_index, state, rows)

    def _record_money(self, year_index: int, state: ProvinceState, rows: slice | int) -> None:
        self.cost_vnd[rows, year_index] = state.cost_vnd.sum(axis=1)
        self.public_cost_vnd[rows, year_index] = state.cost_vnd @ self.public_share

    def record(self, year_index: int, state: ProvinceState, rows: slice | int) -> None:
        levels = state.levels()  # (r, pools, levels)
        # (cells, r) in float: sums of whole people, exact in any order
        cells = np.ascontiguousarray(levels.reshape(levels.shape[0], -1).T, dtype=np.float64)
        self.attained[rows, :, year_index] = (self.attained_mask @ cells).T
        self.base[rows, :, year_index] = (self.base_mask @ cells).T
        self._record_money(year_index, state, rows)
        self.enrolled[rows, year_index] = state.counters["enrolled"].sum(axis=1)
        self.sum_levels[year_index] += levels.sum(axis=0)
        for k in YEAR_COUNTERS:
            self.sum_counters[k][year_index] += state.counters[k].sum(axis=0)
        self.sum_cost[year_index] += state.cost_vnd.sum(axis=0)
        if self.keep:
            self.levels[rows, year_index] = levels
            for k in YEAR_COUNTERS:
                self.counters[k][rows, year_index] = state.counters[k]
            self.pool_cost[rows, year_index] = state.cost_vnd


def _mask(cells: list[list[int]], n_cells: int) -> sparse.csr_matrix:
    """(targets, cells) ones where a target counts a cell."""
    indptr = np.cumsum([0, *(len(c) for c in cells)])
    index = np.array([i for c in cells for i in c], dtype=np.int64)
    return sparse.csr_matrix(
        (np.ones(len(index)), index, indptr), shape=(len(cells), n_cells), dtype=np.float64
    )
