"""Several scenarios (or what-ifs of one) side by side: cost, people, attainment, probability."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from simopt.plan import RobustPlan, robust_plan
from simopt.scenario import Scenario


def compare_plans(
    scenarios: Sequence[Scenario],
    *,
    files: Sequence[str] | None = None,
    confidence: float = 0.9,
    reps: int = 1000,
    seed: int = 0,
    engine: str = "fast",
    workers: int = 1,
    uncertainty: str = "ranges",
    joint: bool = False,
) -> pd.DataFrame:
    """The robust plan of each scenario, side by side (:func:`comparison_table`). Columns are the
    scenarios' names, or ``name (file)`` when two scenarios share a name."""
    names = [s.name for s in scenarios]
    if len(set(names)) < len(names):
        labels = files if files is not None else [str(i) for i in range(len(scenarios))]
        names = [f"{s.name} ({f})" for s, f in zip(scenarios, labels, strict=True)]
    results = {
        name: robust_plan(
            s,
            confidence=confidence,
            reps=reps,
            seed=seed,
            engine=engine,
            workers=workers,
            uncertainty=uncertainty,
            joint=joint,
        )
        for name, s in zip(names, scenarios, strict=True)
    }
    return comparison_table(results)


def comparison_table(results: dict[str, RobustPlan]) -> pd.DataFrame:
    """One row per measure, one column per scenario."""
    measures: dict[str, dict[str, Any]] = {}

    def put(measure: str, name: str, value: Any) -> None:
        measures.setdefault(measure, {})[name] = value

    for name, r in results.items():
        put("status", name, r.status)
        put("uncertainty", name, r.uncertainty)
        put("expected-value plan: cost_vnd", name, r.expected.total_cost_vnd)
        if r.expected.is_ok:
            put("expected-value plan: enrolments", name, r.expected.schedule["enrolments"].sum())
        if r.robust is not None and r.robust.is_ok:
            put("robust plan: cost_vnd", name, r.robust.total_cost_vnd)
            put("robust plan: enrolments", name, r.robust.schedule["enrolments"].sum())
        for row in r.comparison().to_dict("records"):
            key = f"{row['target']} ({row['year']})"
            put(
                f"{key}: expected share",
                name,
                row.get("robust_expected_share", row["expected_share"]),
            )
            # judged on the fresh sample where there is one, as the all-together row below
            put(
                f"{key}: probability met",
                name,
                row.get(
                    "probability_met_fresh_seed",
                    row.get("probability_met", row["probability_met_before"]),
                ),
            )
        judged = r.confirmed or r.after
        if judged is not None and judged.joint is not None:
            for row in judged.joint.to_dict("records"):
                scope = "all targets" if row["scope"] == "all" else f"targets of {row['scope']}"
                put(f"{scope} together: probability met", name, row["probability_all_met"])
    table = pd.DataFrame.from_dict(measures, orient="index")
    table.index.name = "measure"
    return table
