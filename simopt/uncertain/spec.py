"""The uncertainties a scenario declares, as plain typed data.

A number in a scenario file may carry its uncertainty next to its value and source::

    exam_pass_probability:
      {value: 0.60, range: [0.45, 0.80], distribution: triangular, source: "assumption …"}

``value`` stays what the optimiser plans with (the mode or central value); the simulator draws a
new value in every replication. ``distribution`` is ``uniform`` (the default when only a range is
given), ``triangular`` or ``pert`` (both with their mode at ``value``) or ``normal`` (mean
``value``, standard deviation ``sd``, by default (high − low) / 4, truncated to the range). A
zero-width range (low = high = value) is legal and draws nothing but the value.

A level table (``level_shares``, ``hire_level_shares``) varies as a whole: Dirichlet(K × shares)
around its stated shares, for a stated ``concentration`` K. Each share s then has standard
deviation sqrt(s (1 − s) / (K + 1)): K = 80 gives about ±5 points (one sd) at s = 0.3, so a
survey-less guess of "±10 points per level" is about two standard deviations at K = 80.

Named parameters can be made to move together with a Spearman rank correlation
(``correlations:`` in the scenario); the simulator realises it with a Gaussian copula, whose
normal correlation is r = 2 sin(π ρ / 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

Distribution = Literal["uniform", "triangular", "pert", "normal"]
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "triangular", "pert", "normal")


@dataclass(frozen=True)
class Range:
    """One scalar assumption drawn from ``distribution`` on [low, high]."""

    path: str
    """Dotted field path, e.g. ``courses.level4.exam_pass_probability``."""
    value: float
    """The central value: the mode (triangular, PERT), the mean before truncation (normal)."""
    low: float
    high: float
    distribution: Distribution = "uniform"
    sd: float | None = None
    """Normal only: the standard deviation before truncation; None = (high − low) / 4."""
    source: str = "assumption"

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def normal_sd(self) -> float:
        """The normal's standard deviation before truncation: ``sd`` or (high − low) / 4."""
        return self.sd if self.sd is not None else self.width / 4


@dataclass(frozen=True)
class LevelMix:
    """A level distribution drawn as Dirichlet(concentration × shares): the mean is the stated
    shares and each share s has standard deviation sqrt(s (1 − s) / (concentration + 1))."""

    path: str
    """e.g. ``groups.public_employees.pools.pe_staff.level_shares``."""
    shares: dict[int, float]
    concentration: float
    source: str = "assumption"

    def share_sd(self, level: int) -> float:
        """Standard deviation of the share drawn at ``level`` (0 for a level not in the table)."""
        s = self.shares.get(level, 0.0)
        return math.sqrt(s * (1 - s) / (self.concentration + 1))


@dataclass(frozen=True)
class Correlation:
    """Parameters that move together: every pair has this Spearman rank correlation."""

    label: str
    paths: tuple[str, ...]
    """Range paths the entry's patterns matched, in the scenario's order."""
    rank_correlation: float
    source: str = "assumption"


@dataclass(frozen=True)
class Uncertainties:
    ranges: dict[str, Range] = field(default_factory=dict)
    """By path, in the order they appear in the scenario."""
    level_mixes: dict[str, LevelMix] = field(default_factory=dict)
    correlations: tuple[Correlation, ...] = ()

    @property
    def any(self) -> bool:
        """Whether anything is drawn at all (zero-width ranges still count as declared)."""
        return bool(self.ranges or self.level_mixes)


DRAWN_SCALARS: tuple[str, ...] = (
    "groups.*.pools.*.headcount",
    "groups.*.pools.*.excluded",
    "groups.*.pools.*.attrition_rate_per_year",
    "groups.*.pools.*.hires_per_year",
    "promotions.*.rate_per_year",
    "courses.*.completion_rate",
    "courses.*.exam_pass_probability",
    "courses.*.tuition_vnd_per_trainee",
    "courses.*.cost_vnd_per_class",
    "exams.fee_vnd",
    "exams.retake_pass_factor",
)
"""Fields (``*`` = any one id) that may carry a ``range``: the assumptions the simulator draws.
Everything else is a fact of the plan (targets, years), a lever the province sets (seats, who
pays, ceilings) or the shape of the model (levels, months), and is not drawn."""

DRAWN_MIXES: tuple[str, ...] = (
    "groups.*.pools.*.level_shares",
    "groups.*.pools.*.hire_level_shares",
)
"""Level tables that may carry a ``concentration``."""


def path_matches(pattern: str, path: str) -> bool:
    """Whether a dotted ``path`` matches ``pattern``, where ``*`` (and ``?``, ``[…]``) stand within
    one segment: ``courses.*.exam_pass_probability`` matches every course, never a deeper path."""
    pattern_parts, path_parts = pattern.split("."), path.split(".")
    return len(pattern_parts) == len(path_parts) and all(
        fnmatchcase(part, pat) for pat, part in zip(pattern_parts, path_parts, strict=True)
    )


def is_drawn_scalar(path: str) -> bool:
    """Whether a number at ``path`` may carry a ``range``."""
    return any(path_matches(p, path) for p in DRAWN_SCALARS)


def is_drawn_mix(path: str) -> bool:
    """Whether a level table at ``path`` may carry a ``concentration``."""
    return any(path_matches(p, path) for p in DRAWN_MIXES)


TABLE_COLUMNS: tuple[str, ...] = (
    "path",
    "value",
    "low",
    "high",
    "distribution",
    "sd",
    "concentration",
    "source",
)


def uncertainty_table(u: Uncertainties) -> pd.DataFrame:
    """The uncertainties as one tidy table, one row per range then per level table.

    ``sd`` is the normal's standard deviation before truncation for a normal range (NaN for the
    other distributions) and, for a level table (distribution ``dirichlet``), the standard
    deviation of its level-0 share; ``value``, ``low`` and ``high`` are NaN for a level table.
    """
    import pandas as pd

    nan = math.nan
    rows: list[dict[str, object]] = [
        {
            "path": r.path,
            "value": r.value,
            "low": r.low,
            "high": r.high,
            "distribution": r.distribution,
            "sd": r.normal_sd if r.distribution == "normal" else nan,
            "concentration": nan,
            "source": r.source,
        }
        for r in u.ranges.values()
    ]
    rows += [
        {
            "path": m.path,
            "value": nan,
            "low": nan,
            "high": nan,
            "distribution": "dirichlet",
            "sd": m.share_sd(0),
            "concentration": m.concentration,
            "source": m.source,
        }
        for m in u.level_mixes.values()
    ]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
