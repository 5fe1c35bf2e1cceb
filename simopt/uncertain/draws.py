"""Drawing a scenario's uncertain parameters: one row of values per replication.

Every scalar is drawn through its inverse CDF from a uniform; the uniforms come from a Gaussian
copula, so parameters named together in ``correlations`` reach their stated Spearman rank
correlation (the normal correlation is r = 2 sin(π ρ / 6), the exact map for a Gaussian copula)
while each keeps its own distribution. Level tables are drawn as Dirichlet vectors.

The draws use their own random stream, ``SeedSequence([seed, PARAMETER_STREAM])``, apart from the
events of the simulation: the same seed gives the same parameters on any engine, any number of
workers and in every round of the planning loop (common random numbers), and row ``i`` does not
depend on how many replications follow it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

# pandas and SciPy are imported where used: `simopt validate` reaches this module through the
# correlation check and must not pay half a second for them.

from simopt.dynamics import N_LEVELS, level_row
from simopt.uncertain.spec import Correlation, Range, Uncertainties

FloatArray = npt.NDArray[np.float64]

PARAMETER_STREAM = 0x5EED_0F_7A4A
"""Second word of the parameter stream's entropy; keeps it apart from the event streams."""

PERT_SHAPE = 4.0
"""The classic PERT weight of the mode (λ = 4)."""


@dataclass(frozen=True)
class ParameterDraws:
    """Drawn values, one row per replication."""

    paths: tuple[str, ...]
    values: FloatArray
    """(reps, paths): each scalar's value in each replication."""
    mixes: dict[str, FloatArray] = field(default_factory=dict)
    """Level table path → (reps, levels) shares summing to one."""

    @property
    def reps(self) -> int:
        return int(self.values.shape[0])

    def rows(self, index: slice | npt.NDArray[np.int64]) -> ParameterDraws:
        return ParameterDraws(
            self.paths, self.values[index], {k: v[index] for k, v in self.mixes.items()}
        )

    def column(self, path: str) -> FloatArray:
        return self.values[:, self.paths.index(path)]

    def table(self) -> pd.DataFrame:
        """One row per replication, one column per scalar and one per level of each level table
        that holds anyone (``<path>.<level>``): everything a replication drew."""
        import pandas as pd

        data: dict[str, FloatArray | npt.NDArray[np.int64]] = {"replication": np.arange(self.reps)}
        for j, path in enumerate(self.paths):
            data[path] = self.values[:, j]
        for path, shares in self.mixes.items():
            for lvl in np.flatnonzero(shares.any(axis=0)):
                data[f"{path}.{lvl}"] = shares[:, lvl]
        return pd.DataFrame(data)


def quantile(r: Range, u: FloatArray) -> FloatArray:
    """The value of ``r`` at probability ``u`` of its distribution (its inverse CDF)."""
    from scipy import special, stats

    u = np.asarray(u, dtype=float)
    if r.width <= 0:
        return np.full(u.shape, float(r.value))
    lo, hi, mode = float(r.low), float(r.high), float(r.value)
    if r.distribution == "uniform":
        return lo + u * (hi - lo)
    if r.distribution == "triangular":
        c = (mode - lo) / (hi - lo)
        return np.asarray(stats.triang.ppf(u, c, loc=lo, scale=hi - lo), dtype=float)
    if r.distribution == "pert":
        a = 1.0 + PERT_SHAPE * (mode - lo) / (hi - lo)
        b = 1.0 + PERT_SHAPE * (hi - mode) / (hi - lo)
        return lo + (hi - lo) * np.asarray(special.betaincinv(a, b, u), dtype=float)
    if r.distribution == "normal":
        sd = r.normal_sd
        a, b = (lo - mode) / sd, (hi - mode) / sd
        x = stats.truncnorm.ppf(u, a, b, loc=mode, scale=sd)
        clipped: FloatArray = np.clip(np.asarray(x, dtype=float), lo, hi)
        return clipped
    raise ValueError(f"unknown distribution {r.distribution!r}")


