"""The price of confidence: what each step of certainty costs.

Robust plans at a ladder of confidence levels, per target and for all targets together, each
warm-started from the margins of the level below (margins only grow with the confidence, so the
ladder is climbed, not searched afresh). Finance reads one table: confidence → cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from simopt.plan import RobustPlan, robust_plan
from simopt.scenario import Scenario

LEVELS = (0.5, 0.75, 0.9, 0.95)

COLUMNS = [
    "confidence",
    "kind",
    "status",
    "cost_vnd",
    "extra_cost_vnd",
    "enrolments",
    "lowest_probability_met",
    "probability_all_met",
    "probability_all_met_low95",
    "probability_all_met_high95",
    "replications",
    "message",
]


def _row(r: RobustPlan, kind: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "confidence": r.confidence,
        "kind": kind,
        "status": r.status,
        "message": r.message,
    }
    row["replications"] = r.after.reps if r.after is not None else None
    if r.is_met and r.robust is not None:
        row["cost_vnd"] = r.robust.total_cost_vnd
        row["extra_cost_vnd"] = r.extra_cost_vnd
        row["enrolments"] = float(r.robust.schedule["enrolments"].sum())
    judged = r.confirmed or r.after
    if judged is not None and judged.joint is not None:
        overall = judged.joint[judged.joint["scope"] == "all"].iloc[0]
        row["lowest_probability_met"] = float(overall["lowest_probability_met"])
        row["probability_all_met"] = float(overall["probability_all_met"])
        row["probability_all_met_low95"] = float(overall["probability_all_met_low95"])
        row["probability_all_met_high95"] = float(overall["probability_all_met_high95"])
    return row


def price_of_confidence(
    scenario: Scenario,
    *,
    levels: Sequence[float] = LEVELS,
    kinds: Sequence[str] = ("per_target", "joint"),
    reps: int = 1000,
    seed: int = 0,
    ceiling_vnd: float | None = None,
    engine: str = "fast",
    workers: int = 1,
    uncertainty: str = "ranges",
    known: dict[tuple[float, str], RobustPlan] | None = None,
    progress: Callable[[str], None] | None = None,
    continuous: bool = False,
) -> pd.DataFrame:
    """Per kind ("per_target": each target on its own; "joint": all together) and confidence:
    the robust plan's status, cost, extra cost over the expected-value plan, enrolments and the
    probabilities it reached on its fresh sample. ``known`` gives plans already computed (with
    the same ceiling and ``continuous``: their expected-value plan is reused, not solved again
    at every step)."""
    say = progress or (lambda _m: None)
    expected = next(iter((known or {}).values())).expected if known else None
    rows = []
    for kind in kinds:
        buffers: dict[str, float] | None = None
        for level in sorted(levels):
            r = (known or {}).get((level, kind))
            if r is None:
                say(f"price of confidence: {kind} at {level:.0%}")
                r = robust_plan(
                    scenario,
                    confidence=level,
                    reps=reps,
                    seed=seed,
                    ceiling_vnd=ceiling_vnd,
                    engine=engine,
                    workers=workers,
                    uncertainty=uncertainty,
                    joint=kind == "joint",
                    start_buffers=buffers,
                    continuous=continuous,
                    known_expected=expected,
                )
            expected = r.expected
            rows.append(_row(r, kind))
            if r.is_met:
                buffers = dict(r.buffers)
    return pd.DataFrame(rows, columns=COLUMNS)
