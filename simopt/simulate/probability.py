"""What replications say about probabilities: Monte Carlo intervals, targets held together, and
how much of each target's spread comes from the parameters rather than from luck."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from simopt.scenario import Scenario

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Z95 = 1.959963984540054

MET_TOLERANCE_PEOPLE = 1e-9
"""A target is met when attained people reach the requirement less this (rounding only)."""


def is_met(gap: npt.ArrayLike) -> BoolArray:
    """Attained − required people → met or not: the one rule every probability counts by."""
    return np.asarray(gap, dtype=float) >= -MET_TOLERANCE_PEOPLE


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson interval of a probability from ``successes`` out of ``n`` replications: unlike
    p ± 2 se it does not collapse to a point at 0% or 100%."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def met_at_target_year(
    scenario: Scenario, years: Sequence[int], attained: FloatArray, base: FloatArray
) -> BoolArray:
    """(reps, targets): did each target hold at its own year in each replication?"""
    out = np.zeros((attained.shape[0], len(scenario.targets)), dtype=bool)
    for i, t in enumerate(scenario.targets.values()):
        y = list(years).index(t.year)
        out[:, i] = is_met(attained[:, i, y] - t.required(base[:, i, y]))
    return out


def joint_table(
    scenario: Scenario, years: Sequence[int], attained: FloatArray, base: FloatArray
) -> pd.DataFrame:
    """Per milestone, and for the whole plan: the probability that every target held in the
    same replication, with its 95% Monte Carlo interval."""
    met = met_at_target_year(scenario, years, attained, base)
    target_years = np.array([t.year for t in scenario.targets.values()])
    scopes: list[tuple[str, BoolArray]] = [
        (str(int(y)), target_years == y) for y in sorted(set(target_years.tolist()))
    ]
    scopes.append(("all", np.ones(len(target_years), dtype=bool)))
    rows = []
    n = met.shape[0]
    for scope, mask in scopes:
        together = met[:, mask].all(axis=1)
        k = int(together.sum())
        low, high = wilson(k, n)
        per_target = met[:, mask].mean(axis=0)
        rows.append(
            {
                "scope": scope,
                "targets": int(mask.sum()),
                "probability_all_met": k / n,
                "probability_all_met_low95": low,
                "probability_all_met_high95": high,
                "lowest_probability_met": float(per_target.min()),
            }
        )
    return pd.DataFrame(rows)


def variance_split(
    scenario: Scenario, years: Sequence[int], attained: FloatArray, twin: FloatArray
) -> pd.DataFrame:
    """Per target at its year: how much of the variance of attained people is due to the drawn
    parameters and how much to the luck of individuals.

    ``twin`` ran the same parameter draws with other event streams. By the law of total variance
    Var(A) = Var(E[A | θ]) + E[Var(A | θ)], and for two runs sharing θ with independent luck
    Cov(A, A') = Var(E[A | θ]): an unbiased estimate of the parameters' part with no model of
    how A depends on θ.
    """
    rows = []
    for i, (tid, t) in enumerate(scenario.targets.items()):
        y = list(years).index(t.year)
        a, b = attained[:, i, y], twin[:, i, y]
        n = len(a)
        if n < 2:
            continue
        total = float(np.var(np.concatenate([a, b]), ddof=1))
        between = float(np.cov(a, b, ddof=1)[0, 1])
        between = min(max(between, 0.0), total)
        share = between / total if total > 0 else 0.0
        rows.append(
            {
                "target": tid,
                "year": t.year,
                "sd_attained_people": math.sqrt(total),
                "sd_from_parameters_people": math.sqrt(between),
                "sd_from_luck_people": math.sqrt(max(total - between, 0.0)),
                "parameter_share_of_variance": share,
            }
        )
    return pd.DataFrame(rows)
