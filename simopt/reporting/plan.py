"""The robust plan as JSON and as text a planner reads."""

from __future__ import annotations

from typing import Any

import pandas as pd

from simopt.evidence import AT_RISK, Evidence
from simopt.format import people, vnd
from simopt.plan import RobustPlan
from simopt.reporting.optimize import plan_summary
from simopt.reporting.tables import records as _records
from simopt.scenario import Scenario
from simopt.uncertain.drivers import driver_label, driver_text, worse_end

EXPECTATION_NOTE = (
    "the expected-value plan's attainment is the optimiser's expectation at the stated values; "
    "where it enrols every available person or fills every seat the simulated mean is a little "
    "lower (E[min(X, n)] < min(E[X], n)), and the robust plan's margins, learnt by simulation, "
    "cover that"
)


def uncertainty_basis(r: RobustPlan, scenario: Scenario) -> str:
    """One sentence: what the probabilities count."""
    u = scenario.uncertainties
    if r.uncertainty == "ranges":
        parts = [f"{len(u.ranges)} ranged assumptions"]
        if u.level_mixes:
            parts.append(f"{len(u.level_mixes)} uncertain level tables")
        if u.correlations:
            parts.append(f"{len(u.correlations)} correlations")
        return (
            "probabilities count both the unknown parameters (each replication draws "
            + ", ".join(parts)
            + ") and the luck of individuals"
        )
    if u.any:
        return (
            "probabilities count only the luck of individuals, with every assumption at its "
            "stated value (--uncertainty none): they overstate what is known"
        )
    return "the scenario declares no ranges: probabilities count the luck of individuals only"


def robust_summary(
    r: RobustPlan, scenario: Scenario, evidence: Evidence | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scenario": r.scenario,
        "status": r.status,
        "message": r.message,
        "confidence": r.confidence,
        "joint": r.joint,
        "uncertainty": r.uncertainty,
        "basis": uncertainty_basis(r, scenario),
        "rounds": r.rounds,
        "replications": r.after.reps if r.after is not None else 0,
        "seed": r.before.seed if r.before is not None else None,
        "fresh_seed": r.confirmed.seed if r.confirmed is not None else None,
        "expected_value_plan": plan_summary(r.expected, scenario),
        "expected_value_note": EXPECTATION_NOTE,
    }
    if r.robust is not None:
        out["robust_plan"] = plan_summary(r.robust, scenario)
        out["extra_people"] = r.extra_people
        out["extra_cost_vnd"] = r.extra_cost_vnd
    out["targets"] = _records(r.comparison())
    judged = r.confirmed or r.after
    out["probability_all_met"] = _records(judged.joint if judged is not None else None)
    if evidence is not None:
        out["variance"] = _records(evidence.variance)
        out["price_of_confidence"] = _records(evidence.price)
        out["drivers"] = _records(evidence.drivers)
        out["at_risk"] = list(evidence.at_risk)
        out["within_ceiling"] = _records(evidence.ceiling)
        out["unreachable_because"] = [line.strip() for line in unreachable_because(r, evidence)[2:]]
    return out


def _probability(p: float, low: float | None = None, high: float | None = None) -> str:
    text = f"{p:.0%}"
    if low is not None and high is not None:
        text += f" [{low:.0%}–{high:.0%}]"
    return text