def normal_correlation(correlations: Sequence[Correlation], paths: Sequence[str]) -> FloatArray:
    """The Gaussian copula's correlation matrix for the stated rank correlations."""
    n = len(paths)
    matrix = np.eye(n)
    where = {p: i for i, p in enumerate(paths)}
    for corr in correlations:
        r = 2.0 * math.sin(math.pi * corr.rank_correlation / 6.0)
        idx = [where[p] for p in corr.paths if p in where]
        for a in idx:
            for b in idx:
                if a != b:
                    matrix[a, b] = r
    return matrix


def _copula_factor(matrix: FloatArray) -> FloatArray:
    """A square root of a positive semi-definite matrix (Cholesky fails on singular ones)."""
    values, vectors = np.linalg.eigh(matrix)
    return np.asarray(vectors * np.sqrt(np.clip(values, 0.0, None)), dtype=float)


def parameter_rng(seed: int, child: int) -> np.random.Generator:
    children = np.random.SeedSequence([seed, PARAMETER_STREAM]).spawn(child + 1)
    return np.random.default_rng(children[child])


def draw_uniforms(u: Uncertainties, reps: int, seed: int) -> FloatArray:
    """(reps, ranges) uniforms with the stated rank correlations."""
    from scipy import special

    paths = tuple(u.ranges)
    z = parameter_rng(seed, 0).standard_normal((reps, len(paths)))
    if u.correlations:
        z = z @ _copula_factor(normal_correlation(u.correlations, paths)).T
    return np.asarray(special.ndtr(z), dtype=float)


def draw_parameters(u: Uncertainties, reps: int, seed: int) -> ParameterDraws:
    """Every uncertain parameter of a scenario, drawn ``reps`` times."""
    paths = tuple(u.ranges)
    uniforms = draw_uniforms(u, reps, seed)
    values = np.empty((reps, len(paths)))
    for j, path in enumerate(paths):
        values[:, j] = quantile(u.ranges[path], uniforms[:, j])
    mixes = {}
    for k, (path, mix) in enumerate(u.level_mixes.items(), start=1):
        mixes[path] = draw_mix(mix.shares, mix.concentration, reps, parameter_rng(seed, k))
    return ParameterDraws(paths, values, mixes)


def draw_mix(
    shares: dict[int, float], concentration: float, reps: int, rng: np.random.Generator
) -> FloatArray:
    """(reps, levels) Dirichlet(concentration × shares); levels with no share stay empty."""
    out = np.zeros((reps, N_LEVELS))
    levels = [lvl for lvl, s in sorted(shares.items()) if s > 0]
    alpha = np.array([shares[lvl] for lvl in levels]) * concentration
    if len(levels) == 1:
        out[:, levels[0]] = 1.0
        return out
    out[:, levels] = rng.dirichlet(alpha, size=reps)
    return out


def central_parameters(u: Uncertainties, reps: int = 1) -> ParameterDraws:
    """Every parameter at its stated value: the world the optimiser plans for."""
    paths = tuple(u.ranges)
    values = np.tile(np.array([u.ranges[p].value for p in paths], dtype=float), (reps, 1))
    mixes = {}
    for path, mix in u.level_mixes.items():
        row = level_row(mix.shares)
        mixes[path] = np.tile(row / row.sum(), (reps, 1))
    return ParameterDraws(paths, values.reshape(reps, len(paths)), mixes)


def mix_share_quantile(shares: dict[int, float], concentration: float, q: float) -> float:
    """Quantile ``q`` of the share holding some certified level (1 − share at level 0), whose
    marginal under the Dirichlet is a Beta."""
    from scipy import stats

    certified = 1.0 - shares.get(0, 0.0)
    if certified <= 0.0 or certified >= 1.0:
        return certified
    return float(stats.beta.ppf(q, concentration * certified, concentration * (1.0 - certified)))


def shifted_mix(shares: dict[int, float], certified: float) -> FloatArray:
    """The level table with its certified share moved to ``certified``, the certified levels
    scaled in proportion (the one-at-a-time ends of a level table)."""
    row = level_row(shares)
    now = 1.0 - row[0]
    if now > 0:
        row[1:] *= certified / now
    row[0] = 1.0 - certified
    return row
