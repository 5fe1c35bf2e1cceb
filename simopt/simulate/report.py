"""The simulation's answer as JSON and as a table a planner reads."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from simopt.format import people
from simopt.scenario import Scenario
from simopt.simulate.run import SimulationResult


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def simulation_summary(result: SimulationResult, expected: pd.DataFrame | None) -> dict[str, Any]:
    s = result.summary
    rows = []
    exp = None if expected is None else expected.set_index(["target", "year"])
    for r in s.to_dict("records"):
        row = {str(k): _clean(v) for k, v in r.items()}
        if exp is not None:
            e = exp.loc[(r["target"], r["year"])]
            row["expected_attained_people"] = float(e["attained_people"])
            row["expected_share"] = _clean(float(e["attained_share"]))
        rows.append(row)
    return {
        "scenario": result.scenario,
        "engine": result.engine,
        "replications": result.reps,
        "seed": result.seed,
        "targets": rows,
        "mean_cost_vnd_by_year": {
            str(int(y)): float(c)
            for y, c in zip(result.cost_years, result.cost_vnd.mean(axis=0), strict=True)
        },
    }


def simulation_table(
    result: SimulationResult, scenario: Scenario, expected: pd.DataFrame | None
) -> str:
    s = result.summary
    at = s[s["year"] == s["target_year"]]
    lines = [
        f"{scenario.title or scenario.name}",
        f"{result.reps} replications, seed {result.seed}, {result.engine} engine",
        "",
        "At each target's year: mean share [95% interval] and probability the target is met",
    ]
    exp = None if expected is None else expected.set_index(["target", "year"])
    for r in at.to_dict("records"):
        need = []
        if r["required_share"] is not None and not pd.isna(r["required_share"]):
            need.append(f"{r['required_share']:.0%}")
        if r["required_count"] is not None and not pd.isna(r["required_count"]):
            need.append(f"≥ {people(r['required_count'])}")
        line = (
            f"  {r['target']} ({r['year']}, needs {' and '.join(need)}): "
            f"{r['mean_share']:.1%} [{r['share_low95']:.1%}–{r['share_high95']:.1%}], "
            f"{people(r['mean_attained_people'])} people; P(met) = {r['probability_met']:.0%}"
        )
        if exp is not None:
            e = exp.loc[(r["target"], r["year"])]
            line += f" (optimiser expected {people(float(e['attained_people']))})"
        lines.append(line)
    return "\n".join(lines)
