"""The recorder's per-target tallies: sparse masks count exactly what dense ones counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simopt.dynamics import N_LEVELS, Dynamics, compile_dynamics
from simopt.national import write_national
from simopt.optimize import optimize
from simopt.scenario import load_scenario
from simopt.simulate import schedule_array
from simopt.simulate.engines import run_fast, run_simpy
from simopt.simulate.record import Recorder
from simopt.simulate.state import ProvinceState

LONG_AN = Path("scenarios/long_an.yaml")
QUANG_TRI = Path("scenarios/quang_tri.yaml")


def _dense_masks(d: Dynamics) -> tuple[np.ndarray, np.ndarray]:
    """(targets, pools, levels) ones: the masks the recorder multiplied by before."""
    s = d.scenario
    base = np.zeros((len(s.targets), d.n_pools, N_LEVELS))
    attained = np.zeros_like(base)
    for i, t in enumerate(s.targets.values()):
        pools = [d.pool_index(p) for p in s.target_pools(t)]
        base[i, pools, :] = 1.0
        attained[i, pools, t.min_level :] = 1.0
    return base, attained


def _dynamics(which: str, tmp_path: Path) -> Dynamics:
    if which == "national":
        return compile_dynamics(load_scenario(write_national(LONG_AN, 3, tmp_path / "n3.yaml")))
    return compile_dynamics(load_scenario(LONG_AN if which == "long_an" else QUANG_TRI))


@pytest.mark.parametrize("which", ["long_an", "quang_tri", "national"])
def test_tallies_equal_dense_masks(which: str, tmp_path: Path) -> None:
    d = _dynamics(which, tmp_path)
    enrol = schedule_array(d, optimize(None, dynamics=d, continuous=True).schedule)
    reps = 60
    rec = Recorder(d, reps, keep_replications=True)
    run_fast(d, enrol, np.random.default_rng(1), rec, slice(0, reps))
    base_mask, attained_mask = _dense_masks(d)
    for y in range(len(d.years)):
        levels = rec.levels[:, y]  # (reps, pools, levels) everyone at the year's end
        assert np.array_equal(
            rec.attained[:, :, y], np.tensordot(levels, attained_mask, ([1, 2], [1, 2]))
        )
        assert np.array_equal(rec.base[:, :, y], np.tensordot(levels, base_mask, ([1, 2], [1, 2])))
    assert rec.attained.sum() > 0
    assert (rec.attained <= rec.base).all()


def test_one_replication_at_a_time_is_tallied_in_its_row() -> None:
    d = compile_dynamics(load_scenario(LONG_AN))
    enrol = schedule_array(d, optimize(None, dynamics=d, continuous=True).schedule)
    rec = Recorder(d, 3, keep_replications=True)
    for row in range(3):
        run_simpy(d, enrol, np.random.default_rng(row), rec, row)
    base_mask, attained_mask = _dense_masks(d)
    levels = rec.levels[:, -1]
    assert np.array_equal(
        rec.attained[:, :, -1], np.tensordot(levels, attained_mask, ([1, 2], [1, 2]))
    )
    assert np.array_equal(rec.base[:, :, -1], np.tensordot(levels, base_mask, ([1, 2], [1, 2])))


def test_a_target_counts_each_cell_once() -> None:
    d = compile_dynamics(load_scenario(LONG_AN))
    rec = Recorder(d, 1, keep_replications=False)
    state = ProvinceState(d=d, rng=np.random.default_rng(0), reps=1)
    state.free[:] = 1  # one person in every pool at every level
    rec.record(0, state, slice(0, 1))
    for i, t in enumerate(d.scenario.targets.values()):
        pools = set(d.scenario.target_pools(t))
        assert rec.base[0, i, 0] == len(pools) * N_LEVELS
        assert rec.attained[0, i, 0] == len(pools) * (N_LEVELS - t.min_level)