def robust_table(r: RobustPlan, scenario: Scenario, evidence: Evidence | None = None) -> str:
    what = "all targets together" if r.joint else "each target"
    lines = [
        f"{scenario.title or scenario.name}",
        f"Plan for {r.confidence:.0%} confidence ({what}): {r.status} — {r.message}",
    ]
    if r.before is None:
        return "\n".join(lines)
    lines.append(f"  {uncertainty_basis(r, scenario)}.")
    ev_cost = r.expected.total_cost_vnd or 0.0
    ev_people = float(r.expected.schedule["enrolments"].sum())
    lines.append(f"  expected-value plan: {people(ev_people)} enrolments, {vnd(ev_cost)}")
    if r.robust is not None and r.robust.total_cost_vnd is not None:
        label = "robust plan:        " if r.is_met else "last schedule tried:"
        lines.append(
            f"  {label} {people(r.robust.schedule['enrolments'].sum())} enrolments, "
            f"{vnd(r.robust.total_cost_vnd)}  (+{people(r.extra_people or 0)} people, "
            f"+{vnd(r.extra_cost_vnd or 0)})"
        )
    reps = r.after.reps if r.after is not None else r.before.reps
    check = (
        f"; a fresh sample (seed {r.confirmed.seed}) with its 95% interval is the check"
        if r.confirmed is not None
        else ""
    )
    lines += [
        "",
        f"Per target ({reps} replications, seed {r.before.seed}): expected share and probability "
        f"met, expected-value plan → robust plan{check}",
    ]
    variance = None
    if evidence is not None and evidence.variance is not None and not evidence.variance.empty:
        variance = evidence.variance.set_index("target")
    for row in r.comparison().to_dict("records"):
        text = (
            f"  {row['target']} ({row['year']}): {row['expected_share']:.1%}, "
            f"P = {row['probability_met_before']:.0%}"
        )
        if "probability_met" in row:
            text += f"  →  {row['robust_expected_share']:.1%}, P = {row['probability_met']:.0%}"
            if "probability_met_fresh_seed" in row:
                text += " (fresh " + _probability(
                    row["probability_met_fresh_seed"],
                    row.get("probability_met_fresh_low95"),
                    row.get("probability_met_fresh_high95"),
                )
                text += ")"
            text += f"; margin {people(row['buffer_people'])}"
        if variance is not None and row["target"] in variance.index:
            share = float(variance.loc[row["target"], "parameter_share_of_variance"])
            text += f"; spread {share:.0%} from the parameters"
        lines.append(text)
    judged = r.confirmed or r.after
    if judged is not None and judged.joint is not None:
        parts = []
        for row in judged.joint.to_dict("records"):
            scope = "whole plan" if row["scope"] == "all" else f"by {row['scope']}"
            parts.append(
                f"{scope} "
                + _probability(
                    row["probability_all_met"],
                    row["probability_all_met_low95"],
                    row["probability_all_met_high95"],
                )
            )
        sample = "fresh sample" if r.confirmed is not None else "last round"
        lines += ["", f"Every target held together ({sample}): " + "; ".join(parts)]
    lines += ["", f"Note: {EXPECTATION_NOTE}."]
    if evidence is not None:
        lines += _ceiling_lines(evidence.ceiling)
        lines += unreachable_because(r, evidence)
        lines += _price_lines(evidence.price)
        lines += _driver_lines(evidence)
    if r.robust is not None:
        sched = r.robust.enrolments_by("year", "course").pivot(
            index="year", columns="course", values="enrolments"
        )
        unit = "people" if r.robust.integer else "fractions of people: --continuous"
        lines += ["", f"Robust schedule, enrolments by intake year and course ({unit}):"]
        table = sched.fillna(0.0)
        for year in table.index:
            cells = ", ".join(f"{c} {people(float(table.loc[year, c]))}" for c in table.columns)
            lines.append(f"  {year}: {cells}")
    return "\n".join(lines)


def _ceiling_lines(table: pd.DataFrame | None) -> list[str]:
    """Public spending against the ceiling: the optimiser keeps the plan's expected spending
    within it, but drawn tuition and fees, and drawn pass rates (retakes), move it."""
    if table is None or table.empty:
        return []
    lines = ["", "Public spending against the ceiling (simulated, with the ranges drawn):"]
    safe = [
        r["year"]
        for r in table.to_dict("records")
        if r["year"] != "all" and r["probability_within"] >= 1.0
    ]
    for row in table.to_dict("records"):
        if row["year"] in safe:
            continue
        within = _probability(
            row["probability_within"],
            row["probability_within_low95"],
            row["probability_within_high95"],
        )
        if row["year"] == "all":
            if safe:
                lines.append(f"  {', '.join(safe)}: within the ceiling in every replication")
            lines.append(f"  every year within its ceiling: {within}")
            continue
        lines.append(
            f"  {row['year']}: mean {vnd(row['mean_public_cost_vnd'])}, 95th percentile "
            f"{vnd(row['public_cost_p95_vnd'])} against {vnd(row['ceiling_vnd'])}; "
            f"within it {within}"
        )
    return lines


