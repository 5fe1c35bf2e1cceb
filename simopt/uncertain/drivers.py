"""What a target's chances rest on: each uncertainty moved alone to the ends of its range.

A quick one-at-a-time check, not a global sensitivity analysis: every uncertainty is set to the
5% and the 95% quantile of its distribution (a level table: of its certified share), all others
at their stated values, and the schedule is simulated at each setting. Equal quantiles make a
triangular range and a Dirichlet table comparable. The swing of a target's gap — attained people
less the people it requires *at that setting* (a drawn head count moves a share target's base) —
between the two settings ranks the uncertainties that drive it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from simopt.dynamics import Dynamics, engine_dynamics
from simopt.scenario import Scenario
from simopt.uncertain.draws import (
    ParameterDraws,
    central_parameters,
    mix_share_quantile,
    quantile,
    shifted_mix,
)

FloatArray = npt.NDArray[np.float64]

END_QUANTILES = (0.05, 0.95)
REPS_PER_SETTING = 20
"""Replications at each setting: the luck of individuals averages out to a few people, far
below the swings that matter."""


def oat_design(scenario: Scenario) -> tuple[ParameterDraws, list[tuple[str, str, float]]]:
    """Parameter rows: the central setting, then each uncertainty at its low and high end.

    Returns the design and, per row, (path, end, value) — ("", "central", nan) for the first.
    """
    u = scenario.uncertainties
    centre = central_parameters(u, 1)
    values = [centre.values[0]]
    mixes: dict[str, list[FloatArray]] = {k: [v[0]] for k, v in centre.mixes.items()}
    labels: list[tuple[str, str, float]] = [("", "central", float("nan"))]

    def add(path: str, end: str, shown: float, scalars: FloatArray, table: str = "") -> None:
        values.append(scalars)
        for k in mixes:
            mixes[k].append(centre.mixes[k][0])
        if table:
            mixes[table][-1] = shifted_mix(u.level_mixes[table].shares, shown)
        labels.append((path, end, shown))

    for j, (path, r) in enumerate(u.ranges.items()):
        if r.width <= 0:
            continue
        ends = quantile(r, np.array(END_QUANTILES))
        for end, v in zip(("low", "high"), ends, strict=True):
            row = centre.values[0].copy()
            row[j] = v
            add(path, end, float(v), row)
    for path, mix in u.level_mixes.items():
        for end, q in zip(("low", "high"), END_QUANTILES, strict=True):
            certified = mix_share_quantile(mix.shares, mix.concentration, q)
            add(path, end, certified, centre.values[0].copy(), table=path)
    design = ParameterDraws(
        centre.paths,
        np.array(values, dtype=float).reshape(len(values), len(centre.paths)),
        {k: np.array(v) for k, v in mixes.items()},
    )
    return design, labels


def oat_drivers(
    scenario: Scenario,
    schedule: pd.DataFrame,
    *,
    targets: list[str] | None = None,
    seed: int = 0,
    reps_per_setting: int = REPS_PER_SETTING,
    dynamics: Dynamics | None = None,
) -> pd.DataFrame:
    """Per target and uncertainty: attained and required people at the target's year with the
    uncertainty at its 5% and 95% quantiles, the others at their stated values; sorted by the
    swing of the gap (attained − required), largest first.

    Columns: target, path, low_value, high_value, attained_low_people, attained_high_people,
    required_low_people, required_high_people, attained_central_people, required_people (at the
    stated values), swing_people, quantity ("value", or "certified share" for a level table:
    1 − the share at level 0).
    """
    from simopt.simulate import simulate

    d = engine_dynamics(scenario, dynamics)
    design, labels = oat_design(scenario)
    columns = [
        "target",
        "path",
        "low_value",
        "high_value",
        "attained_low_people",
        "attained_high_people",
        "required_low_people",
        "required_high_people",
        "attained_central_people",
        "required_people",
        "swing_people",
        "quantity",
    ]
    if len(labels) == 1:
        return pd.DataFrame(columns=columns)
    m = reps_per_setting
    index = np.repeat(np.arange(len(labels)), m)
    result = simulate(
        scenario,
        schedule,
        reps=len(index),
        seed=seed,
        engine="fast",
        dynamics=d,
        parameters=design.rows(index),
    )
    ids = list(scenario.targets)
    chosen = targets if targets is not None else ids
    rows = []
    for tid in chosen:
        i = ids.index(tid)
        t = scenario.targets[tid]
        y = d.years.index(t.year)
        attained = result.attained[:, i, y].reshape(len(labels), m).mean(axis=1)
        base = result.base[:, i, y].reshape(len(labels), m).mean(axis=1)
        required = t.required(base)
        ends: dict[str, dict[str, tuple[float, float, float]]] = {}
        for k, (path, end, shown) in enumerate(labels):
            if path:
                ends.setdefault(path, {})[end] = (shown, float(attained[k]), float(required[k]))
        for path, e in ends.items():
            lo_v, lo_a, lo_r = e["low"]
            hi_v, hi_a, hi_r = e["high"]
            rows.append(
                {
                    "target": tid,
                    "path": path,
                    "low_value": lo_v,
                    "high_value": hi_v,
                    "attained_low_people": lo_a,
                    "attained_high_people": hi_a,
                    "required_low_people": lo_r,
                    "required_high_people": hi_r,
                    "attained_central_people": float(attained[0]),
                    "required_people": float(required[0]),
                    "swing_people": abs((hi_a - hi_r) - (lo_a - lo_r)),
                    "quantity": (
                        "certified share" if path in scenario.uncertainties.level_mixes else "value"
                    ),
                }
            )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["target", "swing_people"], ascending=[True, False]).reset_index(
        drop=True
    )


def driver_label(row: Mapping[Any, Any] | pd.Series[Any]) -> str:
    """A driver's path, saying when its values are a level table's certified share."""
    if row["quantity"] == "certified share":
        return f"{row['path']} (share certified)"
    return str(row["path"])


def driver_text(row: Mapping[Any, Any] | pd.Series[Any]) -> str:
    """ "path: low → attained of required, high → attained of required" in people."""
    from simopt.format import people

    def end(side: str) -> str:
        return (
            f"{row[side + '_value']:.4g} → {people(row[f'attained_{side}_people'])} of "
            f"{people(row[f'required_{side}_people'])}"
        )

    return f"{driver_label(row)}: {end('low')}, {end('high')}"


def worse_end(row: Mapping[Any, Any] | pd.Series[Any]) -> tuple[float, float, float]:
    """(value, attained, required) at the end of the driver where the target's gap is smaller."""
    low_gap = row["attained_low_people"] - row["required_low_people"]
    high_gap = row["attained_high_people"] - row["required_high_people"]
    side = "low" if low_gap <= high_gap else "high"
    return (
        float(row[f"{side}_value"]),
        float(row[f"attained_{side}_people"]),
        float(row[f"required_{side}_people"]),
    )
