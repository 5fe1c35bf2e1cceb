"""The robust plan as JSON and as text a planner reads."""

from __future__ import annotations

import math
from typing import Any

from simopt.format import people, vnd
from simopt.optimize.report import plan_summary
from simopt.plan import RobustPlan
from simopt.scenario import Scenario


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def robust_summary(r: RobustPlan, scenario: Scenario) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scenario": r.scenario,
        "status": r.status,
        "message": r.message,
        "confidence": r.confidence,
        "rounds": r.rounds,
        "replications": r.before.reps if r.before is not None else 0,
        "seed": r.before.seed if r.before is not None else None,
        "expected_value_plan": plan_summary(r.expected, scenario),
    }
    if r.robust is not None:
        out["robust_plan"] = plan_summary(r.robust, scenario)
        out["extra_people"] = r.extra_people
        out["extra_cost_vnd"] = r.extra_cost_vnd
    out["targets"] = [
        {str(k): _clean(v) for k, v in row.items()} for row in r.comparison().to_dict("records")
    ]
    return out


def robust_table(r: RobustPlan, scenario: Scenario) -> str:
    lines = [
        f"{scenario.title or scenario.name}",
        f"Plan for {r.confidence:.0%} confidence: {r.status} — {r.message}",
    ]
    if r.before is None:
        return "\n".join(lines)
    ev_cost = r.expected.total_cost_vnd or 0.0
    ev_people = float(r.expected.schedule["enrolments"].sum())
    lines.append(f"  expected-value plan: {people(ev_people)} enrolments, {vnd(ev_cost)}")
    if r.robust is not None and r.robust.total_cost_vnd is not None:
        lines.append(
            f"  robust plan:         {people(r.robust.schedule['enrolments'].sum())} enrolments, "
            f"{vnd(r.robust.total_cost_vnd)}  (+{people(r.extra_people or 0)} people, "
            f"+{vnd(r.extra_cost_vnd or 0)})"
        )
    lines += [
        "",
        f"Per target ({r.before.reps} replications, seed {r.before.seed}): expected share and "
        "probability met, expected-value plan → robust plan",
    ]
    for row in r.comparison().to_dict("records"):
        text = (
            f"  {row['target']} ({row['year']}): {row['expected_share']:.1%}, "
            f"P = {row['probability_met_before']:.0%}"
        )
        if "probability_met" in row:
            text += (
                f"  →  {row['robust_expected_share']:.1%}, P = {row['probability_met']:.0%}"
                + (
                    f" (fresh seed: {row['probability_met_fresh_seed']:.0%})"
                    if "probability_met_fresh_seed" in row
                    else ""
                )
                + f"  (margin {people(row['buffer_people'])} people)"
            )
        lines.append(text)
    if r.robust is not None:
        sched = r.robust.enrolments_by("year", "course").pivot(
            index="year", columns="course", values="enrolments"
        )
        lines += ["", "Robust schedule, enrolments by intake year and course:"]
        table = sched.fillna(0.0)
        for year in table.index:
            cells = ", ".join(f"{c} {people(float(table.loc[year, c]))}" for c in table.columns)
            lines.append(f"  {year}: {cells}")
    return "\n".join(lines)