def _price_lines(price: pd.DataFrame | None) -> list[str]:
    if price is None or price.empty:
        return []
    lines = [
        "",
        "The price of confidence (robust plan per confidence; probabilities on a fresh sample):",
    ]
    for row in price.to_dict("records"):
        kind = "all together" if row["kind"] == "joint" else "each target "
        head = f"  {row['confidence']:.0%} {kind}: "
        if row["status"] != "met" or pd.isna(row.get("cost_vnd")):
            lines.append(head + f"{row['status']} — {row['message']}")
            continue
        lines.append(
            head + f"{vnd(row['cost_vnd'])} (+{vnd(row['extra_cost_vnd'])} over the expected-value "
            f"plan); weakest target {row['lowest_probability_met']:.0%}, all together "
            + _probability(
                row["probability_all_met"],
                row["probability_all_met_low95"],
                row["probability_all_met_high95"],
            )
        )
    return lines


def unreachable_because(r: RobustPlan, evidence: Evidence) -> list[str]:
    """When the confidence cannot be bought: for each target still short, the uncertainty whose
    unfavourable end costs it most, and what the target reaches there."""
    d = evidence.drivers
    if r.is_met or d is None or d.empty:
        return []
    table = r.comparison()
    column = "probability_met" if "probability_met" in table else "probability_met_before"
    short = set(table.loc[table[column] < r.confidence, "target"].astype(str))
    lines = []
    for tid, group in d.groupby("target", sort=False):
        if tid not in short:
            continue
        top = group.iloc[0]
        name = str(tid)
        end, worse, need = worse_end(top)
        lines.append(
            f"  {name}: its chances rest most on {driver_label(top)} (5–95%: "
            f"{top['low_value']:.4g}–{top['high_value']:.4g}); at {end:.4g} this schedule "
            f"reaches {people(worse)} people against {people(need)} needed"
        )
    if lines:
        lines.insert(0, "")
        lines.insert(1, f"Why {r.confidence:.0%} is out of reach:")
    return lines


def _driver_lines(evidence: Evidence) -> list[str]:
    d = evidence.drivers
    if d is None or d.empty:
        return []
    lines = [
        "",
        f"What the targets at risk (probability below {AT_RISK:.0%}) rest on — people attained "
        "of people required at the target's year, with one assumption at its 5% and 95% "
        "quantiles and the others as stated (largest swing of the gap first):",
    ]
    for tid, group in d.groupby("target", sort=False):
        top = group.head(3)
        first = top.iloc[0]
        lines.append(
            f"  {tid} (needs about {people(first['required_people'])}; "
            f"{people(first['attained_central_people'])} at the stated values):"
        )
        for row in top.to_dict("records"):
            lines.append(f"    {driver_text(row)}")
    return lines


def plan_tables(r: RobustPlan, evidence: Evidence) -> dict[str, pd.DataFrame | None]:
    """The files of a plan's run folder; None where this run has no such table (a plan that does
    not hold has no robust schedule)."""
    held = r.is_met and r.robust is not None
    comparison = r.comparison()
    judged = r.confirmed or r.after
    return {
        "schedule.csv": r.robust.schedule if held and r.robust else None,
        "costs.csv": r.robust.costs if held and r.robust else None,
        "classes.csv": r.robust.classes if held and r.robust else None,
        "schedule_expected_value.csv": r.expected.schedule if r.expected.is_ok else None,
        "targets.csv": None if comparison.empty else comparison,
        "probability_all_met.csv": judged.joint if judged is not None else None,
        "price_of_confidence.csv": evidence.price,
        "drivers.csv": None if evidence.drivers.empty else evidence.drivers,
        "variance.csv": evidence.variance,
        "within_ceiling.csv": evidence.ceiling,
        # what every replication of the judging sample drew: enough to redo its sums
        "parameters.csv": (
            judged.parameters.table()
            if judged is not None and judged.parameters is not None
            else None
        ),
    }
