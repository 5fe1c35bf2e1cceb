"""Designs: numbered experiments; grids, lists and Latin hypercubes."""

from __future__ import annotations

import numpy as np
import pytest

from simopt.experiments import Design, ExperimentModel, grid_design, lhs_design, list_design

PASS4 = "courses.level4.exam_pass_probability"
FEE = "exams.retake_pass_factor"


def test_grid_is_every_combination() -> None:
    d = grid_design({"confidence": [0.8, 0.9], "ceiling_vnd_per_year": [1e11, 2e11, 3e11]})
    assert len(d) == 6
    assert d.rows()[1] == {"confidence": 0.8, "ceiling_vnd_per_year": 2e11}
    assert list(d.table["experiment"]) == list(range(6))


def test_list_leaves_unnamed_factors_as_stated() -> None:
    d = list_design([{"confidence": 0.8}, {"ceiling_vnd_per_year": 1e11}])
    assert d.rows() == [{"confidence": 0.8}, {"ceiling_vnd_per_year": 1e11}]


def test_experiments_are_numbered_in_order() -> None:
    d = grid_design({"confidence": [0.8, 0.9]})
    with pytest.raises(ValueError, match="numbered"):
        Design(d.table.iloc[::-1].reset_index(drop=True))


def test_latin_hypercube_puts_one_point_in_each_stratum() -> None:
    m = ExperimentModel.from_file("scenarios/long_an.yaml")
    d = lhs_design(m, 20, seed=3, names=[FEE])
    u = np.sort([_cdf_rank(m, FEE, v) for v in d.table[FEE]])
    assert np.array_equal(np.floor(u * 20).astype(int), np.arange(20))
    again = lhs_design(m, 20, seed=3, names=[FEE])
    assert d.table.equals(again.table)
    assert not d.table.equals(lhs_design(m, 20, seed=4, names=[FEE]).table)


def _cdf_rank(m: ExperimentModel, name: str, value: float) -> float:
    grid = np.linspace(1e-6, 1 - 1e-6, 200_001)
    return float(np.interp(value, m.uncertainty(name).at(grid), grid))
