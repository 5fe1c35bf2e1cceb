"""What a simulation keeps of each year: targets always, the full per-pool table when asked."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simopt.dynamics import N_LEVELS, Dynamics
from simopt.simulate.state import YEAR_COUNTERS, ProvinceState

FloatArray = npt.NDArray[np.float64]


class Recorder:
    def __init__(self, d: Dynamics, reps: int, *, keep_replications: bool) -> None:
        self.d = d
        s = d.scenario
        self.target_ids = tuple(s.targets)
        n_y = len(d.years)
        # (targets, pools, levels) masks: which cells count towards each target and its base
        self.base_mask = np.zeros((len(self.target_ids), d.n_pools, N_LEVELS))
        self.attained_mask = np.zeros_like(self.base_mask)
        for i, tid in enumerate(self.target_ids):
            t = s.targets[tid]
            pools = [d.pool_index(p) for p in s.target_pools(t)]
            self.base_mask[i, pools, :] = 1.0
            self.attained_mask[i, pools, t.min_level :] = 1.0
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
        self.attained[rows, :, year_index] = np.tensordot(
            levels, self.attained_mask, ([1, 2], [1, 2])
        )
        self.base[rows, :, year_index] = np.tensordot(levels, self.base_mask, ([1, 2], [1, 2]))
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
