"""The simulation's answer as JSON and as a table a planner reads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simopt.format import people, vnd
from simopt.reporting.tables import clean as _clean
from simopt.reporting.tables import records as _records
from simopt.scenario import Scenario
from simopt.simulate.run import SimulationResult
from simopt.uncertain.drivers import driver_text


def simulation_summary(
    result: SimulationResult, expected: pd.DataFrame | None, drivers: pd.DataFrame | None = None
) -> dict[str, Any]:
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
        "uncertainty": result.uncertainty,
        "targets": rows,
        "probability_all_met": _records(result.joint),
        "variance": _records(result.variance),
        "drivers": _records(drivers),
        "mean_total_cost_vnd": float(result.cost_vnd.sum(axis=1).mean()),
        "total_cost_vnd_low95": float(np.quantile(result.cost_vnd.sum(axis=1), 0.025)),
        "total_cost_vnd_high95": float(np.quantile(result.cost_vnd.sum(axis=1), 0.975)),
        "mean_cost_vnd_by_year": {
            str(int(y)): float(c)
            for y, c in zip(result.cost_years, result.cost_vnd.mean(axis=0), strict=True)
        },
    }


def simulation_table(
    result: SimulationResult,
    scenario: Scenario,
    expected: pd.DataFrame | None,
    drivers: pd.DataFrame | None = None,
) -> str:
    s = result.summary
    at = s[s["year"] == s["target_year"]]
    if result.uncertainty == "ranges":
        basis = (
            "each replication draws the scenario's uncertain assumptions from their ranges, "
            "then the events: probabilities count both"
        )
    elif scenario.uncertainties.any:
        basis = (
            "assumptions at their stated values (--uncertainty none): probabilities count "
            "only individuals' luck and overstate what is known"
        )
    else:
        basis = "the scenario declares no ranges: probabilities count individuals' luck only"
    lines = [
        f"{scenario.title or scenario.name}",
        f"{result.reps} replications, seed {result.seed}, {result.engine} engine; {basis}",
        "",
        "At each target's year: mean share [95% of replications], probability the target is "
        "met [95% Monte Carlo interval]",
    ]
    variance = None
    if result.variance is not None and not result.variance.empty:
        variance = result.variance.set_index("target")
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
            f"{people(r['mean_attained_people'])} people; P(met) = {r['probability_met']:.0%} "
            f"[{r['probability_met_low95']:.0%}–{r['probability_met_high95']:.0%}]"
        )
        if variance is not None and r["target"] in variance.index:
            v = variance.loc[r["target"]]
            line += (
                f"; spread ±{people(float(v['sd_attained_people']))} people, "
                f"{float(v['parameter_share_of_variance']):.0%} of its variance from the "
                "parameters"
            )
        if exp is not None:
            e = exp.loc[(r["target"], r["year"])]
            line += f" (optimiser expected {people(float(e['attained_people']))})"
        lines.append(line)
    total = result.cost_vnd.sum(axis=1)
    years = result.cost_years
    lines += [
        "",
        f"Money spent {years[0]}–{years[-1]} (the retakes after the horizon included): mean "
        f"{vnd(float(total.mean()))} [{vnd(float(np.quantile(total, 0.025)))}–"
        f"{vnd(float(np.quantile(total, 0.975)))}]",
    ]
    if result.joint is not None:
        lines += ["", "Every target of a milestone held in the same replication:"]
        for j in result.joint.to_dict("records"):
            scope = "all targets" if j["scope"] == "all" else f"targets of {j['scope']}"
            lines.append(
                f"  {scope} ({j['targets']}): {j['probability_all_met']:.0%} "
                f"[{j['probability_all_met_low95']:.0%}–{j['probability_all_met_high95']:.0%}]"
            )
    if drivers is not None and not drivers.empty:
        lines += [
            "",
            "What the targets at risk rest on (people attained of people required, with one "
            "assumption at its 5% and 95% quantiles, the others as stated):",
        ]
        for tid, group in drivers.groupby("target", sort=False):
            parts = [driver_text(row) for row in group.head(3).to_dict("records")]
            lines.append(f"  {tid}: " + "; ".join(parts))
    return "\n".join(lines)
