"""The uncertain factors of a scenario, as an experiment sees them.

Every scalar range is one factor whose value is drawn through its own inverse CDF. A level table
(``level_shares``, ``hire_level_shares``) is one factor too: its *certified share* (1 − the share
at level 0), whose marginal under the table's Dirichlet is a Beta; setting it moves the certified
levels in proportion (:func:`simopt.uncertain.draws.shifted_mix`), as the one-at-a-time drivers do.

Designs live in the unit hypercube of independent quantiles; :func:`to_values` turns a row of
quantiles into values, applying the scenario's Gaussian copula within each correlation group.
Each group's copula uses only its own columns, so groups stay independent of one another and a
design that moves a group's columns together (SALib's groups) moves the group's joint draw.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simopt.scenario import Scenario
from simopt.uncertain.draws import mix_share_quantile, normal_correlation, quantile
from simopt.uncertain.spec import LevelMix, Range

FloatArray = npt.NDArray[np.float64]

END_QUANTILES = (0.05, 0.95)
"""A level table's shown range: the 5% and 95% quantiles of its certified share."""


@dataclass(frozen=True)
class Uncertainty:
    """One uncertain factor: a scalar range (``kind`` "range") or a level table ("mix")."""

    name: str
    """The dotted path in the scenario, e.g. ``courses.level4.exam_pass_probability``."""
    kind: str
    low: float
    high: float
    value: float
    """The stated value (a level table: its stated certified share)."""
    distribution: str
    """uniform / triangular / pert / normal; ``beta`` for a level table's certified share."""
    group: str | None
    """The ``correlations:`` label it moves with, or None when independent."""
    rank_correlation: float | None
    source: str
    label: str
    _range: Range | None = None
    _mix: LevelMix | None = None

    def at(self, u: FloatArray | float) -> FloatArray:
        """The value at unit quantile(s) ``u`` of this factor's own distribution."""
        q = np.clip(np.asarray(u, dtype=float), 1e-12, 1.0 - 1e-12)
        if self._range is not None:
            return quantile(self._range, q)
        assert self._mix is not None
        from scipy import stats

        certified = 1.0 - self._mix.shares.get(0, 0.0)
        if certified <= 0.0 or certified >= 1.0:
            return np.full(q.shape, certified)
        k = self._mix.concentration
        return np.asarray(stats.beta.ppf(q, k * certified, k * (1.0 - certified)), dtype=float)


def label(path: str) -> str:
    """A short name in planners' words: ``pe_staff attrition rate per year``."""
    parts = path.split(".")
    field = parts[-1]
    words = {
        "level_shares": "current levels (certified share)",
        "hire_level_shares": "hires' levels (certified share)",
        "exam_pass_probability": "exam pass probability",
        "tuition_vnd_per_trainee": "tuition (VND per trainee)",
        "cost_vnd_per_class": "cost per class (VND)",
        "fee_vnd": "exam fee (VND)",
        "retake_pass_factor": "retake pass factor",
    }.get(field, field.replace("_", " "))
    if parts[0] == "groups" and len(parts) >= 5:
        return f"{parts[3]} {words}"
    if parts[0] in ("courses", "promotions") and len(parts) >= 3:
        owner = f"promotion {parts[1]}" if parts[0] == "promotions" else parts[1]
        return f"{owner} {words}"
    if parts[0] == "exams":
        return f"exam {words.removeprefix('exam ')}"
    return words


def scenario_uncertainties(scenario: Scenario) -> list[Uncertainty]:
    """Every range, then every level table, in the scenario's order."""
    u = scenario.uncertainties
    group_of: dict[str, tuple[str, float]] = {}
    for corr in u.correlations:
        for path in corr.paths:
            group_of.setdefault(path, (corr.label, corr.rank_correlation))
    out: list[Uncertainty] = []
    for path, r in u.ranges.items():
        group, rho = group_of.get(path, (None, None))
        out.append(
            Uncertainty(
                name=path,
                kind="range",
                low=float(r.low),
                high=float(r.high),
                value=float(r.value),
                distribution=r.distribution,
                group=group,
                rank_correlation=rho,
                source=r.source,
                label=label(path),
                _range=r,
            )
        )
    for path, mix in u.level_mixes.items():
        certified = 1.0 - mix.shares.get(0, 0.0)
        lo, hi = (mix_share_quantile(mix.shares, mix.concentration, q) for q in END_QUANTILES)
        out.append(
            Uncertainty(
                name=path,
                kind="mix",
                low=lo,
                high=hi,
                value=certified,
                distribution="beta",
                group=None,
                rank_correlation=None,
                source=mix.source,
                label=label(path),
                _mix=mix,
            )
        )
    return out


class CorrelationSplitError(ValueError):
    """Part of a correlation group was asked to move without the rest."""


def correlation_blocks(scenario: Scenario, names: Sequence[str]) -> list[list[int]]:
    """Column indices of ``names`` that move together: the connected correlation groups.

    Raises :class:`CorrelationSplitError` when a group is only partly among ``names``: moving
    one member alone would treat correlated parameters as independent."""
    where = {n: i for i, n in enumerate(names)}
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for corr in scenario.uncertainties.correlations:
        inside = [p for p in corr.paths if p in where]
        outside = [p for p in corr.paths if p not in where]
        if inside and outside:
            raise CorrelationSplitError(
                f"'{inside[0]}' is correlated with '{outside[0]}' (correlations: {corr.label}, "
                f"rank {corr.rank_correlation:g}); vary the whole group together or none of it"
            )
        for a, b in itertools.pairwise(inside):
            parent[root(where[a])] = root(where[b])
    blocks: dict[int, list[int]] = {}
    for i in range(len(names)):
        blocks.setdefault(root(i), []).append(i)
    return [b for b in blocks.values() if len(b) > 1]


def to_values(scenario: Scenario, factors: Sequence[Uncertainty], u: FloatArray) -> FloatArray:
    """(n, k) independent unit quantiles → (n, k) values, correlated within each group."""
    from scipy import special

    u = np.asarray(u, dtype=float)
    if u.ndim != 2 or u.shape[1] != len(factors):
        raise ValueError(f"expected an (n, {len(factors)}) matrix of quantiles, got {u.shape}")
    names = [f.name for f in factors]
    q = np.clip(u, 1e-12, 1.0 - 1e-12)
    for block in correlation_blocks(scenario, names):
        paths = [names[i] for i in block]
        matrix = normal_correlation(scenario.uncertainties.correlations, paths)
        values, vectors = np.linalg.eigh(matrix)
        factor = vectors * np.sqrt(np.clip(values, 0.0, None))
        z = special.ndtri(q[:, block]) @ factor.T
        q[:, block] = special.ndtr(z)
    out = np.empty_like(q)
    for j, f in enumerate(factors):
        out[:, j] = f.at(q[:, j])
    return out
