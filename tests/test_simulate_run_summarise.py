"""Per-target summaries computed for all cells at once are, to the last bit, the summaries
computed one target and year at a time."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simopt.dynamics import Dynamics, compile_dynamics
from simopt.national import write_national
from simopt.scenario import load_scenario
from simopt.simulate.probability import is_met, wilson
from simopt.simulate.run import summarise

LONG_AN = Path("scenarios/long_an.yaml")
QUANG_TRI = Path("scenarios/quang_tri.yaml")  # has a count-only target: no share


def _cell_by_cell(d: Dynamics, attained: np.ndarray, base: np.ndarray) -> pd.DataFrame:
    """The summary as it was written first: one target and year at a time."""
    rows = []
    for i, (tid, t) in enumerate(d.scenario.targets.items()):
        for y, year in enumerate(d.years):
            a = attained[:, i, y]
            b = base[:, i, y]
            share = np.divide(a, b, out=np.zeros_like(a), where=b > 0)
            met = is_met(a - t.required(b))
            n = len(a)
            p = float(met.mean())
            low, high = wilson(int(met.sum()), n)
            rows.append(
                {
                    "target": tid,
                    "target_year": t.year,
                    "year": year,
                    "mean_attained_people": float(a.mean()),
                    "sd_attained_people": float(a.std(ddof=1)) if n > 1 else 0.0,
                    "mean_base_people": float(b.mean()),
                    "mean_share": float(share.mean()),
                    "share_low95": float(np.quantile(share, 0.025)),
                    "share_high95": float(np.quantile(share, 0.975)),
                    "required_share": t.share,
                    "required_count": t.min_count,
                    "probability_met": p,
                    "probability_met_se": math.sqrt(p * (1 - p) / n),
                    "probability_met_low95": low,
                    "probability_met_high95": high,
                }
            )
    return pd.DataFrame(rows)


def _sample(d: Dynamics, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Attained and eligible people as a simulation gives them: whole people, some cells empty
    and some held in every replication, plus fractional ones to test the rounding."""
    rng = np.random.default_rng(seed)
    shape = (reps, len(d.scenario.targets), len(d.years))
    base = rng.integers(0, 30_000, size=shape).astype(float)
    base[:, 0, :] = 0.0  # nobody eligible: share 0 by convention
    attained = np.floor(base * rng.uniform(0.2, 0.95, size=shape))
    attained[:, -1, :] = base[:, -1, :]  # everyone certified
    attained[: reps // 2, 1, :] += rng.normal(0.0, 0.3, size=(reps // 2, len(d.years)))
    return attained, base


@pytest.mark.parametrize("path", [LONG_AN, QUANG_TRI])
@pytest.mark.parametrize("reps", [1, 2, 401, 10_000])
def test_the_summary_is_the_cell_by_cell_one(path: Path, reps: int) -> None:
    d = compile_dynamics(load_scenario(path))
    attained, base = _sample(d, reps, reps)
    ours = summarise(d, attained, base)
    pd.testing.assert_frame_equal(ours, _cell_by_cell(d, attained, base), check_exact=True)
    assert len(ours) == len(d.scenario.targets) * len(d.years)


def test_a_national_summary_is_the_cell_by_cell_one(tmp_path: Path) -> None:
    d = compile_dynamics(load_scenario(write_national(LONG_AN, 4, tmp_path / "n4.yaml")))
    attained, base = _sample(d, 1000, 7)
    pd.testing.assert_frame_equal(
        summarise(d, attained, base), _cell_by_cell(d, attained, base), check_exact=True
    )
